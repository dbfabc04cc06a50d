"""Guarantors as people (担保人): the product's guarantor rules as data, the limit on what one person
may guarantee in total, and whether a guarantor is in arrears on his own loans.

Pure: the service (app/services/guarantees.py) gathers the facts — the guarantor's other active
guarantees, his own loans — and these functions decide. Rules live in
``Product.credit_rules["guarantor"]``; an empty dict is today's behaviour (a guarantor optional, no
consent photo asked for, no limit, arrears only flagged).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain.i18n import N_
from app.domain.money import format_money

__all__ = [
    "ARREARS_MODES",
    "GuarantorFacts",
    "GuarantorRules",
    "GuarantorRulesError",
    "Standing",
    "check_guarantee",
    "in_arrears",
    "standing",
]

ARREARS_MODES = ("flag", "refuse")
# A limit above this is a typing slip (a guarantee is for a microloan).
MAX_LIMIT = Decimal("100000000")

Problem = tuple[str, dict[str, object]]


class GuarantorRulesError(ValueError):
    """Invalid guarantor rules; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


@dataclass(frozen=True)
class GuarantorRules:
    # The loan type cannot complete data entry without a guarantor.
    required: bool = False
    # A guarantee needs a received photo of the guarantor's signed consent (担保承诺书).
    consent_photo: bool = False
    # The most one person may guarantee in total (active guarantees, this one included); None: no limit.
    limit: Decimal | None = None
    # A guarantor whose own loans are in arrears: "flag" (shown to the reviewer) or "refuse".
    arrears: str = "flag"
    # From how many days past due a loan counts as in arrears.
    arrears_days: int = 1

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> GuarantorRules:
        data = dict(data or {})
        unknown = set(data) - {"required", "consent_photo", "limit", "arrears", "arrears_days"}
        if unknown:
            raise GuarantorRulesError(N_("Unknown guarantor rule: %(name)s."), {"name": sorted(unknown)[0]})
        for key in ("required", "consent_photo"):
            if not isinstance(data.get(key, False), bool):
                raise GuarantorRulesError(N_("The guarantor rule %(name)s must be yes or no."), {"name": key})
        limit = data.get("limit")
        if limit in (None, ""):
            amount = None
        else:
            try:
                amount = Decimal(str(limit))
            except InvalidOperation:
                amount = None
            if amount is None or not amount.is_finite() or amount <= 0 or amount > MAX_LIMIT \
                    or amount != amount.quantize(Decimal("0.01")):
                raise GuarantorRulesError(N_("The guarantee limit must be an amount in yuan above 0."))
        arrears = data.get("arrears", "flag")
        if arrears not in ARREARS_MODES:
            raise GuarantorRulesError(N_("A guarantor in arrears is either flagged or refused."))
        days = data.get("arrears_days", 1)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise GuarantorRulesError(N_("Days past due for arrears must be a whole number from 1 to 3650."))
        return cls(bool(data.get("required", False)), bool(data.get("consent_photo", False)), amount, str(arrears), days)

    def to_dict(self) -> dict[str, object]:
        return {"required": self.required, "consent_photo": self.consent_photo,
                "limit": None if self.limit is None else f"{self.limit:.2f}", "arrears": self.arrears,
                "arrears_days": self.arrears_days}


@dataclass(frozen=True)
class GuarantorFacts:
    """What the service found about one guarantor."""

    # His other active guarantees (applications in flight and loans outstanding), this one excluded.
    guaranteed: Decimal
    # What his own active loans still owe in principal, and the worst days past due among them.
    outstanding: Decimal = Decimal("0")
    worst_dpd: int = 0
    active_loans: int = 0


@dataclass(frozen=True)
class Standing:
    """The guarantor as the reviewer sees him: total guaranteed against the limit, arrears."""

    total: Decimal          # his active guarantees, this one included
    limit: Decimal | None
    over_limit: bool
    in_arrears: bool


def in_arrears(rules: GuarantorRules, facts: GuarantorFacts) -> bool:
    return facts.active_loans > 0 and facts.worst_dpd >= rules.arrears_days


def standing(rules: GuarantorRules, facts: GuarantorFacts, amount: Decimal) -> Standing:
    total = facts.guaranteed + amount
    return Standing(total, rules.limit, rules.limit is not None and total > rules.limit, in_arrears(rules, facts))


def check_guarantee(rules: GuarantorRules, facts: GuarantorFacts, amount: Decimal) -> list[Problem]:
    """Why this person may not guarantee ``amount`` more, as N_ messages with their figures."""
    problems: list[Problem] = []
    st = standing(rules, facts, amount)
    if st.over_limit:
        problems.append((N_(
            "The guarantor already guarantees %(guaranteed)s yuan; with this loan's %(amount)s yuan it would be"
            " %(total)s yuan, over the limit of %(limit)s yuan per guarantor."),
            {"guaranteed": format_money(facts.guaranteed), "amount": format_money(amount),
             "total": format_money(st.total), "limit": format_money(rules.limit)}))
    if st.in_arrears and rules.arrears == "refuse":
        problems.append((N_(
            "The guarantor is in arrears on his own loans (%(days)s days past due); this loan type refuses"
            " such a guarantor."), {"days": facts.worst_dpd}))
    return problems
