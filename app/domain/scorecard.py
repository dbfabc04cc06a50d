"""The points scorecard (评分卡) and the suggested credit limit (建议授信额度), as data.

A scorecard is a JSON dict kept per product (ScorecardVersion.definition)::

    {"base": 40,
     "factors": [
       {"key": "age", "label": "年龄", "fact": "age", "type": "range",
        "bins": [{"min": null, "max": "25", "points": 2, "reason": "年龄偏小"},
                 {"min": "25", "max": "56", "points": 10, "reason": "青壮年"},
                 {"min": "56", "max": null, "points": 3, "reason": "年龄偏大"}],
        "missing": {"points": 0, "reason": "年龄未知"}},
       {"key": "house", "label": "住房", "fact": "house_type", "type": "values",
        "bins": [{"values": ["brick_concrete"], "points": 8, "reason": "砖混住房"}],
        "other": {"points": 0, "reason": "其他住房"},
        "missing": {"points": 0, "reason": "住房未填"}}],
     "limit": {"grades": [{"min_score": 85, "label": "优秀", "max_amount": "100000"}, …],
               "income_multiple": "1", "repayment_share": "0.7", "capacity_years": "1",
               "step": "1000"}}

Each factor reads one *fact*: a survey answer by its question key, or a fact derived from the
answers by :func:`derive_facts`. A "range" factor's bins are half-open ``[min, max)`` intervals
written as decimal strings; they must follow each other without gap or overlap and cover every
number (the first has no lower bound, the last no upper bound). A "values" factor (a choice or
yes/no question) lists values per bin, each value in one bin at most; an answer listed nowhere takes
the ``other`` bin. An unanswered fact takes the ``missing`` bin. So every fact value lands in
exactly one bin, and the score is ``base`` plus the points of each factor's bin.

The suggested limit (``limit``) is the way a rural credit officer sizes a household's credit
(农户授信): the credit grade (信用等级) given by the score caps the amount (below the lowest grade:
no credit suggested); the amount is also at most ``income_multiple`` times the household's yearly
net income (纯收入), and at most ``repayment_share`` of what the household can repay each year —
net income less the yearly service of its existing debts — over ``capacity_years`` years (one year
for the usual one-year loan repaid at maturity); never above the product's maximum; rounded down to
a multiple of ``step``. Each cap that is switched on is named in the reasons with its figures.

Pure: no Flask, no database. Money and ratios are exact Decimals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.domain.i18n import N_

__all__ = [
    "DEFAULT_FACT_KINDS",
    "DEFAULT_SCORECARD",
    "DERIVED_FACTS",
    "Bin",
    "Contribution",
    "Factor",
    "Grade",
    "Impact",
    "LimitReason",
    "LimitResult",
    "LimitRules",
    "ScoreResult",
    "Scorecard",
    "ScorecardError",
    "derive_facts",
    "fact_kinds_from_survey",
    "problem_text",
    "score",
    "score_range",
    "suggested_limit",
    "survey_change_impact",
    "unreachable_grades",
]


class ScorecardError(ValueError):
    """An invalid scorecard; ``message`` is an untranslated N_ string formatted with ``params``.
    ``problems`` holds every problem found (this one first), so a form can show them all at once."""

    def __init__(
        self,
        message: str,
        params: Mapping[str, object] | None = None,
        problems: list[tuple[str, dict[str, object]]] | None = None,
    ) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        self.problems: list[tuple[str, dict[str, object]]] = problems or [(message, self.params)]
        super().__init__(message % self.params if self.params else message)


# --- facts -------------------------------------------------------------------------------------

INCOME_KEYS = ("crop_income", "livestock_income", "wage_income", "business_income", "other_income")
EXPENSE_KEYS = ("living_expenses", "production_expenses")
DEBT_KEYS = ("formal_debt", "informal_debt")

# Derived facts and their kind. All numbers.
DERIVED_FACTS: dict[str, str] = {
    "age": "number",
    "annual_income": "number",
    "annual_expenses": "number",
    "net_income": "number",
    "total_debt": "number",
    "debt_service": "number",
    "labour_ratio": "number",
    "debt_ratio": "number",
}

# The default survey's scorable questions (app.domain.survey.DEFAULT_SURVEY) with their kind:
# "number" (number, money), "choice" (option values, strings), "yesno" (true/false).
_DEFAULT_SURVEY_KINDS: dict[str, str] = {
    "members": "number",
    "labourers": "number",
    "land_mu": "number",
    "livestock_heads": "number",
    **{k: "number" for k in INCOME_KEYS + EXPENSE_KEYS + DEBT_KEYS},
    "yearly_debt_service": "number",
    "house_type": "choice",
    "house_value": "number",
    "has_vehicle": "yesno",
    "years_in_village": "number",
    "committee_rating": "choice",
}
DEFAULT_FACT_KINDS: dict[str, str] = {**_DEFAULT_SURVEY_KINDS, **DERIVED_FACTS}

_SURVEY_TYPE_KINDS = {"number": "number", "money": "number", "choice": "choice", "yesno": "yesno"}
_RATIO_PLACES = Decimal("0.0001")


def fact_kinds_from_survey(definition: Mapping[str, Any] | None) -> dict[str, str]:
    """The facts a scorecard may use with a survey definition (its dict form): every number,
    money, choice and yes/no question, plus the derived facts. None → the default survey's."""
    if definition is None:
        return dict(DEFAULT_FACT_KINDS)
    kinds: dict[str, str] = {}
    for section in definition.get("sections", ()) or ():
        for q in section.get("questions", ()) or ():
            kind = _SURVEY_TYPE_KINDS.get(q.get("type"))
            if kind and isinstance(q.get("key"), str):
                kinds[q["key"]] = kind
    kinds.update(DERIVED_FACTS)
    return kinds


