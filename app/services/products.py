"""Loan products: reading and changing a product's review routing rules and post-loan settings (admin).

Routing is evaluated when the first-level reviewer passes an application, from the product's
rules as they are at that moment (``applications._act``). A change therefore applies to every
application that has not yet passed first-level review; applications already past it keep the
routing reasons they were decided with.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain.i18n import N_
from app.domain.money import AmountError, format_money, parse_amount, to_money
from app.domain.repayment import COMPONENTS, validate_order
from app.domain.routing import MAX_AGE, RoutingRules, RulesError
from app.extensions import db
from app.models import Product
from app.services import audit
from app.services.errors import ServiceError

# field -> (N_ message, params)
Errors = dict[str, tuple[str, dict[str, Any]]]

AMOUNT_FIELDS = ("l2_amount_over", "special_exposure_over")
MAX_AMOUNT = Decimal("999999999.99")  # a threshold above this is a typo
# field -> (smallest, largest) accepted; an empty field switches the rule off.
INT_FIELDS: dict[str, tuple[int, int]] = {
    "l2_term_over_months": (0, 360),
    "special_age_min": (0, MAX_AGE),
    "special_age_max": (0, MAX_AGE),
    "special_past_arrears_days": (0, 3650),
    "max_active_loans_per_household": (0, 99),
    "special_score_below": (0, 10000),
}
BOOL_FIELDS = (
    "special_related_party",
    "special_duplicate_id",
    "special_gps_required",
    "special_officer_not_on_site",
    "l2_over_suggested_limit",
)

# The form's labels, in the order shown. "kind" tells the template which input to draw.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("l2_amount_over", "amount", N_("Second-level review when the amount is over (yuan)")),
    ("l2_term_over_months", "int", N_("Second-level review when the term is over (months)")),
    ("l2_over_suggested_limit", "bool",
     N_("Second-level review when the amount is above the scorecard's suggested limit")),
    ("special_score_below", "int", N_("Special review when the score is below")),
    ("special_age_min", "int", N_("Special review when the borrower is younger than (years)")),
    ("special_age_max", "int", N_("Special review when the borrower is older than (years)")),
    ("special_related_party", "bool", N_("Special review when the borrower is a related party")),
    ("special_duplicate_id", "bool",
     N_("Special review when the same ID number is in another application in progress")),
    ("special_gps_required", "bool", N_("Special review when the home GPS position is missing")),
    ("special_officer_not_on_site", "bool",
     N_("Special review when the loan officer was not on site, or it is not known")),
    ("special_exposure_over", "amount",
     N_("Special review when the borrower's outstanding exposure, this loan included, is over (yuan)")),
    ("special_past_arrears_days", "int",
     N_("Special review when an earlier loan was at least this many days past due")),
    ("max_active_loans_per_household", "int",
     N_("Special review when the household has more than this many active loans")),
)

_FULLWIDTH_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})
_DIGITS = re.compile(r"[0-9]+")


class RulesFormError(ServiceError, ValueError):
    """The typed rules are invalid; ``errors`` (= ``fields``) maps a field (or "" for the whole form) to an N_ message."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("invalid_rules", N_("Some details need correcting."), fields=errors)
        self.errors = errors


def form_values(rules, fields=None) -> dict[str, str]:
    """The form's initial values for ``rules`` (routing rules, or any rules with form ``fields`` of
    the same shape): amounts as "20000.00", empty for a rule that is off."""
    values: dict[str, str] = {}
    for name, kind, _label in fields or FIELDS:
        value = getattr(rules, name)
        if kind == "bool":
            values[name] = "1" if value else ""
        elif value is None:
            values[name] = ""
        elif kind == "amount":
            values[name] = str(to_money(value))
        else:
            values[name] = str(value)
    return values


def parse_form(values: Mapping[str, str]) -> RoutingRules:
    """Turn the typed form into rules; raises RulesFormError with a message for every bad field."""
    errors: Errors = {}
    parsed: dict[str, Any] = {}
    for name in AMOUNT_FIELDS:
        parsed[name] = _optional_amount(values, name, errors, N_(
            "Enter an amount of at most %(max)s yuan, or leave it empty to switch the rule off."))
    for name, (low, high) in INT_FIELDS.items():
        parsed[name] = _optional_int(values, name, low, high, errors, N_(
            "Enter a whole number from %(min)s to %(max)s, or leave it empty to switch the rule off."))
    for name in BOOL_FIELDS:
        parsed[name] = (values.get(name) or "") in ("1", "on", "true", "yes")
    age_min, age_max = parsed.get("special_age_min"), parsed.get("special_age_max")
    if age_min is not None and age_max is not None and age_min > age_max:
        # The same check as RoutingRules, reported at the field the user has to change.
        errors["special_age_max"] = (
            N_("The minimum age %(min)s is above the maximum age %(max)s"), {"min": age_min, "max": age_max}
        )
    if errors:
        raise RulesFormError(errors)
    try:
        return RoutingRules.from_dict({k: (str(v) if isinstance(v, Decimal) else v) for k, v in parsed.items()})
    except RulesError as e:
        # The domain has the last word; anything it refuses that the checks above let through
        # is reported at its field (labelled in words) or for the whole form.
        field = e.params.get("field")
        label = next((lbl for n, _k, lbl in FIELDS if n == field), None)
        params = {**e.params, "field": label} if label else dict(e.params)
        raise RulesFormError({str(field) if label else "": (e.message, params)}) from None


