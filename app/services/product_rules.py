"""The administrator's forms for a product's rules kept as data in ``Product.credit_rules`` (one
key per concern): the joint-liability group rules (``"group"``) and the light-path rules of
whole-village pre-credit (``"light_path"``); the guarantor rules (``"guarantor"``) live in
guarantees.py and store through ``store_rules`` here.

Each form is checked whole — every bad field named at once (N_ messages, translated at the edge),
nothing saved on a refusal — then ``store_rules`` writes the one key, audits it with before and
after in the same commit, and writes nothing when the rules did not change.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from app.domain import village
from app.domain.groups import LARGEST_GROUP, GroupRules, GroupRulesError
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount
from app.extensions import db
from app.models import Product
from app.services import audit
from app.services.errors import ServiceError

Errors = dict[str, tuple[str, dict]]


class RulesRefused(ServiceError):
    """A rules form that does not check out: ``fields`` names every bad field; nothing was saved."""

    def __init__(self, code: str, fields: Errors) -> None:
        super().__init__(code, N_("Correct the rules marked below."), fields=fields)


def store_rules(product: Product, key: str, after: object, *, action: str, actor_id: int, ip: str = "") -> bool:
    """Set ``credit_rules[key]`` to ``after`` (``None``: remove the key), audited as ``action`` with
    before and after, in one commit. Returns whether anything changed (nothing is written if not)."""
    current = dict(product.credit_rules or {})
    before = current.get(key)
    if (key in current) == (after is not None) and before == after:
        return False
    if after is None:
        current.pop(key, None)
    else:
        current[key] = after
    product.credit_rules = current
    audit.record(action, actor_id=actor_id, object_type="product", object_id=product.id, ip=ip,
                 before=before, after=after)
    db.session.commit()
    return True


def whole_number(form: Mapping[str, str], name: str, low: int, high: int, message: str, errors: Errors) -> int | None:
    """The field as a whole number of ASCII digits from ``low`` to ``high``; else the error noted."""
    text = (form.get(name) or "").strip()
    if not (text.isascii() and text.isdecimal() and len(text) <= 6) or not low <= int(text) <= high:
        errors[name] = (message, {"low": low, "high": high})
        return None
    return int(text)


# --- joint-liability groups (credit_rules["group"]) ----------------------------------------------

GROUP_FIELDS = ("allowed", "min_size", "max_size", "max_relative_pairs", "exposure_limit")


def stored_group_rules(product: Product) -> tuple[GroupRules, tuple[str, dict] | None]:
    """The product's group rules, or the defaults and why when what is stored does not check out."""
    try:
        return GroupRules.from_dict((product.credit_rules or {}).get("group")), None
    except (GroupRulesError, TypeError) as e:
        if isinstance(e, GroupRulesError):
            return GroupRules(), (e.message, e.params)
        return GroupRules(), (N_("Group rules must be a JSON object"), {})


def group_form_values(product: Product, rules: GroupRules) -> dict[str, object]:
    return {"allowed": "group" in (product.credit_rules or {}), "min_size": str(rules.min_size),
            "max_size": str(rules.max_size), "max_relative_pairs": str(rules.max_relative_pairs),
            "exposure_limit": "" if rules.exposure_limit is None else f"{rules.exposure_limit:.2f}"}


def save_group_rules(product: Product, form: Mapping[str, str], *, actor_id: int, ip: str = "") -> bool:
    """Check the whole form, then store ``credit_rules["group"]`` — or remove the key when the
    product no longer lends to groups. Raises RulesRefused with every bad field."""
    errors: Errors = {}
    size = N_("A group size must be a whole number from %(low)s to %(high)s.")
    low = whole_number(form, "min_size", 2, LARGEST_GROUP, size, errors)
    high = whole_number(form, "max_size", 2, LARGEST_GROUP, size, errors)
    pairs = whole_number(form, "max_relative_pairs", 0, LARGEST_GROUP,
                         N_("Pairs of relatives must be a whole number from %(low)s to %(high)s."), errors)
    if low is not None and high is not None and low > high:
        errors["max_size"] = (N_("The largest group size cannot be below the smallest (%(min)s)."), {"min": low})
    limit_text = (form.get("exposure_limit") or "").strip()
    limit = None
    if limit_text:
        try:
            limit = parse_amount(limit_text)
        except AmountError as e:
            errors["exposure_limit"] = (e.message, dict(e.params))
        else:
            if limit <= 0:
                errors["exposure_limit"] = (N_("The group exposure limit must be an amount in yuan above 0."), {})
    if errors:
        raise RulesRefused("group_rules", errors)
    if not form.get("allowed"):
        after = None
    else:
        try:
            rules = GroupRules(low, high, pairs, None if limit is None else limit.quantize(Decimal("0.01")))
        except GroupRulesError as e:  # the checks above are the same; kept as a guard
            raise RulesRefused("group_rules", {"min_size": (e.message, e.params)}) from None
        after = rules.to_dict()
    return store_rules(product, "group", after, action="product_group_rules_changed", actor_id=actor_id, ip=ip)