# The survey questions each derived fact is computed from (age comes from the ID number).
DERIVED_INPUTS: dict[str, tuple[str, ...]] = {
    "age": (),
    "annual_income": INCOME_KEYS,
    "annual_expenses": EXPENSE_KEYS,
    "net_income": INCOME_KEYS + EXPENSE_KEYS,
    "total_debt": DEBT_KEYS,
    "debt_service": ("yearly_debt_service",),
    "labour_ratio": ("labourers", "members"),
    "debt_ratio": DEBT_KEYS + INCOME_KEYS,
}


@dataclass(frozen=True)
class Impact:
    """How a survey change reaches one factor of a scorecard: ``message`` (N_) with ``params``."""

    factor: str
    question: str
    code: str  # removed, type_changed, options_removed, options_unlisted
    message: str
    params: Mapping[str, object]


_IMPACT_MESSAGES = {
    "removed": N_("Factor %(factor)s reads the question %(question)s (%(key)s), which this version removes: "
                  "new applications will take its “no answer” bin, %(points)s points."),
    "removed_input": N_("Factor %(factor)s is computed from the question %(question)s (%(key)s), which this "
                        "version removes: it will be computed without that answer, or take its “no answer” "
                        "bin, %(points)s points."),
    "type_changed": N_("Factor %(factor)s reads the question %(question)s (%(key)s), whose type changes from "
                       "%(before)s to %(after)s: its bins no longer fit the answers, new applications will take its "
                       "“no answer” or “other answers” bin."),
    "options_removed": N_("Factor %(factor)s scores the answers %(values)s of the question %(question)s "
                          "(%(key)s), which this version no longer offers: those bins can no longer be reached."),
    "options_unlisted": N_("The new answers %(values)s of the question %(question)s (%(key)s) are in none of the "
                           "bins of factor %(factor)s: they will take its “other answers” bin, %(points)s points."),
}