def _optional_amount(values: Mapping[str, str], name: str, errors: Errors, too_large: str) -> Decimal | None:
    """A typed amount, or None when left empty; a bad one is reported in ``errors``."""
    text = (values.get(name) or "").strip()
    if not text:
        return None
    try:
        amount = parse_amount(text)
    except AmountError as e:
        errors[name] = (e.message, dict(e.params))
        return None
    if amount > MAX_AMOUNT:
        errors[name] = (too_large, {"max": format_money(MAX_AMOUNT)})
        return None
    return amount


def _optional_int(values: Mapping[str, str], name: str, low: int, high: int, errors: Errors,
                  out_of_range: str) -> int | None:
    """A typed whole number (full-width digits too), or None when left empty."""
    text = "".join((values.get(name) or "").split()).translate(_FULLWIDTH_DIGITS)
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        errors[name] = (out_of_range, {"min": low, "max": high})
        return None
    return int(text)


def current_rules(product: Product) -> tuple[RoutingRules, tuple[str, dict[str, Any]] | None]:
    """The product's rules, or the defaults plus the reason when the stored JSON is invalid."""
    try:
        return product.rules, None
    except RulesError as e:
        return RoutingRules(), (e.message, dict(e.params))


def update_routing_rules(
    product: Product, form_values: Mapping[str, str], actor_id: int | None, ip: str = ""
) -> RoutingRules:
    """Validate and store new routing rules with an audit row, in one commit.

    Raises RulesFormError (nothing saved). When the rules are the same as before nothing is
    written either, and the unchanged rules are returned.
    """
    rules = parse_form(form_values)
    before = dict(product.routing_rules or {})
    try:
        unchanged = product.rules == rules
    except RulesError:
        unchanged = False  # the stored JSON was invalid: saving valid rules repairs it
    if unchanged:
        return rules
    after = rules.to_dict()
    product.routing_rules = after  # a new dict, so the JSON column is seen as changed
    audit.record(
        "product_rules_changed", actor_id=actor_id, object_type="product", object_id=product.id, ip=ip,
        before=before, after=after,
    )
    db.session.commit()
    return rules