# --- the light path of whole-village pre-credit (credit_rules["light_path"]) ---------------------


class ItemChoice(NamedTuple):
    code: str
    label: str
    # Stored in the rules but no current collection item of the product (retired or renamed).
    unknown: bool = False


def stored_light_path_rules(product: Product) -> tuple[village.LightPathRules, tuple[str, dict] | None]:
    try:
        return village.LightPathRules.from_dict((product.credit_rules or {}).get("light_path") or {}), None
    except (village.LightPathRulesError, TypeError) as e:
        if isinstance(e, village.LightPathRulesError):
            return village.LightPathRules(), (e.message, dict(e.params))
        return village.LightPathRules(), (N_("The light-path rules must be a JSON object."), {})


def light_path_item_choices(product: Product, rules: village.LightPathRules) -> list[ItemChoice]:
    """The product's collection items (not retired) in their order, then any code the stored rules
    name that is no such item (so the admin sees it and may untick it)."""
    items = sorted((i for i in product.items if not i.retired), key=lambda i: (i.sort_order, i.id or 0))
    choices = [ItemChoice(i.code, f"{i.name} ({i.code})") for i in items]
    known = {c.code for c in choices}
    choices += [ItemChoice(code, code, True) for code in rules.required_items if code not in known]
    return choices


def rating_choices() -> list[tuple[str, str]]:
    return [(r, village.RATING_LABELS.get(r, r)) for r in village.RATINGS]


def light_path_form_values(rules: village.LightPathRules) -> dict[str, object]:
    return {"enabled": rules.enabled, "min_score": str(rules.min_score), "valid_days": str(rules.valid_days),
            "excluded_ratings": list(rules.excluded_ratings), "required_items": list(rules.required_items)}


def save_light_path_rules(product: Product, form: Mapping[str, object], *, actor_id: int, ip: str = "") -> bool:
    """Check the whole form (``excluded_ratings`` and ``required_items`` are lists of the ticked
    values), then store ``credit_rules["light_path"]``. Raises RulesRefused with every bad field."""
    errors: Errors = {}
    text = {k: str(form.get(k) or "") for k in ("min_score", "valid_days")}
    min_score = whole_number(text, "min_score", 0, 1000,
                             N_("The lowest score must be a whole number from %(low)s to %(high)s."), errors)
    valid_days = whole_number(text, "valid_days", 1, 3660,
                              N_("Days a pre-approval stays valid must be a whole number from %(low)s to %(high)s."), errors)
    ratings = [str(r) for r in (form.get("excluded_ratings") or [])]
    if any(r not in village.RATINGS for r in ratings):
        errors["excluded_ratings"] = (N_("Choose excluded ratings among those offered."), {})
    current, _problem = stored_light_path_rules(product)
    offered = {c.code for c in light_path_item_choices(product, current)}
    items = [str(c) for c in (form.get("required_items") or [])]
    if any(c not in offered for c in items):
        errors["required_items"] = (N_("Choose required photos among this product's collection items."), {})
    if errors:
        raise RulesRefused("light_path_rules", errors)
    data = {"enabled": bool(form.get("enabled")), "min_score": min_score, "valid_days": valid_days,
            # kept in the rating scale's order and the items' order, each once
            "excluded_ratings": [r for r in village.RATINGS if r in ratings],
            "required_items": [c.code for c in light_path_item_choices(product, current) if c.code in items]}
    try:
        rules = village.LightPathRules.from_dict(data)
    except village.LightPathRulesError as e:  # the checks above are the same; kept as a guard
        raise RulesRefused("light_path_rules", {"min_score": (e.message, dict(e.params))}) from None
    return store_rules(product, "light_path", rules.to_dict(), action="product_light_path_rules_changed",
                       actor_id=actor_id, ip=ip)