def _questions_of(definition: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for section in (definition or {}).get("sections", ()) or ():
        for q in section.get("questions", ()) or ():
            if isinstance(q, Mapping) and isinstance(q.get("key"), str):
                out[q["key"]] = q
    return out


def _options_of(q: Mapping[str, Any]) -> set[str]:
    return {o.get("value") for o in q.get("options", ()) or () if isinstance(o, Mapping)}


def _type_label(code: object) -> str:
    from app.domain.survey import TYPE_LABELS

    return TYPE_LABELS.get(code, str(code)) if isinstance(code, str) else str(code)


def survey_change_impact(card: Scorecard, before: Mapping[str, Any] | None,
                         after: Mapping[str, Any]) -> list[Impact]:
    """What publishing the survey ``after`` in place of ``before`` (definitions in their dict form;
    None: the default survey) does to the factors of ``card``: a question a factor reads — itself
    or through a derived fact (``DERIVED_INPUTS``) — removed, or its type changed to another kind
    of answer; for a choice a factor scores, an answer its bins list no longer offered, or a new
    answer listed in no bin (it falls to the "other answers" bin). A question the old survey did
    not ask is not this change's doing and is not named. Labels, units, ranges and "required" do
    not change how an answer scores and are not named either. Ordered by factor, then question."""
    if before is None:
        from app.domain.survey import DEFAULT_SURVEY

        before = DEFAULT_SURVEY.to_dict()
    old, new = _questions_of(before), _questions_of(after)
    impacts: list[Impact] = []
    for f in card.factors:
        direct = f.fact not in DERIVED_INPUTS
        keys = (f.fact,) if direct else DERIVED_INPUTS[f.fact]
        for key in keys:
            was, now = old.get(key), new.get(key)
            if was is None:
                continue
            common = {"factor": f.label, "question": was.get("label") or key, "key": key}

            def add(code: str, **params: object) -> None:
                impacts.append(Impact(f.key, key, code, _IMPACT_MESSAGES[code], {**common, **params}))

            if now is None:
                add("removed" if direct else "removed_input", points=f.missing.points)
                continue
            kind_was, kind_now = _SURVEY_TYPE_KINDS.get(was.get("type")), _SURVEY_TYPE_KINDS.get(now.get("type"))
            if kind_was != kind_now:
                add("type_changed", before=_type_label(was.get("type")), after=_type_label(now.get("type")))
                continue
            if direct and kind_now == "choice" and f.type == "values":
                listed = {v for b in f.bins for v in b.values if isinstance(v, str)}
                gone = sorted((_options_of(was) - _options_of(now)) & listed)
                unlisted = sorted(_options_of(now) - _options_of(was) - listed)
                if gone:
                    add("options_removed", values="、".join(gone))
                if unlisted:
                    add("options_unlisted", values="、".join(unlisted),
                        points=f.other.points if f.other is not None else 0)
    return impacts


def _num(value: object) -> Decimal | None:
    """A number answer (decimal string, int or Decimal) or None when absent / not a number."""
    kind = type(value)  # exact types: bool (an int) and float are not numbers here
    if kind is str:
        try:
            d = Decimal(value)  # type: ignore[arg-type]  # surrounding blanks are allowed
        except (InvalidOperation, ValueError):
            return None
    elif kind is Decimal:
        d = value  # type: ignore[assignment]
    elif kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    else:
        return None
    return d if d.is_finite() else None


def _sum_known(answers: Mapping[str, object], keys: Iterable[str]) -> Decimal | None:
    """Sum of the answered ones; None when none of them is answered."""
    values = [v for v in (_num(answers.get(k)) for k in keys) if v is not None]
    return sum(values, Decimal(0)) if values else None


def derive_facts(answers: Mapping[str, object], *, age: int | None) -> dict[str, object]:
    """Every answer by its key plus the derived facts (exact Decimals; None when unknown):

    - age: the borrower's age in years (from the ID number; None when unknown);
    - annual_income: sum of the income answers (crop, livestock, wage, business, other) that are
      answered; None when none is;
    - annual_expenses: living + production expenses answered (0 when neither is);
    - net_income (纯收入): annual_income − annual_expenses; None when the income is unknown;
    - total_debt: formal + informal debt answered (0 when neither is);
    - debt_service: the yearly debt service answered (None when unanswered);
    - labour_ratio: labourers ÷ members, 4 places (None unless both are answered, members > 0);
    - debt_ratio (负债收入比): total_debt ÷ annual_income, 4 places (0 without debt; None when
      there is debt and no known income).
    """
    facts: dict[str, object] = dict(answers)
    income = _sum_known(answers, INCOME_KEYS)
    expenses = _sum_known(answers, EXPENSE_KEYS) or Decimal(0)
    debt = _sum_known(answers, DEBT_KEYS) or Decimal(0)
    members = _num(answers.get("members"))
    labourers = _num(answers.get("labourers"))
    facts["age"] = age if isinstance(age, int) and not isinstance(age, bool) else None
    facts["annual_income"] = income
    facts["annual_expenses"] = expenses
    facts["net_income"] = income - expenses if income is not None else None
    facts["total_debt"] = debt
    facts["debt_service"] = _num(answers.get("yearly_debt_service"))
    facts["labour_ratio"] = (
        (labourers / members).quantize(_RATIO_PLACES, ROUND_HALF_UP)
        if labourers is not None and members is not None and members > 0
        else None
    )
    if debt == 0:
        facts["debt_ratio"] = Decimal(0)
    elif income is not None and income > 0:
        facts["debt_ratio"] = (debt / income).quantize(_RATIO_PLACES, ROUND_HALF_UP)
    else:
        facts["debt_ratio"] = None
    return facts


# --- the card ----------------------------------------------------------------------------------

# Where a problem is: an N_ string, or an N_ string with its own params (see problem_text).
Where = str | tuple[str, dict[str, object]]


def problem_text(
    message: str, params: Mapping[str, object], gettext: Callable[[str], str]
) -> str:
    """A problem in words with the given translation function (the web passes gettext); the
    ``where`` parameter may itself be a (message, params) pair."""

    def one(v: object) -> object:
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], Mapping):
            return gettext(v[0]) % {k: one(x) for k, x in v[1].items()}
        if isinstance(v, str) and v:
            return gettext(v)
        return v

    return gettext(message) % {k: one(v) for k, v in params.items()}


_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FACTORS = 40
MAX_BINS = 20
MAX_POINTS = 1000
MAX_TEXT = 100
MAX_LABEL = 30


@dataclass(frozen=True)
class Bin:
    """One bin: ``[low, high)`` for a range factor (None = unbounded) or ``values``."""

    points: int
    reason: str
    low: Decimal | None = None
    high: Decimal | None = None
    values: tuple[str | bool, ...] = ()


@dataclass(frozen=True)
class Factor:
    key: str
    label: str
    fact: str
    type: str  # "range" or "values"
    bins: tuple[Bin, ...]
    missing: Bin
    other: Bin | None = None  # "values" factors: an answer listed in no bin

    def bin_for(self, value: object) -> Bin:
        """The one bin the value lands in."""
        if self.type == "range":
            number = _num(value)
            if number is None:
                return self.missing
            for b in self.bins:
                if (b.low is None or number >= b.low) and (b.high is None or number < b.high):
                    return b
            return self.missing  # unreachable: validated bins cover every number
        if value is None or (isinstance(value, str) and not value.strip()):
            return self.missing
        if not isinstance(value, (str, bool)):
            return self.missing
        for b in self.bins:
            for v in b.values:
                # True == 1 and "1" != True: compare the type too.
                if type(v) is type(value) and v == value:
                    return b
        assert self.other is not None
        return self.other


@dataclass(frozen=True)
class Grade:
    """A credit grade (信用等级): a score at least ``min_score`` earns it; ``max_amount`` caps."""

    min_score: int
    label: str
    max_amount: Decimal | None


@dataclass(frozen=True)
class LimitRules:
    grades: tuple[Grade, ...] = ()  # highest min_score first; empty = no grade cap
    income_multiple: Decimal | None = None
    repayment_share: Decimal | None = None
    capacity_years: Decimal = Decimal(1)
    step: Decimal = Decimal(1000)