def describe(rules: RoutingRules) -> list[tuple[str, str, dict[str, Any]]]:
    """The switched-on rules in words: (level, N_ message, params), second level first."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    if rules.l2_amount_over is not None:
        out.append(("l2", N_("amount over %(amount)s yuan"), {"amount": format_money(rules.l2_amount_over)}))
    if rules.l2_term_over_months is not None:
        out.append(("l2", N_("term over %(months)s months"), {"months": rules.l2_term_over_months}))
    if rules.l2_over_suggested_limit:
        out.append(("l2", N_("amount above the suggested limit"), {}))
    if rules.special_score_below is not None:
        out.append(("special", N_("score below %(score)s"), {"score": rules.special_score_below}))
    if rules.special_age_min is not None:
        out.append(("special", N_("borrower younger than %(age)s"), {"age": rules.special_age_min}))
    if rules.special_age_max is not None:
        out.append(("special", N_("borrower older than %(age)s"), {"age": rules.special_age_max}))
    if rules.special_related_party:
        out.append(("special", N_("related party"), {}))
    if rules.special_duplicate_id:
        out.append(("special", N_("same ID number in another application in progress"), {}))
    if rules.special_gps_required:
        out.append(("special", N_("home GPS missing"), {}))
    if rules.special_officer_not_on_site:
        out.append(("special", N_("officer not on site"), {}))
    if rules.special_exposure_over is not None:
        out.append((
            "special", N_("outstanding exposure over %(amount)s yuan"),
            {"amount": format_money(rules.special_exposure_over)},
        ))
    if rules.special_past_arrears_days is not None:
        out.append((
            "special", N_("earlier arrears of at least %(days)s days"), {"days": rules.special_past_arrears_days},
        ))
    if rules.max_active_loans_per_household is not None:
        out.append((
            "special", N_("more than %(count)s active loans in the household"),
            {"count": rules.max_active_loans_per_household},
        ))
    return out


# --- post-loan settings: task thresholds and the repayment allocation order -------------------

# field -> (smallest, largest); an empty field means the institution's default (TASK_* settings).
POST_LOAN_INT_FIELDS: dict[str, tuple[int, int]] = {
    "first_revisit_days": (1, 365),
    "revisit_every_days": (7, 365),
    "escalation_days": (1, 365),
}
POST_LOAN_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("first_revisit_days", "int", N_("First revisit (is the loan used as stated?), days after disbursement")),
    ("revisit_every_days", "int", N_("Then a revisit every (days)")),
    ("pre_due_amount", "amount", N_("Visit before an installment of at least (yuan)")),
    ("escalation_days", "int", N_("Escalate to the office director at (days past due)")),
)
COMPONENT_LABELS = {
    "penalty": N_("Penalty interest"),
    "overdue_interest": N_("Overdue interest"),
    "overdue_principal": N_("Overdue principal"),
    "current_interest": N_("Current interest"),
    "current_principal": N_("Current principal"),
}
ORDER_FIELDS = tuple(f"order_{n}" for n in range(1, len(COMPONENTS) + 1))


def post_loan_values(product: Product) -> dict[str, str]:
    """The form's initial values: empty where the product uses the institution's default."""
    values = {name: "" if getattr(product, name) is None else str(getattr(product, name))
              for name in POST_LOAN_INT_FIELDS}
    values["pre_due_amount"] = "" if product.pre_due_amount is None else str(to_money(product.pre_due_amount))
    try:
        order = validate_order(product.allocation_order or ())
    except ValueError:
        order = COMPONENTS  # stored data that is not a permutation: the form offers the default
    values.update(zip(ORDER_FIELDS, order))
    return values


def update_post_loan_settings(product: Product, values: Mapping[str, str], actor_id: int | None,
                              ip: str = "") -> bool:
    """Validate and store the task thresholds and allocation order, audited, in one commit.

    Raises RulesFormError (nothing saved). Returns whether anything changed. The allocation
    order applies to loans disbursed from now on: each loan keeps the order it was made under.
    """
    errors: Errors = {}
    after: dict[str, Any] = {
        name: _optional_int(values, name, low, high, errors, N_(
            "Enter a whole number from %(min)s to %(max)s, or leave it empty for the institution's default."))
        for name, (low, high) in POST_LOAN_INT_FIELDS.items()
    }
    amount = _optional_amount(values, "pre_due_amount", errors, N_(
        "Enter an amount of at most %(max)s yuan, or leave it empty for the institution's default."))
    if amount is not None and amount <= 0:
        errors["pre_due_amount"] = (N_("Enter an amount above zero, or leave it empty for the institution's default."), {})
    after["pre_due_amount"] = amount
    order = [values.get(name) or "" for name in ORDER_FIELDS]
    try:
        validate_order(order)  # the same check the repayment replay applies
    except ValueError:
        errors["allocation_order"] = (N_("Put each part of what is owed in the order exactly once."), {})
    if errors:
        raise RulesFormError(errors)
    after["allocation_order"] = [] if tuple(order) == COMPONENTS else order
    before = {name: getattr(product, name) for name in after}
    before["allocation_order"] = list(product.allocation_order or [])
    if before == after:
        return False
    new_order = before["allocation_order"] != after["allocation_order"]
    if new_order:
        _ensure_first_snapshot(product)  # the order is a loan term: a new version of the product
    for name, value in after.items():
        setattr(product, name, value)
    if new_order:
        product.version += 1
        _snapshot(product, actor_id)
    audit.record(
        "product_post_loan_changed", actor_id=actor_id, object_type="product", object_id=product.id, ip=ip,
        before={k: str(v) if isinstance(v, Decimal) else v for k, v in before.items()},
        after={k: str(v) if isinstance(v, Decimal) else v for k, v in after.items()},
    )
    db.session.commit()
    return True


def set_entry_mismatch_blocks(product: Product, blocks: bool, *, actor_id: int, ip: str = "") -> bool:
    """Whether a data-entry finding (keyed value differs from the capture or OCR) blocks completion
    of this product's applications, or is only shown to the reviewer. Audited; False if unchanged."""
    if product.entry_mismatch_blocks == blocks:
        return False
    product.entry_mismatch_blocks = blocks
    audit.record("product_entry_rule_changed", actor_id=actor_id, object_type="product", object_id=product.id, ip=ip,
                 before={"entry_mismatch_blocks": not blocks}, after={"entry_mismatch_blocks": blocks})
    db.session.commit()
    return True


# --- reading products ----------------------------------------------------------------------


def all_products() -> list[Product]:
    """Every product, active or not, by code (the administrator's list)."""
    return list(db.session.scalars(select(Product).order_by(Product.code)))


def product(product_id: int) -> Product:
    """The product with this id; an unknown id is answered as not found."""
    from app.services.scope import OutOfScope

    found = db.session.get(Product, product_id)
    if found is None:
        raise OutOfScope("Product", product_id)
    return found


def active_products(*, with_items: bool = False) -> list[Product]:
    """The products offered now, in their order (calculator, phone bootstrap, entry limits);
    ``with_items`` loads each product's photo list in the same round trip."""
    query = select(Product).where(Product.is_active.is_(True)).order_by(Product.id)
    if with_items:
        query = query.options(selectinload(Product.items))
    return list(db.session.scalars(query))


# --- the product's terms: create, edit, version, retire, delete (issue 13 item 1 and 3) --------
#
# A loan copies its terms from the product when it is disbursed (loans.disburse: rate, method,
# frequency, day count, penalty rate, allocation order; the installments are written then), so a
# change here never alters an existing loan or installment. An application not yet disbursed is
# disbursed under the terms in force on that day. Every change of the terms bumps
# ``Product.version`` and writes a ``ProductVersion`` row with the new terms: the rows say which
# terms were in force from when. (A product created before migration 0013 gets the row of its
# version 1 written, with the terms it had, the first time it is changed.)

