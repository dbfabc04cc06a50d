"""Review routing: decides after first-level review whether an application also needs
second-level (L2) and/or special review.

Thresholds are data, not code: each loan product stores a JSON dict that is turned into
``RoutingRules`` with ``RoutingRules.from_dict``. A rule set to None (or False for the
yes/no rules) is switched off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from app.domain.i18n import N_
from app.domain.money import format_money

__all__ = [
    "MAX_AGE",
    "Reason",
    "RoutingDecision",
    "RoutingFacts",
    "RoutingRules",
    "RulesError",
    "evaluate",
    "rules_to_dict",
]


class RulesError(ValueError):
    """Invalid routing rules; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


_DECIMAL_FIELDS = ("l2_amount_over", "special_exposure_over")
_INT_FIELDS = (
    "l2_term_over_months",
    "special_age_min",
    "special_age_max",
    "special_past_arrears_days",
    "max_active_loans_per_household",
    "special_score_below",
)
_AGE_FIELDS = ("special_age_min", "special_age_max")
# An age limit above this is a typo (e.g. "younger than 200" would send everyone to special review).
MAX_AGE = 120

_BOOL_FIELDS = (
    "special_related_party",
    "special_duplicate_id",
    "special_gps_required",
    "special_officer_not_on_site",
    "l2_over_suggested_limit",
)