@dataclass(frozen=True)
class Scorecard:
    base: int
    factors: tuple[Factor, ...]
    limit: LimitRules

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, fact_kinds: Mapping[str, str] | None = None
    ) -> Scorecard:
        """Validate and build. ``fact_kinds`` are the facts a factor may read with their kind
        (:func:`fact_kinds_from_survey`; default: the default survey's and the derived ones):
        "number" takes range bins, "choice" string values, "yesno" true/false; any other kind is
        not checked (a stored card read again).
        Raises ScorecardError carrying every problem found."""
        return _Parser(fact_kinds if fact_kinds is not None else DEFAULT_FACT_KINDS).card(d)

    def to_dict(self) -> dict[str, Any]:
        factors: list[dict[str, Any]] = []
        for f in self.factors:
            out: dict[str, Any] = {
                "key": f.key, "label": f.label, "fact": f.fact, "type": f.type,
                "bins": [_bin_to_dict(f.type, b) for b in f.bins],
            }
            if f.other is not None:
                out["other"] = {"points": f.other.points, "reason": f.other.reason}
            out["missing"] = {"points": f.missing.points, "reason": f.missing.reason}
            factors.append(out)
        lim = self.limit
        return {
            "base": self.base,
            "factors": factors,
            "limit": {
                "grades": [
                    {"min_score": g.min_score, "label": g.label,
                     "max_amount": _s(g.max_amount)}
                    for g in lim.grades
                ],
                "income_multiple": _s(lim.income_multiple),
                "repayment_share": _s(lim.repayment_share),
                "capacity_years": str(lim.capacity_years),
                "step": str(lim.step),
            },
        }

    def grade_for(self, score_value: int) -> Grade | None:
        for g in self.limit.grades:
            if score_value >= g.min_score:
                return g
        return None


