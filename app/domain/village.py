"""Whole-village pre-credit (整村授信): the pure rules.

A campaign surveys every household of a village; the scorecard scores each one and suggests a
limit. From those, the white list (白名单) *proposes* a pre-approved limit per household; HQ approves
each (never above what was proposed, nor the product's maximum) with a validity date; an
application of a pre-approved borrower within his approved limit takes the **light path**: fewer
photos and the director's approval only.

The rules are data: ``Product.credit_rules["light_path"]`` read by ``LightPathRules.from_dict``
(empty = the defaults below). Nothing here touches a database.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from app.domain.i18n import N_

# The village committee's rating (村委评议): the values of the default survey's committee_rating.
RATINGS: tuple[str, ...] = ("excellent", "good", "fair", "poor")
RATING_LABELS: dict[str, str] = {"excellent": "好", "good": "较好", "fair": "一般", "poor": "差"}

DEFAULT_MIN_SCORE = 60
DEFAULT_EXCLUDED_RATINGS: tuple[str, ...] = ("poor",)
DEFAULT_VALID_DAYS = 365
# The photos a pre-approved household's application still needs (collection item codes): the
# IOU and the ID card; the survey form and the house were seen during the campaign.
DEFAULT_REQUIRED_ITEMS: tuple[str, ...] = ("iou", "id_front", "id_back")


class LightPathRulesError(ValueError):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


@dataclass(frozen=True)
class LightPathRules:
    """``Product.credit_rules["light_path"]``.

    - ``enabled``: whether pre-approved applications of this product take the light path at all;
    - ``min_score``: a household scoring below it is not proposed;
    - ``excluded_ratings``: committee ratings never proposed (default 差);
    - ``valid_days``: the default validity of an approval (HQ may set another date);
    - ``required_items``: the collection item codes a light-path application must still hold
      (every other item asks for no photo, though it takes those sent).
    """

    enabled: bool = True
    min_score: int = DEFAULT_MIN_SCORE
    excluded_ratings: tuple[str, ...] = DEFAULT_EXCLUDED_RATINGS
    valid_days: int = DEFAULT_VALID_DAYS
    required_items: tuple[str, ...] = DEFAULT_REQUIRED_ITEMS

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | None) -> LightPathRules:
        d = dict(d or {})
        unknown = sorted(set(d) - {"enabled", "min_score", "excluded_ratings", "valid_days", "required_items"})
        if unknown:
            raise LightPathRulesError(N_("Unknown light-path rule: %(key)s."), key=unknown[0])
        enabled = d.get("enabled", True)
        if not isinstance(enabled, bool):
            raise LightPathRulesError(N_("The light-path rule %(key)s must be true or false."), key="enabled")
        ints = {}
        for key, default, low, high in (("min_score", DEFAULT_MIN_SCORE, 0, 1000), ("valid_days", DEFAULT_VALID_DAYS, 1, 3660)):
            value = d.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise LightPathRulesError(N_("The light-path rule %(key)s must be a whole number from %(low)s to %(high)s."),
                                          key=key, low=low, high=high)
            ints[key] = value
        excluded = d.get("excluded_ratings", list(DEFAULT_EXCLUDED_RATINGS))
        if not isinstance(excluded, (list, tuple)) or any(r not in RATINGS for r in excluded):
            raise LightPathRulesError(N_("The light-path rule %(key)s must list ratings among: %(values)s."),
                                      key="excluded_ratings", values=", ".join(RATINGS))
        items = d.get("required_items", list(DEFAULT_REQUIRED_ITEMS))
        if not isinstance(items, (list, tuple)) or any(not isinstance(c, str) or not c for c in items):
            raise LightPathRulesError(N_("The light-path rule %(key)s must list collection item codes."), key="required_items")
        return cls(enabled, ints["min_score"], tuple(dict.fromkeys(excluded)), ints["valid_days"], tuple(dict.fromkeys(items)))

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, "min_score": self.min_score, "excluded_ratings": list(self.excluded_ratings),
                "valid_days": self.valid_days, "required_items": list(self.required_items)}


# --- the white list's proposal ------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A household's proposed pre-approved limit, or why none (``amount`` None)."""

    amount: Decimal | None
    reason: str  # N_ message
    params: Mapping[str, object]


def propose(rules: LightPathRules, *, score: int | None, rating: str, suggested_limit: Decimal | None,
            product_min: Decimal, product_max: Decimal) -> Proposal:
    """The scorecard's suggested limit (never above the product's maximum), unless the household
    scored below the cut-off, the committee rated it an excluded rating, or nothing is suggested."""
    if score is None or suggested_limit is None:
        return Proposal(None, N_("Not scored: the product has no scorecard."), {})
    if rating in rules.excluded_ratings:
        return Proposal(None, N_("The village committee rated this household %(rating)s."),
                        {"rating": RATING_LABELS.get(rating, rating)})
    if score < rules.min_score:
        return Proposal(None, N_("Score %(score)s is below the cut-off of %(cutoff)s."),
                        {"score": score, "cutoff": rules.min_score})
    amount = min(suggested_limit, product_max)
    if amount < product_min:
        return Proposal(None, N_("The suggested limit %(amount)s yuan is below the product's minimum of %(min)s yuan."),
                        {"amount": f"{suggested_limit:,.2f}", "min": f"{product_min:,.2f}"})
    return Proposal(amount, N_("Score %(score)s, suggested limit %(amount)s yuan."),
                    {"score": score, "amount": f"{amount:,.2f}"})


