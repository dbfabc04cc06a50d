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
}
BOOL_FIELDS = (
    "special_related_party",
    "special_duplicate_id",
    "special_gps_required",
    "special_officer_not_on_site",
)

# The form's labels, in the order shown. "kind" tells the template which input to draw.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("l2_amount_over", "amount", N_("Second-level review when the amount is over (yuan)")),
    ("l2_term_over_months", "int", N_("Second-level review when the term is over (months)")),
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


def form_values(rules: RoutingRules) -> dict[str, str]:
    """The form's initial values for ``rules``: amounts as "20000.00", empty for a rule that is off."""
    values: dict[str, str] = {}
    for name, kind, _label in FIELDS:
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
    for name, value in after.items():
        setattr(product, name, value)
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
                 before=not blocks, after=blocks)
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