@dataclass(frozen=True)
class RoutingRules:
    """Per-product routing thresholds."""

    l2_amount_over: Decimal | None = None  # amount strictly greater -> L2
    l2_term_over_months: int | None = None  # term strictly greater -> L2
    special_age_min: int | None = None  # borrower younger than this -> special
    special_age_max: int | None = None  # borrower older than this -> special
    special_related_party: bool = True
    special_duplicate_id: bool = True  # same ID number in another in-flight application
    special_gps_required: bool = True  # home GPS missing -> special
    special_officer_not_on_site: bool = True  # officer not (or not known to be) on site
    special_exposure_over: Decimal | None = None  # outstanding + this amount > limit
    special_past_arrears_days: int | None = None  # repeat borrower whose worst DPD >= this
    max_active_loans_per_household: int | None = None  # household has more active loans -> special
    # The scorecard (app.domain.scorecard): a score strictly below this -> special; an amount
    # strictly above the suggested limit -> L2. An unscored application (no survey answers, None)
    # is routed as if it failed them, like an unknown age: the control exists to look at it.
    special_score_below: int | None = None
    l2_over_suggested_limit: bool = False

    def __post_init__(self) -> None:
        # Validate here too so rules built in code obey the same invariants as JSON ones.
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, Decimal) or not value.is_finite():
                raise RulesError(N_("%(field)s must be an amount"), {"field": name})
            if value < 0:
                raise RulesError(N_("%(field)s cannot be negative"), {"field": name})
            if value != value.quantize(Decimal("0.01")):
                raise RulesError(
                    N_("%(field)s cannot have more than 2 decimal places"), {"field": name}
                )
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise RulesError(N_("%(field)s must be a whole number"), {"field": name})
            if value < 0:
                raise RulesError(N_("%(field)s cannot be negative"), {"field": name})
            if name in _AGE_FIELDS and value > MAX_AGE:
                raise RulesError(
                    N_("%(field)s cannot be above %(max)s years"), {"field": name, "max": MAX_AGE}
                )
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise RulesError(N_("%(field)s must be true or false"), {"field": name})
        if (
            self.special_age_min is not None
            and self.special_age_max is not None
            and self.special_age_min > self.special_age_max
        ):
            raise RulesError(
                N_("The minimum age %(min)s is above the maximum age %(max)s"),
                {"min": self.special_age_min, "max": self.special_age_max},
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RoutingRules:
        """Build from a product's JSON dict; missing keys take the defaults."""
        if not isinstance(d, Mapping):
            raise RulesError(N_("Routing rules must be a JSON object"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            # A typo would otherwise silently switch a control off.
            raise RulesError(N_("Unknown routing rule %(field)s"), {"field": unknown[0]})
        kwargs: dict[str, Any] = {}
        for name, value in d.items():
            if name in _DECIMAL_FIELDS and value is not None:
                kwargs[name] = _decimal_from_json(name, value)
            else:
                kwargs[name] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (amounts as strings); ``from_dict(r.to_dict()) == r``."""
        return rules_to_dict(self)


def rules_to_dict(rules: Any) -> dict[str, Any]:
    """Rules kept as data (a dataclass of plain values) as a JSON-ready dict: amounts as strings."""
    out: dict[str, Any] = {}
    for f in fields(rules):
        value = getattr(rules, f.name)
        out[f.name] = str(value) if isinstance(value, Decimal) else value
    return out


def _decimal_from_json(name: str, value: object) -> Decimal:
    # JSON floats are refused: a threshold like 0.1 + 0.2 must not drift.
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise RulesError(
            N_("%(field)s must be an amount written as text, e.g. \"30000.00\""), {"field": name}
        )
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise RulesError(N_("%(field)s must be an amount"), {"field": name}) from None
    return result


@dataclass(frozen=True)
class RoutingFacts:
    """What is known about the application when the L1 reviewer passes it."""

    amount: Decimal
    term_months: int
    borrower_age: int | None
    related_party: bool
    duplicate_id_in_flight: bool
    home_gps_present: bool
    officer_on_site: bool | None  # None = unknown
    outstanding_exposure: Decimal  # borrower's current outstanding principal, excluding this
    worst_past_dpd: int | None  # None = no previous loans
    # Disbursed, not yet repaid loans of the household; this application is not counted.
    household_active_loans: int
    # The scorecard's result (app.services.scoring); None = not scored (no survey answers).
    score: int | None = None
    suggested_limit: Decimal | None = None


@dataclass(frozen=True)
class Reason:
    """One rule that fired; ``message`` is an N_ string formatted with ``params``."""

    level: str  # "l2" or "special"
    code: str
    message: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class RoutingDecision:
    needs_l2: bool
    needs_special: bool
    reasons: tuple[Reason, ...]


def evaluate(rules: RoutingRules, facts: RoutingFacts) -> RoutingDecision:
    """Apply every switched-on rule; reasons come in a fixed order (L2 first)."""
    reasons: list[Reason] = []

    def add(level: str, code: str, message: str, **params: object) -> None:
        reasons.append(Reason(level, code, message, {k: str(v) for k, v in params.items()}))

    # --- second level -------------------------------------------------------
    if rules.l2_amount_over is not None and facts.amount > rules.l2_amount_over:
        add(
            "l2", "amount_over",
            N_("Amount %(amount)s exceeds the second-level threshold %(limit)s"),
            amount=format_money(facts.amount), limit=format_money(rules.l2_amount_over),
        )
    if rules.l2_term_over_months is not None and facts.term_months > rules.l2_term_over_months:
        add(
            "l2", "term_over",
            N_("Term of %(term)s months exceeds the second-level threshold of %(limit)s months"),
            term=facts.term_months, limit=rules.l2_term_over_months,
        )
    if rules.l2_over_suggested_limit:
        if facts.suggested_limit is None:
            add("l2", "suggested_limit_unknown", N_("No suggested limit: the application is not scored"))
        elif facts.amount > facts.suggested_limit:
            add(
                "l2", "over_suggested_limit",
                N_("Amount %(amount)s is above the suggested limit %(limit)s"),
                amount=format_money(facts.amount), limit=format_money(facts.suggested_limit),
            )

    # --- special review -----------------------------------------------------
    if rules.special_age_min is not None or rules.special_age_max is not None:
        age = facts.borrower_age
        if age is None:
            add("special", "age_unknown", N_("Borrower's age unknown"))
        elif rules.special_age_min is not None and age < rules.special_age_min:
            add(
                "special", "age_below",
                N_("Borrower is %(age)s, below the age limit %(limit)s"),
                age=age, limit=rules.special_age_min,
            )
        elif rules.special_age_max is not None and age > rules.special_age_max:
            add(
                "special", "age_above",
                N_("Borrower is %(age)s, above the age limit %(limit)s"),
                age=age, limit=rules.special_age_max,
            )
    if rules.special_score_below is not None:
        if facts.score is None:
            add("special", "score_unknown", N_("Not scored: no household survey answers"))
        elif facts.score < rules.special_score_below:
            add(
                "special", "score_below", N_("Score %(score)s is below %(limit)s"),
                score=facts.score, limit=rules.special_score_below,
            )
    if rules.special_related_party and facts.related_party:
        add("special", "related_party", N_("Borrower is a related party"))
    if rules.special_duplicate_id and facts.duplicate_id_in_flight:
        add(
            "special", "duplicate_id",
            N_("The same ID number is in another application that is still in progress"),
        )
    if rules.special_gps_required and not facts.home_gps_present:
        add("special", "gps_missing", N_("Home GPS position missing"))
    if rules.special_officer_not_on_site:
        # Unknown is treated like "not on site": the control exists to catch desk approvals.
        if facts.officer_on_site is False:
            add("special", "officer_not_on_site", N_("The loan officer was not on site"))
        elif facts.officer_on_site is None:
            add(
                "special", "officer_on_site_unknown",
                N_("Not known whether the loan officer was on site"),
            )
    if rules.special_exposure_over is not None:
        exposure = facts.outstanding_exposure + facts.amount
        if exposure > rules.special_exposure_over:
            add(
                "special", "exposure_over",
                N_("Total exposure %(exposure)s would exceed the limit %(limit)s"),
                exposure=format_money(exposure), limit=format_money(rules.special_exposure_over),
            )
    if (
        rules.special_past_arrears_days is not None
        and facts.worst_past_dpd is not None
        and facts.worst_past_dpd >= rules.special_past_arrears_days
    ):
        add(
            "special", "past_arrears",
            N_("A previous loan was %(days)s days past due (limit %(limit)s days)"),
            days=facts.worst_past_dpd, limit=rules.special_past_arrears_days,
        )
    if (
        rules.max_active_loans_per_household is not None
        and facts.household_active_loans > rules.max_active_loans_per_household
    ):
        add(
            "special", "household_loans",
            N_("The household already has %(count)s active loans, more than the limit %(limit)s"),
            count=facts.household_active_loans, limit=rules.max_active_loans_per_household,
        )

    return RoutingDecision(
        needs_l2=any(r.level == "l2" for r in reasons),
        needs_special=any(r.level == "special" for r in reasons),
        reasons=tuple(reasons),
    )