# --- HQ's decision on the white list --------------------------------------------------------


ABOVE_LIMIT = N_("A pre-approved amount above the limit: %(amount)s yuan is more than the %(limit)s yuan proposed "
                 "by the scorecard (and the product's maximum). Nothing was saved.")


LIMIT_CEILING = Decimal("1000000000000")  # a trillion yuan: no limit typed by HQ comes near it


def parse_limit(text: str) -> Decimal | None:
    """A limit typed by HQ (yuan, at most two decimals), or None when it is not one."""
    text = (text or "").strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    # Bounded before it is rounded: quantize raises on a number past the context's 28 digits ("1e30").
    if not value.is_finite() or abs(value) >= LIMIT_CEILING or value != value.quantize(Decimal("0.01")):
        return None
    return value


def check_approved_limit(amount: Decimal, *, proposed: Decimal, product_min: Decimal,
                         product_max: Decimal) -> tuple[str, dict] | None:
    """Why HQ may not approve this limit (a message and its params), or None. HQ may lower a
    proposed limit, never raise it above the proposal or the product's maximum."""
    cap = min(proposed, product_max)
    if amount > cap:
        return ABOVE_LIMIT, {"amount": f"{amount:,.2f}", "limit": f"{cap:,.2f}"}
    if amount < product_min:
        return (N_("A pre-approved amount must be at least the product's minimum of %(min)s yuan."),
                {"min": f"{product_min:,.2f}"})
    return None


def check_valid_until(valid_until: date | None, *, today: date, max_days: int = 3660) -> tuple[str, dict] | None:
    if valid_until is None:
        return N_("Enter the date until which the pre-approved limits hold."), {}
    if valid_until < today:
        return N_("The validity date is already past."), {}
    if (valid_until - today).days > max_days:
        return N_("The validity date is too far ahead (at most %(days)s days)."), {"days": max_days}
    return None


# --- the light path -----------------------------------------------------------------------


@dataclass(frozen=True)
class PreApprovalFacts:
    status: str                 # proposed | approved | refused | used | expired
    approved_limit: Decimal | None
    valid_until: date | None
    product_id: int


@dataclass(frozen=True)
class LightPathDecision:
    light: bool
    reason: str  # N_ message
    params: Mapping[str, object]


def usable(pa: PreApprovalFacts, *, product_id: int, today: date) -> bool:
    """An approved, unexpired pre-approval of this product."""
    return (pa.status == "approved" and pa.approved_limit is not None and pa.product_id == product_id
            and pa.valid_until is not None and today <= pa.valid_until)


def light_path(rules: LightPathRules, pa: PreApprovalFacts | None, *, product_id: int, amount: Decimal,
               today: date) -> LightPathDecision:
    """Whether an application of ``amount`` takes the light path, and why (or why not)."""
    if pa is None:
        return LightPathDecision(False, N_("The borrower has no pre-approved limit."), {})
    if not rules.enabled:
        return LightPathDecision(False, N_("This product has no light path."), {})
    if pa.status == "used":
        return LightPathDecision(False, N_("The pre-approved limit has already been used."), {})
    if pa.status != "approved" or pa.approved_limit is None:
        return LightPathDecision(False, N_("The pre-approved limit is not approved."), {})
    if pa.product_id != product_id:
        return LightPathDecision(False, N_("The pre-approved limit is for another loan product."), {})
    if pa.valid_until is None or today > pa.valid_until:
        return LightPathDecision(False, N_("The pre-approved limit expired on %(date)s."),
                                 {"date": pa.valid_until.isoformat() if pa.valid_until else ""})
    if amount > pa.approved_limit:
        return LightPathDecision(False, N_("The amount %(amount)s yuan is above the pre-approved limit of %(limit)s yuan: "
                                           "the application follows the normal review path."),
                                 {"amount": f"{amount:,.2f}", "limit": f"{pa.approved_limit:,.2f}"})
    return LightPathDecision(True, N_("Pre-approved in the village campaign: %(amount)s yuan within the limit of %(limit)s yuan, "
                                      "the director's approval only."),
                             {"amount": f"{amount:,.2f}", "limit": f"{pa.approved_limit:,.2f}"})


def required_on_light_path(rules: LightPathRules, items: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Each collection item's required photo count on the light path (item code → count): the
    product's own count for the items the rules still require, none for the others."""
    keep = set(rules.required_items)
    return {code: (count if code in keep else 0) for code, count in items}


# --- the village map ------------------------------------------------------------------------

# A household's status on the map, worst first: the first that applies.
MAP_STATUSES: tuple[str, ...] = ("late", "borrowing", "preapproved", "surveyed")
# A pre-approval's status as the white list's download reads it (the page says the same in its tags).
PREAPPROVAL_STATUS_LABELS: dict[str, str] = {
    "proposed": N_("proposed"), "approved": N_("Approved"), "refused": N_("refused"), "used": N_("used"),
}
MAP_STATUS_LABELS: dict[str, str] = {
    "surveyed": N_("Surveyed"), "preapproved": N_("Pre-approved"), "borrowing": N_("Borrowing"), "late": N_("Late"),
}


def map_status(*, preapproved: bool, borrowing: bool, days_past_due: int) -> str:
    if borrowing and days_past_due > 0:
        return "late"
    if borrowing:
        return "borrowing"
    if preapproved:
        return "preapproved"
    return "surveyed"