MAX_RATE_PERCENT = Decimal("36")  # the annual rate range, in per cent (0-36 %)
MAX_PENALTY_PERCENT = Decimal("100")
MAX_TERM = 600  # months, as the schedule engine allows (schedule.MAX_INSTALLMENTS)
_CODE = re.compile(r"[A-Za-z0-9_-]{1,30}")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")

TERM_LABELS: dict[str, str] = {
    "code": N_("Product code"),
    "name": N_("Product name"),
    "repayment_method": N_("Repayment method"),
    "frequency": N_("Repayment frequency"),
    "day_count": N_("Day count"),
    "annual_rate": N_("Default annual rate (%)"),
    "min_rate": N_("Lowest annual rate (%)"),
    "max_rate": N_("Highest annual rate (%)"),
    "penalty_rate": N_("Penalty interest rate (% a year)"),
    "min_amount": N_("Smallest amount (yuan)"),
    "max_amount": N_("Largest amount (yuan)"),
    "min_term_months": N_("Shortest term (months)"),
    "max_term_months": N_("Longest term (months)"),
    "holiday_shift": N_("A due date on a holiday or weekend moves to the next working day"),
    "accounting_basis": N_("Accounting basis"),
}
BASIS_LABELS = {
    "accrual": N_("Accrual basis (权责发生制): interest recognised day by day"),
    "cash": N_("Cash basis (收付实现制): interest recognised when paid"),
}
METHOD_LABELS = {
    "annuity": N_("Equal installments (等额本息)"),
    "equal_principal": N_("Equal principal (等额本金)"),
    "interest_only": N_("Monthly interest, principal at maturity (按月付息到期还本)"),
    "bullet": N_("Principal and interest at maturity (到期一次还本付息)"),
    "flat": N_("Flat rate on the original principal"),
}
FREQUENCY_LABELS = {"monthly": N_("monthly"), "quarterly": N_("quarterly"),
                    "custom": N_("custom dates (e.g. after the harvest)")}
DAY_COUNT_LABELS = {"act/360": N_("actual days / 360"), "act/365": N_("actual days / 365"),
                    "30/360": N_("30 / 360")}
RATE_FIELDS = ("annual_rate", "min_rate", "max_rate", "penalty_rate")
# What a version records (and the audit compares): the terms a loan or an application is made under.
VERSIONED = ("code", "name", "repayment_method", "frequency", "day_count", "annual_rate", "min_rate", "max_rate",
             "penalty_rate", "min_amount", "max_amount", "min_term_months", "max_term_months", "holiday_shift",
             "allocation_order", "accounting_basis", "restructure_rules")


class ProductFormError(RulesFormError):
    """The typed terms are invalid; ``errors`` maps each bad field to its N_ message (naming the field)."""


class ProductInUse(ServiceError):
    def __init__(self, applications: int) -> None:
        super().__init__("product_in_use", N_(
            "This product is used by %(count)s application(s) or loan(s): it cannot be deleted. Retire it instead."),
            count=applications)


def term_values(p: Product | None = None) -> dict[str, str]:
    """The terms form's values: rates in per cent, amounts in yuan."""
    if p is None:
        return {"code": "", "name": "", "repayment_method": "annuity", "frequency": "monthly", "day_count": "act/360",
                "annual_rate": "", "min_rate": "", "max_rate": "", "penalty_rate": "", "min_amount": "",
                "max_amount": "", "min_term_months": "", "max_term_months": "", "holiday_shift": "",
                "accounting_basis": "accrual"}
    values = {name: str(getattr(p, name)) for name in ("code", "name", "repayment_method", "frequency", "day_count",
                                                      "min_term_months", "max_term_months")}
    for name in RATE_FIELDS:
        values[name] = _percent_text(getattr(p, name))
    values["min_amount"], values["max_amount"] = str(to_money(p.min_amount)), str(to_money(p.max_amount))
    values["holiday_shift"] = "1" if p.holiday_shift else ""
    values["accounting_basis"] = p.accounting_basis or "accrual"
    return values