def _s(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _bin_to_dict(kind: str, b: Bin) -> dict[str, Any]:
    if kind == "range":
        return {"min": _s(b.low), "max": _s(b.high), "points": b.points, "reason": b.reason}
    return {"values": list(b.values), "points": b.points, "reason": b.reason}


class _Parser:
    """Collects every problem (N_ message, params) before refusing."""

    def __init__(self, fact_kinds: Mapping[str, str]) -> None:
        self.kinds = fact_kinds
        self.problems: list[tuple[str, dict[str, object]]] = []

    def bad(self, message: str, **params: object) -> None:
        self.problems.append((message, params))

    def card(self, d: Mapping[str, Any]) -> Scorecard:
        if not isinstance(d, Mapping):
            raise ScorecardError(N_("The scorecard must be a JSON object"))
        unknown = sorted(set(d) - {"base", "factors", "limit"})
        for name in unknown:
            self.bad(N_("Unknown scorecard field %(field)s"), field=name)
        base = self.points(d.get("base", 0), N_("Base points"))
        raw_factors = d.get("factors")
        factors: list[Factor] = []
        if not isinstance(raw_factors, list) or not raw_factors:
            self.bad(N_("The scorecard needs at least one factor"))
        elif len(raw_factors) > MAX_FACTORS:
            self.bad(N_("A scorecard has at most %(max)s factors"), max=MAX_FACTORS)
        else:
            seen: set[str] = set()
            for i, raw in enumerate(raw_factors, start=1):
                f = self.factor(i, raw)
                if f is None:
                    continue
                if f.key in seen:
                    self.bad(N_("Factor %(factor)s: the key %(key)s is used twice"),
                             factor=i, key=f.key)
                seen.add(f.key)
                factors.append(f)
        limit = self.limit(d.get("limit", {}))
        if self.problems:
            message, params = self.problems[0]
            raise ScorecardError(message, params, self.problems)
        assert limit is not None
        return Scorecard(base=base, factors=tuple(factors), limit=limit)

    def points(self, value: object, where: Where) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(N_("%(where)s: points must be a whole number"), where=where)
            return 0
        if abs(value) > MAX_POINTS:
            self.bad(N_("%(where)s: points must be between -%(max)s and %(max)s"),
                     where=where, max=MAX_POINTS)
            return 0
        return value

    def text(self, value: object, name: str, max_len: int, **ctx: object) -> str:
        if not isinstance(value, str) or not value.strip():
            self.bad(N_("%(where)s: %(name)s is required"), name=name, **ctx)
            return ""
        if len(value.strip()) > max_len:
            self.bad(N_("%(where)s: %(name)s is longer than %(max)s characters"),
                     name=name, max=max_len, **ctx)
        return value.strip()

    def decimal(self, value: object, **ctx: object) -> Decimal | None:
        """A decimal written as text (or an int); JSON floats are refused (they drift)."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.bad(N_("%(where)s: %(value)s is not a number written as text, e.g. \"1.5\""),
                     value=value, **ctx)
            return None
        try:
            d = Decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, ValueError):
            self.bad(N_("%(where)s: %(value)s is not a number"), value=value, **ctx)
            return None
        if not d.is_finite():
            self.bad(N_("%(where)s: %(value)s is not a number"), value=value, **ctx)
            return None
        return d

    def simple_bin(self, raw: object, where: Where) -> Bin:
        if not isinstance(raw, Mapping):
            self.bad(N_("%(where)s is required"), where=where)
            return Bin(0, "")
        pts = self.points(raw.get("points"), where)
        reason = self.text(raw.get("reason"), N_("reason"), MAX_TEXT, where=where)
        return Bin(pts, reason)

    def factor(self, i: int, raw: object) -> Factor | None:
        where: Where = (N_("Factor %(factor)s"), {"factor": i})
        if not isinstance(raw, Mapping):
            self.bad(N_("Factor %(factor)s must be a JSON object"), factor=i)
            return None
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            self.bad(N_("Factor %(factor)s: the key must be lower-case letters, digits and _"),
                     factor=i)
            key = f"factor_{i}"
        label = self.text(raw.get("label"), N_("label"), MAX_LABEL, where=where)
        name = label or i
        where = (N_("Factor %(factor)s"), {"factor": name})
        fact = raw.get("fact")
        kind = self.kinds.get(fact) if isinstance(fact, str) else None
        if kind is None:
            self.bad(N_("%(where)s: %(fact)s is not a survey question or derived fact that can "
                        "be scored"), where=where, fact=fact)
        ftype = raw.get("type")
        if ftype not in ("range", "values"):
            self.bad(N_("%(where)s: the type must be range or values"), where=where)
            return None
        if kind == "number" and ftype != "range":
            self.bad(N_("%(where)s: %(fact)s is a number, its bins must be ranges"),
                     where=where, fact=fact)
        elif kind in ("choice", "yesno") and ftype == "range":
            self.bad(N_("%(where)s: %(fact)s is an answer chosen from a list, its bins must list "
                        "values"), where=where, fact=fact)
        raw_bins = raw.get("bins")
        if not isinstance(raw_bins, list) or not raw_bins:
            self.bad(N_("%(where)s: at least one bin is required"), where=where)
            raw_bins = []
        elif len(raw_bins) > MAX_BINS:
            self.bad(N_("%(where)s: at most %(max)s bins"), where=where, max=MAX_BINS)
            raw_bins = []
        missing = self.simple_bin(
            raw.get("missing"), (N_("Factor %(factor)s, no answer"), {"factor": name})
        )
        if ftype == "range":
            bins = self.range_bins(where, name, raw_bins)
            if "other" in raw:
                self.bad(N_("%(where)s: a range factor has no 'other' bin"), where=where)
            other = None
        else:
            bins = self.value_bins(name, raw_bins, kind)
            other = self.simple_bin(
                raw.get("other"), (N_("Factor %(factor)s, other answers"), {"factor": name})
            )
        extra = sorted(set(raw) - {"key", "label", "fact", "type", "bins", "missing", "other"})
        for field in extra:
            self.bad(N_("%(where)s: unknown field %(field)s"), where=where, field=field)
        return Factor(key, label, str(fact), ftype, tuple(bins), missing, other)

    def range_bins(self, where: Where, name: object, raw_bins: list[Any]) -> list[Bin]:
        bins: list[Bin] = []
        for j, rb in enumerate(raw_bins, start=1):
            bwhere: Where = (N_("Factor %(factor)s, bin %(bin)s"), {"factor": name, "bin": j})
            if not isinstance(rb, Mapping):
                self.bad(N_("%(where)s must be a JSON object"), where=bwhere)
                continue
            low = None if rb.get("min") is None else self.decimal(rb.get("min"), where=bwhere)
            high = None if rb.get("max") is None else self.decimal(rb.get("max"), where=bwhere)
            if low is not None and high is not None and low >= high:
                self.bad(N_("%(where)s: the lower bound %(min)s is not below the upper bound "
                            "%(max)s"), where=bwhere, min=str(low), max=str(high))
            pts = self.points(rb.get("points"), bwhere)
            reason = self.text(rb.get("reason"), N_("reason"), MAX_TEXT, where=bwhere)
            bins.append(Bin(pts, reason, low=low, high=high))
        if not bins or len(bins) != len(raw_bins):
            return bins
        if bins[0].low is not None:
            self.bad(N_("%(where)s: the first bin must have no lower bound (it takes every value "
                        "below the second)"), where=where)
        if bins[-1].high is not None:
            self.bad(N_("%(where)s: the last bin must have no upper bound (it takes every value "
                        "above the one before)"), where=where)
        for j in range(len(bins) - 1):
            a, b = bins[j], bins[j + 1]
            if a.high is None or b.low is None:
                self.bad(N_("%(where)s: only the first bin may have no lower bound and only the "
                            "last no upper bound"), where=where)
                break
            if a.high < b.low:
                self.bad(N_("%(where)s: gap between %(max)s and %(min)s (bins %(a)s and %(b)s)"),
                         where=where, max=str(a.high), min=str(b.low), a=j + 1, b=j + 2)
            elif a.high > b.low:
                self.bad(N_("%(where)s: bins %(a)s and %(b)s overlap between %(min)s and "
                            "%(max)s"), where=where, a=j + 1, b=j + 2, min=str(b.low),
                         max=str(a.high))
        return bins

    def value_bins(self, name: object, raw_bins: list[Any], kind: str | None) -> list[Bin]:
        bins: list[Bin] = []
        seen: dict[tuple[type, object], int] = {}
        for j, rb in enumerate(raw_bins, start=1):
            bwhere: Where = (N_("Factor %(factor)s, bin %(bin)s"), {"factor": name, "bin": j})
            if not isinstance(rb, Mapping):
                self.bad(N_("%(where)s must be a JSON object"), where=bwhere)
                continue
            values = rb.get("values")
            if not isinstance(values, list) or not values:
                self.bad(N_("%(where)s: list at least one value"), where=bwhere)
                values = []
            clean: list[str | bool] = []
            for v in values:
                want = bool if kind == "yesno" else str if kind == "choice" else (str, bool)
                if not isinstance(v, want) or (isinstance(v, str) and not v.strip()):
                    self.bad(N_("%(where)s: %(value)s is not a possible answer"),
                             where=bwhere, value=v)
                    continue
                if (type(v), v) in seen:
                    self.bad(N_("%(where)s: the value %(value)s is already in bin %(other)s"),
                             where=bwhere, value=v, other=seen[(type(v), v)])
                    continue
                seen[(type(v), v)] = j
                clean.append(v)
            pts = self.points(rb.get("points"), bwhere)
            reason = self.text(rb.get("reason"), N_("reason"), MAX_TEXT, where=bwhere)
            bins.append(Bin(pts, reason, values=tuple(clean)))
        return bins

    def limit(self, raw: object) -> LimitRules | None:
        where = N_("Limit rules")
        if not isinstance(raw, Mapping):
            self.bad(N_("The limit rules must be a JSON object"))
            return None
        extra = sorted(set(raw) - {"grades", "income_multiple", "repayment_share",
                                   "capacity_years", "step"})
        for name in extra:
            self.bad(N_("%(where)s: unknown field %(field)s"), where=where, field=name)

        def positive(name: str, label: str, default: Decimal | None, *, at_most: Decimal | None
                     = None) -> Decimal | None:
            value = raw.get(name, None if default is None else str(default))
            if value is None:
                return None
            d = self.decimal(value, where=label)
            if d is None:
                return default
            if d <= 0:
                self.bad(N_("%(where)s must be above 0"), where=label)
            elif at_most is not None and d > at_most:
                self.bad(N_("%(where)s cannot be above %(max)s"), where=label, max=str(at_most))
            return d

        income_multiple = positive("income_multiple", N_("Times the net income"), None,
                                   at_most=Decimal(100))
        share = positive("repayment_share", N_("Share of the repayment capacity"), None,
                         at_most=Decimal(1))
        years = positive("capacity_years", N_("Years of repayment capacity"), Decimal(1),
                         at_most=Decimal(30))
        step_max = Decimal(1000000)
        step = positive("step", N_("Rounding step"), Decimal(1000), at_most=step_max)
        # Only a step within bounds is rounded: quantize raises past the context's 28 digits ("1e30").
        if step is not None and 0 < step <= step_max and step != step.quantize(Decimal("0.01")):
            self.bad(N_("%(where)s cannot have more than 2 decimal places"), where=N_("Rounding step"))
        grades: list[Grade] = []
        raw_grades = raw.get("grades", [])
        if not isinstance(raw_grades, list):
            self.bad(N_("The credit grades must be a list"))
            raw_grades = []
        for j, rg in enumerate(raw_grades, start=1):
            gwhere: Where = (N_("Credit grade %(grade)s"), {"grade": j})
            if not isinstance(rg, Mapping):
                self.bad(N_("%(where)s must be a JSON object"), where=gwhere)
                continue
            ms = rg.get("min_score")
            if isinstance(ms, bool) or not isinstance(ms, int) or abs(ms) > 100 * MAX_POINTS:
                self.bad(N_("%(where)s: the lowest score must be a whole number"), where=gwhere)
                ms = 0
            label = self.text(rg.get("label"), N_("label"), MAX_LABEL, where=gwhere)
            cap = rg.get("max_amount")
            cap_d = None if cap is None else self.decimal(cap, where=gwhere)
            if cap_d is not None and cap_d < 0:
                self.bad(N_("%(where)s: the maximum amount cannot be negative"), where=gwhere)
            grades.append(Grade(ms, label, cap_d))
        for j in range(len(grades) - 1):
            if grades[j].min_score <= grades[j + 1].min_score:
                self.bad(N_("The credit grades must go from the highest lowest score down "
                            "(grade %(a)s: %(x)s, grade %(b)s: %(y)s)"),
                         a=j + 1, b=j + 2, x=grades[j].min_score, y=grades[j + 1].min_score)
        return LimitRules(
            grades=tuple(grades),
            income_multiple=income_multiple,
            repayment_share=share,
            capacity_years=years if years is not None else Decimal(1),
            step=step if step is not None and step > 0 else Decimal(1000),
        )


# --- scoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    factor: str
    label: str
    value: object  # the fact as JSON: decimal string, str, bool or None
    points: int
    reason: str
    fact: str = ""  # the survey question or derived fact read


@dataclass(frozen=True)
class ScoreResult:
    score: int
    base: int
    contributions: tuple[Contribution, ...]
    reasons: tuple[str, ...]  # the institution's reason texts, one per factor

    def to_detail(self) -> dict[str, Any]:
        """JSON stored in Application.score_detail / HouseholdSurvey.score_detail."""
        return {
            "score": self.score,
            "base": self.base,
            "contributions": [
                {"factor": c.factor, "label": c.label, "value": c.value, "points": c.points,
                 "reason": c.reason, "fact": c.fact}
                for c in self.contributions
            ],
            "reasons": list(self.reasons),
        }


def _json_value(value: object) -> object:
    if value is None or type(value) is str or type(value) is bool:
        return value
    if isinstance(value, (int, Decimal)):
        return str(value)
    return str(value)


def score(card: Scorecard, facts: Mapping[str, object]) -> ScoreResult:
    """Base points plus, for each factor, the points of the one bin its fact lands in."""
    total = card.base
    contributions: list[Contribution] = []
    for f in card.factors:
        value = facts.get(f.fact)
        b = f.bin_for(value)
        total += b.points
        contributions.append(
            Contribution(f.key, f.label, _json_value(value), b.points, b.reason, f.fact)
        )
    return ScoreResult(total, card.base, tuple(contributions), tuple(c.reason for c in contributions))


def score_range(card: Scorecard) -> tuple[int, int]:
    """The lowest and the highest score the card can give: the base plus every factor's lowest
    (highest) bin, its "no answer" and "other answers" bins included. A bound over every possible
    fact: a derived fact may not reach every bin (a debt ratio is never below 0).

    A score below 0 is possible and kept as it adds up. The shipped card's penalties (no income,
    debts over twice the income, a poor committee rating) are meant to put such a household far
    below every grade — its lowest score is −33 — and clamping at 0 would make all of them tie,
    so the back-test could no longer tell how they rank among themselves. Band tables and routing
    rules compare the score as it is: a negative score is in the lowest band and below any
    threshold, and the editor shows this range beside the grades."""
    low = high = card.base
    for f in card.factors:
        points = [b.points for b in (*f.bins, f.missing, *((f.other,) if f.other is not None else ()))]
        low += min(points)
        high += max(points)
    return low, high


def unreachable_grades(card: Scorecard) -> list[Grade]:
    """The credit grades whose lowest score is above the highest score the card can give."""
    high = score_range(card)[1]
    return [g for g in card.limit.grades if g.min_score > high]


@dataclass(frozen=True)
class LimitReason:
    """One step of the limit; ``message`` is an N_ string formatted with ``params``."""

    code: str
    message: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class LimitResult:
    amount: Decimal
    grade: str | None
    reasons: tuple[LimitReason, ...]

    def to_detail(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount),
            "grade": self.grade,
            "reasons": [
                {"code": r.code, "message": r.message, "params": dict(r.params)}
                for r in self.reasons
            ],
        }


def _yuan(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"


def suggested_limit(
    card: Scorecard,
    facts: Mapping[str, object],
    product_max: Decimal,
    *,
    result: ScoreResult | None = None,
) -> LimitResult:
    """The smallest of the switched-on caps, rounded down to the step; 0 at worst. ``result``:
    the score already computed for these facts (saves scoring twice)."""
    rules = card.limit
    result = result if result is not None else score(card, facts)
    reasons: list[LimitReason] = []

    def add(code: str, message: str, **params: object) -> None:
        reasons.append(LimitReason(code, message, {k: str(v) for k, v in params.items()}))

    caps: list[Decimal] = [max(Decimal(0), product_max)]
    add("product_max", N_("Product maximum %(amount)s"), amount=_yuan(product_max))
    grade = card.grade_for(result.score)
    if rules.grades:
        if grade is None:
            lowest = rules.grades[-1]
            add("below_grades", N_("Score %(score)s is below the lowest credit grade %(grade)s "
                                   "(%(min)s): no credit suggested"),
                score=result.score, grade=lowest.label, min=lowest.min_score)
            return LimitResult(Decimal(0), None, tuple(reasons))
        if grade.max_amount is not None:
            caps.append(grade.max_amount)
            add("grade", N_("Credit grade %(grade)s (score %(score)s): at most %(amount)s"),
                grade=grade.label, score=result.score, amount=_yuan(grade.max_amount))
        else:
            add("grade_open", N_("Credit grade %(grade)s (score %(score)s)"),
                grade=grade.label, score=result.score)
    net = _num(facts.get("net_income"))
    if rules.income_multiple is not None or rules.repayment_share is not None:
        if net is None:
            add("income_unknown", N_("Net household income unknown: no credit suggested"))
            return LimitResult(Decimal(0), grade.label if grade else None, tuple(reasons))
    if rules.income_multiple is not None:
        assert net is not None
        cap = net * rules.income_multiple
        caps.append(cap)
        add("income", N_("%(multiple)s × net income %(net)s = %(amount)s"),
            multiple=rules.income_multiple, net=_yuan(net), amount=_yuan(max(cap, Decimal(0))))
    if rules.repayment_share is not None:
        assert net is not None
        service = _num(facts.get("debt_service"))
        if service is None:
            add("service_unknown", N_("Yearly service of existing debts not given: counted as 0"))
            service = Decimal(0)
        capacity = (net - service) * rules.repayment_share * rules.capacity_years
        caps.append(capacity)
        add("capacity",
            N_("(net income %(net)s − existing debt service %(service)s) × %(share)s × "
               "%(years)s years = %(amount)s"),
            net=_yuan(net), service=_yuan(service), share=rules.repayment_share,
            years=rules.capacity_years, amount=_yuan(max(capacity, Decimal(0))))
    amount = max(Decimal(0), min(caps))
    step = rules.step
    rounded = (amount / step).to_integral_value(rounding=ROUND_DOWN) * step
    rounded = rounded.quantize(Decimal("0.01"))
    add("rounded", N_("Rounded down to a multiple of %(step)s: %(amount)s"),
        step=_yuan(step), amount=_yuan(rounded))
    return LimitResult(rounded, grade.label if grade else None, tuple(reasons))


# --- the shipped default ------------------------------------------------------------------------


def _r(lo: str | None, hi: str | None, points: int, reason: str) -> dict[str, Any]:
    return {"min": lo, "max": hi, "points": points, "reason": reason}


DEFAULT_SCORECARD: dict[str, Any] = {
    "base": 12,
    "factors": [
        {"key": "age", "label": "年龄", "fact": "age", "type": "range", "bins": [
            _r(None, "22", 0, "年龄22岁以下，生产经营经验不足"),
            _r("22", "30", 6, "22-29岁，青年劳动力"),
            _r("30", "51", 10, "30-50岁，主要劳动年龄"),
            _r("51", "61", 6, "51-60岁，劳动能力尚可"),
            _r("61", None, 0, "60岁以上，劳动能力下降")],
         "missing": {"points": 0, "reason": "年龄未知"}},
        {"key": "net_income", "label": "家庭年纯收入", "fact": "net_income", "type": "range",
         "bins": [
            _r(None, "0", -10, "年纯收入为负，入不敷出"),
            _r("0", "10000", 0, "年纯收入不足1万元"),
            _r("10000", "30000", 8, "年纯收入1-3万元"),
            _r("30000", "60000", 14, "年纯收入3-6万元"),
            _r("60000", None, 20, "年纯收入6万元以上")],
         "missing": {"points": -10, "reason": "收入未调查"}},
        {"key": "debt_ratio", "label": "负债收入比", "fact": "debt_ratio", "type": "range",
         "bins": [
            _r(None, "0.0001", 10, "无负债"),
            _r("0.0001", "0.5", 6, "负债不足年收入的一半"),
            _r("0.5", "1", 0, "负债为年收入的0.5-1倍"),
            _r("1", "2", -8, "负债为年收入的1-2倍，负担较重"),
            _r("2", None, -15, "负债超过年收入的2倍，负担过重")],
         "missing": {"points": -15, "reason": "有负债但无收入"}},
        {"key": "land", "label": "耕种土地", "fact": "land_mu", "type": "range", "bins": [
            _r(None, "2", 0, "耕地不足2亩"),
            _r("2", "10", 4, "耕地2-10亩"),
            _r("10", "30", 7, "耕地10-30亩"),
            _r("30", None, 8, "耕地30亩以上，种植大户")],
         "missing": {"points": 0, "reason": "耕地未填"}},
        {"key": "livestock", "label": "牲畜", "fact": "livestock_heads", "type": "range", "bins": [
            _r(None, "1", 0, "无牲畜"),
            _r("1", "10", 3, "牲畜1-9头"),
            _r("10", None, 5, "牲畜10头以上，养殖户")],
         "missing": {"points": 0, "reason": "牲畜未填"}},
        {"key": "years_in_village", "label": "在本村居住年限", "fact": "years_in_village",
         "type": "range", "bins": [
            _r(None, "3", -5, "在本村居住不足3年"),
            _r("3", "10", 3, "在本村居住3-9年"),
            _r("10", None, 6, "在本村居住10年以上，根基稳定")],
         "missing": {"points": -5, "reason": "居住年限未知"}},
        {"key": "committee_rating", "label": "村委评议", "fact": "committee_rating",
         "type": "values", "bins": [
            {"values": ["excellent"], "points": 15, "reason": "村委评议：好"},
            {"values": ["good"], "points": 10, "reason": "村委评议：较好"},
            {"values": ["fair"], "points": 3, "reason": "村委评议：一般"},
            {"values": ["poor"], "points": -15, "reason": "村委评议：差"}],
         "other": {"points": 0, "reason": "村委评议结果不明"},
         "missing": {"points": 0, "reason": "村委未评议"}},
        {"key": "house_type", "label": "住房", "fact": "house_type", "type": "values", "bins": [
            {"values": ["brick_concrete"], "points": 6, "reason": "砖混住房"},
            {"values": ["brick_wood"], "points": 3, "reason": "砖木住房"},
            {"values": ["earth"], "points": 0, "reason": "土坯住房"}],
         "other": {"points": 0, "reason": "其他住房"},
         "missing": {"points": 0, "reason": "住房未填"}},
        {"key": "labour_ratio", "label": "劳动力占比", "fact": "labour_ratio", "type": "range",
         "bins": [
            _r(None, "0.25", 0, "劳动力不足家庭人口的四分之一"),
            _r("0.25", "0.5", 3, "劳动力占家庭人口四分之一到一半"),
            _r("0.5", None, 6, "劳动力占家庭人口一半以上")],
         "missing": {"points": 0, "reason": "劳动力未填"}},
        {"key": "has_vehicle", "label": "农用车", "fact": "has_vehicle", "type": "values",
         "bins": [
            {"values": [True], "points": 2, "reason": "有农用车"},
            {"values": [False], "points": 0, "reason": "无农用车"}],
         "other": {"points": 0, "reason": "农用车不明"},
         "missing": {"points": 0, "reason": "农用车未填"}},
    ],
    "limit": {
        "grades": [
            {"min_score": 85, "label": "优秀", "max_amount": "200000"},
            {"min_score": 70, "label": "较好", "max_amount": "100000"},
            {"min_score": 60, "label": "一般", "max_amount": "50000"},
        ],
        "income_multiple": "1.5",
        "repayment_share": "0.7",
        "capacity_years": "1",
        "step": "1000",
    },
}

# Fail at import if the shipped default is ever edited into an invalid card.
Scorecard.from_dict(DEFAULT_SCORECARD)