def _percent_text(rate: Decimal) -> str:
    text = f"{(rate * 100).quantize(Decimal('0.0001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_terms(values: Mapping[str, str], *, current: Product | None = None) -> dict[str, Any]:
    """Strictly parse the terms form; ProductFormError with one message per bad field (each naming it)."""
    errors: Errors = {}
    out: dict[str, Any] = {}

    def fail(field: str, message: str, **params: Any) -> None:
        errors.setdefault(field, (message, {"field": TERM_LABELS[field], **params}))

    code = (values.get("code") or "").strip()
    if not _CODE.fullmatch(code):
        fail("code", N_("%(field)s: 1 to 30 letters, digits, - or _ (e.g. XYD)."))
    else:
        taken = db.session.scalar(select(Product.id).where(Product.code == code))
        if taken is not None and (current is None or taken != current.id):
            fail("code", N_("%(field)s: %(code)s is already used by another product."), code=code)
    out["code"] = code
    name = " ".join((values.get("name") or "").split())
    if not 1 <= len(name) <= 100:
        fail("name", N_("%(field)s: enter a name of 1 to %(max)s characters."), max=100)
    out["name"] = name
    for field, allowed in (("repayment_method", METHOD_LABELS), ("frequency", FREQUENCY_LABELS),
                           ("day_count", DAY_COUNT_LABELS)):
        value = values.get(field) or ""
        if value not in allowed:
            fail(field, N_("%(field)s: choose one of the listed options."))
        out[field] = value
    for field in RATE_FIELDS:
        text = "".join((values.get(field) or "").split()).translate(_FULLWIDTH_DIGITS).rstrip("%％")
        top = MAX_PENALTY_PERCENT if field == "penalty_rate" else MAX_RATE_PERCENT
        if not _PERCENT.fullmatch(text) or Decimal(text) > top:
            fail(field, N_("%(field)s: enter a percentage from 0 to %(max)s with at most 4 decimals, e.g. 9.6."),
                 max=str(top))
            out[field] = None
        else:
            out[field] = Decimal(text) / 100
    lo, default, hi = out["min_rate"], out["annual_rate"], out["max_rate"]
    if lo is not None and hi is not None and lo > hi:
        fail("min_rate", N_("%(field)s: %(low)s %% is above the highest rate %(high)s %%."),
             low=_percent_text(lo), high=_percent_text(hi))
    elif None not in (lo, default, hi) and not lo <= default <= hi:
        fail("annual_rate", N_("%(field)s: %(rate)s %% must lie between the lowest (%(low)s %%) and the highest (%(high)s %%)."),
             rate=_percent_text(default), low=_percent_text(lo), high=_percent_text(hi))
    for field in ("min_amount", "max_amount"):
        amount = None
        try:
            amount = parse_amount(values.get(field) or "")
        except AmountError:
            fail(field, N_("%(field)s: enter an amount in yuan with at most 2 decimals, e.g. 5000 or 5000.50."))
        if amount is not None and not Decimal("0") < amount <= MAX_AMOUNT:
            fail(field, N_("%(field)s: enter an amount above 0 and at most %(max)s yuan."), max=format_money(MAX_AMOUNT))
            amount = None
        out[field] = amount
    if out["min_amount"] is not None and out["max_amount"] is not None and out["min_amount"] > out["max_amount"]:
        fail("min_amount", N_("%(field)s: %(low)s is above the largest amount %(high)s."),
             low=format_money(out["min_amount"]), high=format_money(out["max_amount"]))
    for field in ("min_term_months", "max_term_months"):
        months = _optional_int(values, field, 1, MAX_TERM, {}, "")
        if months is None:
            fail(field, N_("%(field)s: enter a whole number of months from 1 to %(max)s."), max=MAX_TERM)
        out[field] = months
    if out["min_term_months"] is not None and out["max_term_months"] is not None:
        if out["min_term_months"] > out["max_term_months"]:
            fail("min_term_months", N_("%(field)s: %(low)s is above the longest term %(high)s."),
                 low=out["min_term_months"], high=out["max_term_months"])
        elif out["frequency"] == "quarterly" and (out["min_term_months"] % 3 or out["max_term_months"] % 3):
            fail("min_term_months", N_("%(field)s: a quarterly product needs terms in whole quarters (3, 6, 9 … months)."))
    out["holiday_shift"] = (values.get("holiday_shift") or "") in ("1", "on", "true", "yes")
    # Left out of the form (an older client): the product keeps its basis, a new one is on accrual.
    basis = values.get("accounting_basis") or (current.accounting_basis if current is not None else "") or "accrual"
    if basis not in BASIS_LABELS:
        fail("accounting_basis", N_("%(field)s: choose one of the listed options."))
    out["accounting_basis"] = basis
    if errors:
        raise ProductFormError(errors)
    return out


def terms_of(p: Product) -> dict[str, Any]:
    """The versioned terms as plain JSON (rates as fractions and amounts in yuan, as strings)."""
    out: dict[str, Any] = {}
    for name in VERSIONED:
        value = getattr(p, name)
        if name == "allocation_order":
            value = list(value or [])
        elif name == "accounting_basis":
            value = value or "accrual"
        elif name == "restructure_rules":
            value = _restructure_json(p)
        elif name in ("min_amount", "max_amount"):
            value = str(to_money(value))
        elif isinstance(value, Decimal):
            value = _rate_text(value)
        out[name] = value
    return out


def _rate_text(rate: Decimal) -> str:
    return f"{rate.quantize(Decimal('0.000001')):f}"


def _jsonable_terms(parsed: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in parsed.items():
        if name in ("min_amount", "max_amount"):
            value = str(to_money(value))
        elif isinstance(value, Decimal):
            value = _rate_text(value)
        out[name] = value
    return out


def _snapshot(p: Product, actor_id: int | None) -> None:
    from app.models import ProductVersion

    db.session.add(ProductVersion(product_id=p.id, version=p.version, terms=terms_of(p), changed_by_id=actor_id))


def _ensure_first_snapshot(p: Product) -> None:
    """A product from before versioning gets the row of its current version, unattributed."""
    from app.models import ProductVersion

    exists = db.session.scalar(select(ProductVersion.id).where(ProductVersion.product_id == p.id,
                                                               ProductVersion.version == p.version))
    if exists is None:
        _snapshot(p, None)


def create_product(values: Mapping[str, str], *, actor_id: int | None, ip: str = "") -> Product:
    """A new product (active, no collection items yet), version 1, audited; nothing written on error."""
    parsed = parse_terms(values)
    from sqlalchemy.exc import IntegrityError

    p = Product(**parsed, routing_rules={}, allocation_order=[], version=1, is_active=True)
    db.session.add(p)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ProductFormError({"code": (N_("%(field)s: %(code)s was just taken by someone else."),
                                         {"field": TERM_LABELS["code"], "code": parsed["code"]})}) from None
    _snapshot(p, actor_id)
    audit.record("product.create", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 after=_jsonable_terms(parsed))
    _commit_unique("code", TERM_LABELS["code"], parsed["code"])
    return p


def _commit_unique(field: str, label: str, code: str) -> None:
    """Commit; a unique key taken at the same moment by someone else is refused at its field."""
    from sqlalchemy.exc import IntegrityError

    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ProductFormError({field: (N_("%(field)s: %(code)s was just taken by someone else."),
                                        {"field": label, "code": code})}) from None


def update_terms(p: Product, values: Mapping[str, str], *, actor_id: int | None, ip: str = "") -> bool:
    """Store changed terms as a new version, audited with before/after; False when nothing changed."""
    seen = (values.get("version") or "").strip()
    if seen and seen != str(p.version):
        # Someone saved other terms since this form was opened: saving it would undo theirs.
        raise ProductFormError({"": (N_(
            "These terms were changed by someone else (now version %(version)s) since you opened the form. "
            "Reload the page and make your change again."), {"version": p.version})})
    parsed = parse_terms(values, current=p)
    before_all = terms_of(p)
    after_all = {**before_all, **_jsonable_terms(parsed)}
    changed = [name for name in parsed if before_all[name] != after_all[name]]
    if not changed:
        return False
    _ensure_first_snapshot(p)
    for name in changed:
        setattr(p, name, parsed[name])
    p.version += 1
    _snapshot(p, actor_id)
    audit.record("product.update", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 before={n: before_all[n] for n in changed}, after={n: after_all[n] for n in changed},
                 version=p.version)
    db.session.commit()
    return True


def versions(p: Product) -> list:
    """The product's versions, newest first."""
    from app.models import ProductVersion

    return list(db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == p.id)
                                   .order_by(ProductVersion.version.desc())))


def uses(p: Product) -> int:
    """How many applications (and so loans) were made with this product."""
    from sqlalchemy import func

    from app.models import Application, Loan

    applications = db.session.scalar(select(func.count()).select_from(Application)
                                     .where(Application.product_id == p.id)) or 0
    return applications or db.session.scalar(select(func.count()).select_from(Loan).where(Loan.product_id == p.id)) or 0


def set_active(p: Product, active: bool, *, actor_id: int | None, ip: str = "") -> bool:
    """Retire (no longer offered on the phone, the calculator or to new applications) or offer again."""
    if p.is_active == active:
        return False
    p.is_active = active
    audit.record("product.retire" if not active else "product.reactivate", actor_id=actor_id,
                 object_type="product", object_id=p.id, ip=ip, before={"is_active": not active},
                 after={"is_active": active})
    db.session.commit()
    return True


def delete_product(p: Product, *, actor_id: int | None, ip: str = "") -> None:
    """Delete a product never used by an application or a loan; ProductInUse otherwise."""
    used = uses(p)
    if used:
        raise ProductInUse(used)
    before = terms_of(p)
    before["items"] = [i.name for i in p.items]
    audit.record("product.delete", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip, before=before)
    from sqlalchemy import delete

    from app.models import ProductVersion

    db.session.execute(delete(ProductVersion).where(ProductVersion.product_id == p.id))
    db.session.delete(p)
    db.session.commit()


# --- restructuring rules (issue 17): limits, who approves, the classification floor -------------
#
# Rules as data (app.domain.restructure.RestructureRules), read when a restructuring is requested
# and decided. They are part of the product's terms: a change is a new version, audited.

RESTRUCTURE_INT_FIELDS: dict[str, tuple[int, int]] = {
    "max_count": (0, 12),
    "max_extension_months": (0, 120),
    "floor_months": (0, 60),
}
RESTRUCTURE_OPTIONAL_INT_FIELDS: dict[str, tuple[int, int]] = {"l2_from_count": (1, 12)}
RESTRUCTURE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("max_count", "int", N_("Restructurings and extensions a loan may have, in all")),
    ("max_extension_months", "int", N_("The new maturity at most this many months after the original one")),
    ("l2_principal_over", "amount", N_("Second-level review when the principal owed is over (yuan)")),
    ("l2_from_count", "int", N_("Second-level review from this restructuring of a loan on (1 = the first)")),
    ("special_capitalise", "bool", N_("Special review when unpaid interest is capitalised")),
    ("special_restructure", "bool", N_("Special review for every restructuring (not for a plain extension)")),
    ("class_floor", "class", N_("A restructured loan is classified at least")),
    ("floor_months", "int", N_("Months the restructured loan keeps at least that class")),
)
RESTRUCTURE_LABELS = {name: label for name, _kind, label in RESTRUCTURE_FIELDS}


def _restructure_json(p: Product) -> dict[str, Any]:
    """The product's restructuring rules in full (defaults filled in); stored JSON that is invalid as it is."""
    from app.domain.restructure import RestructureRules, RestructureRulesError

    try:
        return RestructureRules.from_dict(p.restructure_rules or {}).to_dict()
    except RestructureRulesError:
        return dict(p.restructure_rules or {})


def restructure_values(p: Product) -> dict[str, str]:
    """The restructuring form's values: amounts in yuan, empty where a rule is off."""
    from app.domain.restructure import RestructureRules, RestructureRulesError

    try:
        rules = RestructureRules.from_dict(p.restructure_rules or {})
    except RestructureRulesError:
        rules = RestructureRules()  # invalid stored rules: the form offers the defaults, saving repairs them
    return form_values(rules, RESTRUCTURE_FIELDS)


def parse_restructure_rules(values: Mapping[str, str]):
    """The typed restructuring rules; ProductFormError with one message per bad field (each naming it)."""
    from app.domain.repayment import CLASSES
    from app.domain.restructure import RestructureRules, RestructureRulesError

    errors: Errors = {}
    out: dict[str, Any] = {}
    for name, (low, high) in RESTRUCTURE_INT_FIELDS.items():
        number = _optional_int(values, name, low, high, {}, "")
        if number is None:
            errors[name] = (N_("%(field)s: enter a whole number from %(min)s to %(max)s."),
                            {"field": RESTRUCTURE_LABELS[name], "min": low, "max": high})
        out[name] = number
    for name, (low, high) in RESTRUCTURE_OPTIONAL_INT_FIELDS.items():
        found: Errors = {}
        out[name] = _optional_int(values, name, low, high, found, "")
        if found:
            errors[name] = (N_("%(field)s: enter a whole number from %(min)s to %(max)s, "
                               "or leave it empty to switch the rule off."),
                            {"field": RESTRUCTURE_LABELS[name], "min": low, "max": high})
    found = {}
    amount = _optional_amount(values, "l2_principal_over", found, "")
    if found or (amount is not None and amount <= 0):
        errors["l2_principal_over"] = (N_("%(field)s: enter an amount above 0 and at most %(max)s yuan, "
                                          "or leave it empty to switch the rule off."),
                                       {"field": RESTRUCTURE_LABELS["l2_principal_over"],
                                        "max": format_money(MAX_AMOUNT)})
        amount = None
    out["l2_principal_over"] = None if amount is None else str(amount)
    for name in ("special_capitalise", "special_restructure"):
        out[name] = (values.get(name) or "") in ("1", "on", "true", "yes")
    floor = values.get("class_floor") or ""
    if floor not in CLASSES:
        errors["class_floor"] = (N_("%(field)s: choose one of the listed options."),
                                 {"field": RESTRUCTURE_LABELS["class_floor"]})
    out["class_floor"] = floor
    if errors:
        raise ProductFormError(errors)
    try:
        return RestructureRules.from_dict(out)
    except RestructureRulesError as e:  # the domain has the last word
        raise ProductFormError({"": (e.message, dict(e.params))}) from None


def update_restructure_rules(p: Product, values: Mapping[str, str], *, actor_id: int | None, ip: str = "") -> bool:
    """Store changed restructuring rules as a new version of the product, audited before/after, in one
    commit; ProductFormError (nothing written) on bad input or a stale form; False when nothing changed."""
    seen = (values.get("version") or "").strip()
    if seen and seen != str(p.version):
        raise ProductFormError({"": (N_(
            "These terms were changed by someone else (now version %(version)s) since you opened the form. "
            "Reload the page and make your change again."), {"version": p.version})})
    rules = parse_restructure_rules(values)
    before, after = _restructure_json(p), rules.to_dict()
    if before == after:  # stored empty = the defaults: the same rules, nothing to record
        return False
    _ensure_first_snapshot(p)
    p.restructure_rules = after  # a new dict, so the JSON column is seen as changed
    p.version += 1
    _snapshot(p, actor_id)
    changed = [k for k in after if before.get(k) != after[k]]
    audit.record("product.restructure_rules", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed}, version=p.version)
    db.session.commit()
    return True


# --- collection items: the photos the phone asks for (issue 13 item 2) ------------------------
#
# An item no photo refers to is deleted; an item with photos is retired instead (hidden from the
# phone's checklist and the preview, kept for those photos and their names), and can be restored.

MAX_PHOTOS_PER_ITEM = 20
ITEM_LABELS = {
    "item_code": N_("Item code"),
    "item_name": N_("Item name"),
    "required_count": N_("Photos required"),
    "max_count": N_("Most photos"),
}


def _item_fields(p: Product, values: Mapping[str, str], item=None) -> dict[str, Any]:
    errors: Errors = {}

    def fail(field: str, message: str, **params: Any) -> None:
        errors.setdefault(field, (message, {"field": ITEM_LABELS[field], **params}))

    out: dict[str, Any] = {}
    if item is None:
        code = (values.get("item_code") or "").strip()
        if not _CODE.fullmatch(code):
            fail("item_code", N_("%(field)s: 1 to 30 letters, digits, - or _ (e.g. id_card)."))
        elif any(i.code == code for i in p.items):
            fail("item_code", N_("%(field)s: %(code)s is already an item of this product."), code=code)
        out["code"] = code
    name = " ".join((values.get("item_name") or "").split())
    if not 1 <= len(name) <= 50:
        fail("item_name", N_("%(field)s: enter a name of 1 to %(max)s characters."), max=50)
    elif any(i.name == name and i is not item and not i.retired for i in p.items):
        fail("item_name", N_("%(field)s: %(name)s is already an item of this product."), name=name)
    out["name"] = name
    most = _optional_int(values, "max_count", 1, MAX_PHOTOS_PER_ITEM, {}, "")
    if most is None:
        fail("max_count", N_("%(field)s: enter a whole number from 1 to %(max)s."), max=MAX_PHOTOS_PER_ITEM)
    required = _optional_int(values, "required_count", 0, MAX_PHOTOS_PER_ITEM, {}, "")
    if required is None:
        fail("required_count", N_("%(field)s: enter a whole number from 0 to %(max)s."), max=MAX_PHOTOS_PER_ITEM)
    elif most is not None and required > most:
        fail("required_count", N_("%(field)s: %(required)s is more than the most photos, %(max)s."),
             required=required, max=most)
    out["required_count"], out["max_count"] = required, most
    if errors:
        raise ProductFormError(errors)
    return out


def _item_json(item) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "required_count": item.required_count,
            "max_count": item.max_count, "sort_order": item.sort_order, "retired": item.retired}


def add_item(p: Product, values: Mapping[str, str], *, actor_id: int | None, ip: str = ""):
    """A new collection item at the end of the list, audited; ProductFormError (nothing written)."""
    from app.models import CollectionItem

    fields = _item_fields(p, values)
    item = CollectionItem(product=p, sort_order=max((i.sort_order for i in p.items), default=0) + 1, **fields)
    db.session.add(item)
    audit.record("product.item_add", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 after=_item_json(item))
    _commit_unique("item_code", ITEM_LABELS["item_code"], fields["code"])
    return item


def item(p: Product, item_id: int):
    """The product's collection item with this id; another product's item is not found."""
    from app.services.scope import OutOfScope

    found = next((i for i in p.items if i.id == item_id), None)
    if found is None:
        raise OutOfScope("CollectionItem", item_id)
    return found


def update_item(p: Product, it, values: Mapping[str, str], *, actor_id: int | None, ip: str = "") -> bool:
    fields = _item_fields(p, values, it)
    before = {k: getattr(it, k) for k in fields if getattr(it, k) != fields[k]}
    if not before:
        return False
    for k in before:
        setattr(it, k, fields[k])
    audit.record("product.item_update", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 item=it.code, before=before, after={k: fields[k] for k in before})
    db.session.commit()
    return True


def move_item(p: Product, it, step: int, *, actor_id: int | None, ip: str = "") -> bool:
    """Swap the item with its neighbour above (step -1) or below (+1) in the phone's order."""
    shown = [i for i in p.items if not i.retired]
    if it not in shown:
        return False
    at = shown.index(it)
    if not 0 <= at + step < len(shown):
        return False
    order_before = [i.code for i in shown]
    shown[at], shown[at + step] = shown[at + step], shown[at]
    for n, i in enumerate(shown, 1):
        i.sort_order = n
    retired = [i for i in p.items if i.retired]
    for n, i in enumerate(retired, len(shown) + 1):
        i.sort_order = n
    audit.record("product.item_reorder", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 before={"order": order_before}, after={"order": [i.code for i in shown]})
    db.session.commit()
    db.session.expire(p, ["items"])
    return True


def remove_item(p: Product, it, *, actor_id: int | None, ip: str = "") -> str:
    """Delete an item no photo refers to ("deleted"), else retire it ("retired")."""
    from sqlalchemy import func

    from app.models import Photo

    photos = db.session.scalar(select(func.count()).select_from(Photo).where(Photo.collection_item_id == it.id)) or 0
    if photos:
        it.retired = True
        audit.record("product.item_retire", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                     item=it.code, photos=photos, before={"retired": False}, after={"retired": True})
        db.session.commit()
        return "retired"
    audit.record("product.item_delete", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 before=_item_json(it))
    p.items.remove(it)
    db.session.commit()
    return "deleted"


def restore_item(p: Product, it, *, actor_id: int | None, ip: str = "") -> bool:
    if not it.retired:
        return False
    it.retired = False
    audit.record("product.item_restore", actor_id=actor_id, object_type="product", object_id=p.id, ip=ip,
                 item=it.code, before={"retired": True}, after={"retired": False})
    db.session.commit()
    return True


def checklist(p: Product) -> list:
    """The items the phone asks for, in its order (retired ones left out)."""
    return [i for i in p.items if not i.retired]


def draft_item(values: Mapping[str, str]) -> dict[str, Any] | None:
    """The item being typed in the add form, for the preview; None until it has a name."""
    name = " ".join((values.get("item_name") or "").split())[:50]
    if not name:
        return None
    most = _optional_int(values, "max_count", 1, MAX_PHOTOS_PER_ITEM, {}, "") or 1
    required = min(_optional_int(values, "required_count", 0, MAX_PHOTOS_PER_ITEM, {}, "") or 0, most)
    return {"name": name, "required_count": required, "max_count": most}
