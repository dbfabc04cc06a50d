"""The points scorecard per product, versioned, and the score of an application (app.domain.scorecard).

- ``current_version(product_id)``: the product's latest ``ScorecardVersion``. A product without
  one (every product created before scorecards, and every new one) gets version 1 from the shipped
  default (``scorecard.DEFAULT_SCORECARD``) on the first call, in the caller's transaction (a
  savepoint, so two first calls at once end with one version 1), audited ``scorecard_published``
  with ``default: true`` — the same rule as the survey (both in app/services/definition_versions.py). No product is
  ever without a scorecard.
- ``publish(product_id, definition, actor)``: checks the definition whole against the product's
  current survey (a factor may read its number, money, choice and yes/no questions and the derived
  facts), refusing with every problem (``ScorecardRefused``); writes a new version only if it
  differs, audits ``scorecard_published`` (version before and after) and commits. Applications
  already past first-level review keep the score they were routed with; the others are scored
  again with the new version when their answers change and at the first-level pass.
- ``score_application(app)``: scores the application's survey answers with the product's current
  scorecard and sets ``score``, ``score_detail`` (each factor's points and reason, the suggested
  limit's steps, the scorecard version) and ``suggested_limit``. No answers (captured before
  surveys, or none yet): all three set to None — the application is *unscored*, which the routing
  rules treat as failing the score rules. No commit. Called by the survey's writers when answers
  arrive or change, and at the first-level pass (``applications.step``) so routing sees the latest.
- ``score_answers(product_id, answers, age)``: the same for answers not (yet) on an application
  (the village campaign's household surveys).
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app import clock
from app.domain import scorecard as rules
from app.domain.i18n import N_
from app.domain.scorecard import LimitResult, Scorecard, ScorecardError, ScoreResult
from app.extensions import db
from app.models import Application, Product, ScorecardVersion, SurveyVersion, User
from app.services import definition_versions as versioned
from app.services.errors import NotFound, ServiceError

__all__ = [
    "ScorecardConflict",
    "ScorecardRefused",
    "card_of",
    "current_card",
    "current_version",
    "fact_kinds",
    "publish",
    "score_answers",
    "score_application",
    "versions",
]


class ScorecardRefused(ServiceError):
    """A scorecard with problems; ``problems`` = [(N_ message, params)], every one of them."""

    def __init__(self, error: ScorecardError) -> None:
        super().__init__(
            "scorecard_invalid", N_("The scorecard has %(count)s problem(s); nothing was saved."),
            fields={str(i): p for i, p in enumerate(error.problems)}, count=len(error.problems),
        )
        self.problems = list(error.problems)


class ScorecardConflict(ServiceError):
    def __init__(self, version: int) -> None:
        super().__init__(
            "scorecard_changed",
            N_("Someone else published version %(version)s of this scorecard meanwhile; reload the "
               "page and make your change again."),
            version=version,
        )


# --- versions -----------------------------------------------------------------------------------

# A version row never changes: its parsed card is kept by id.
_CARDS: dict[int, tuple[dict, Scorecard]] = {}
_CARDS_MAX = 256


def _default_card() -> dict[str, Any]:
    return Scorecard.from_dict(rules.DEFAULT_SCORECARD).to_dict()


def current_version(product_id: int) -> ScorecardVersion:
    """The product's latest scorecard version; version 1 from the default if it has none yet."""
    return versioned.current(ScorecardVersion, product_id, _default_card, "scorecard_published")


def ensure_current(product_id: int) -> ScorecardVersion:
    """``current_version`` for a page that only reads: version 1 made on the way is committed."""
    version = current_version(product_id)
    db.session.commit()
    return version


def history(product_id: int) -> list[dict[str, Any]]:
    """The versions for the editor: version, who published it, when, how many factors, current."""
    rows = versions(product_id)
    names = versioned.authors(rows)
    return [{"version": r.version, "who": names.get(r.created_by_id, ""), "at": r.created_at,
             "factors": len((r.definition or {}).get("factors", [])), "base": (r.definition or {}).get("base"),
             "current": i == 0} for i, r in enumerate(rows)]


def versions(product_id: int) -> list[ScorecardVersion]:
    """Every version of the product's scorecard, newest first (the current one made if none)."""
    current_version(product_id)
    return versioned.every(ScorecardVersion, product_id)


def _stored_kinds(definition: Mapping[str, Any]) -> dict[str, str]:
    """Every fact a stored card reads is allowed; its kind is checked where known."""
    kinds = {f.get("fact"): "any" for f in definition.get("factors", ()) if isinstance(f, Mapping)
             and isinstance(f.get("fact"), str)}
    return {**kinds, **rules.DEFAULT_FACT_KINDS}


def card_of(version: ScorecardVersion) -> Scorecard:
    """The parsed card of a stored version (read without the survey check: it was checked when
    published, and a later survey change must not stop scoring — a missing question takes the
    factor's "no answer" bin). Kept by row id, with the definition it was parsed from: a row id
    used again after a delete (SQLite reuses them) is parsed afresh."""
    cached = _CARDS.get(version.id) if version.id is not None else None
    if cached is not None and cached[0] == version.definition:
        return cached[1]
    card = Scorecard.from_dict(version.definition, fact_kinds=_stored_kinds(version.definition))
    if version.id is not None:
        if len(_CARDS) >= _CARDS_MAX:
            _CARDS.clear()
        _CARDS[version.id] = (copy.deepcopy(version.definition), card)
    return card


def current_card(product_id: int) -> Scorecard:
    """The product's current card (version 1 from the default made if it has none; commit after
    it in a read, or it is made again next time). NotFound for an unknown product."""
    return card_of(current_version(product_id))


def fact_kinds(product_id: int) -> dict[str, str]:
    """What a factor of this product may read: the latest survey's scorable questions (the
    default survey's while the product has none) and the derived facts."""
    survey = versioned.latest(SurveyVersion, product_id)
    return rules.fact_kinds_from_survey(survey.definition if survey is not None else None)


def parse(product_id: int, definition: object) -> Scorecard:
    """The definition checked whole for this product; ``ScorecardRefused`` with every problem."""
    if not isinstance(definition, Mapping):
        raise ScorecardRefused(ScorecardError(N_("The scorecard must be a JSON object")))
    try:
        return Scorecard.from_dict(definition, fact_kinds=fact_kinds(product_id))
    except ScorecardError as e:
        raise ScorecardRefused(e) from None


def publish(product_id: int, definition: object, actor: User | None, *,
            expected_version: int | None = None, ip: str = "") -> tuple[ScorecardVersion, bool]:
    """Publish a new version of the product's scorecard if ``definition`` differs from the current.

    Returns (the current version after, whether a new one was written). Refuses with every problem
    (``ScorecardRefused``, nothing written), or ``ScorecardConflict`` when ``expected_version`` is
    given and someone published since. Commits."""
    if db.session.get(Product, product_id) is None:
        raise NotFound("product", product_id)
    card = parse(product_id, definition)
    current = current_version(product_id)
    if expected_version is not None and current.version != expected_version:
        db.session.rollback()
        raise ScorecardConflict(current.version)
    if card_of(current) == card:
        db.session.commit()  # version 1 made just now, if it was
        return current, False
    row = versioned.write_next(ScorecardVersion, product_id, current.version, card.to_dict(), actor,
                               "scorecard_published", ScorecardConflict, ip=ip, factors=len(card.factors),
                               base=card.base)
    return row, True


# --- scoring ------------------------------------------------------------------------------------


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _score(version: ScorecardVersion, answers: Mapping[str, Any], age: int | None,
           product_max: Decimal) -> tuple[ScoreResult, LimitResult]:
    card = card_of(version)
    facts = rules.derive_facts(answers, age=age)
    result = rules.score(card, facts)
    return result, rules.suggested_limit(card, facts, product_max, result=result)


def detail(version: ScorecardVersion, result: ScoreResult, limit: LimitResult) -> dict[str, Any]:
    """The JSON kept in score_detail: the score's detail, the limit's and the version used."""
    return {**result.to_detail(), "limit": limit.to_detail(), "scorecard_version": version.version,
            "scorecard_version_id": version.id}


def score_application(app: Application, *, today: date | None = None) -> None:
    """Score the application's survey answers with its product's current scorecard (no commit).

    Sets score, score_detail and suggested_limit; all None when there are no answers."""
    answers = app.survey_answers
    if not answers:
        app.score = None
        app.score_detail = None
        app.suggested_limit = None
        return
    version = current_version(app.product_id)
    age = _age(app.borrower.birth_date if app.borrower is not None else None,
               today or clock.business_today())
    result, limit = _score(version, answers, age, app.product.max_amount)
    app.score = result.score
    app.score_detail = detail(version, result, limit)
    app.suggested_limit = limit.amount


def score_answers(product_id: int, answers: Mapping[str, Any],
                  age: int | None) -> tuple[ScoreResult, LimitResult] | None:
    """Score answers with the product's current scorecard; None when the product does not exist."""
    product = db.session.get(Product, product_id)
    if product is None:
        return None
    return _score(current_version(product_id), answers or {}, age, product.max_amount)


# --- demo ---------------------------------------------------------------------------------------


def seed_demo() -> int:
    """The demo's products get the default scorecard (version 1) and every application with
    survey answers its score. Returns how many applications were scored. No commit."""
    for product_id in db.session.scalars(select(Product.id)):
        current_version(product_id)
    scored = 0
    for app in db.session.scalars(select(Application).where(Application.score.is_(None))):
        if app.survey_answers:
            score_application(app)
            scored += 1
    return scored


# --- the admin's editor: the card as form rows and back -----------------------------------------

DERIVED_LABELS: dict[str, str] = {
    "age": N_("Age (from the ID number)"),
    "annual_income": N_("Yearly income (sum of the incomes)"),
    "annual_expenses": N_("Yearly expenses (living and production)"),
    "net_income": N_("Net yearly income (income less expenses)"),
    "total_debt": N_("Total debt (formal and informal)"),
    "debt_service": N_("Yearly debt service"),
    "labour_ratio": N_("Labourers per household member"),
    "debt_ratio": N_("Debt to yearly income"),
}
_YES = {"true", "yes", "y", "1", "是", "有"}
_NO = {"false", "no", "n", "0", "否", "无"}
_SPLIT = re.compile(r"[,，、;；\s]+")
_INT = re.compile(r"[-−]?[0-9]+")
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"－": "-", "．": "."})


def fact_choices(product_id: int) -> list[tuple[str, str, str]]:
    """(key, label, kind) of every fact a factor may read: the latest survey's scorable questions
    (their own labels) then the derived facts (N_ labels)."""
    survey = versioned.latest(SurveyVersion, product_id)
    definition = survey.definition if survey is not None else None
    if definition is None:
        from app.domain import survey as survey_rules

        definition = survey_rules.default_definition()
    out: list[tuple[str, str, str]] = []
    kinds = rules.fact_kinds_from_survey(definition)
    for section in definition.get("sections", ()):
        for q in section.get("questions", ()):
            if q.get("key") in kinds and q.get("key") not in rules.DERIVED_FACTS:
                out.append((q["key"], q.get("label") or q["key"], kinds[q["key"]]))
    out.extend((k, DERIVED_LABELS[k], v) for k, v in rules.DERIVED_FACTS.items())
    return out


def _text(value: object) -> str:
    return "" if value is None else str(value)


def to_rows(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A card (its dict) as the editor's rows of text."""
    factors = []
    for f in definition.get("factors", ()):
        bins = []
        for b in f.get("bins", ()):
            values = [("是" if v else "否") if isinstance(v, bool) else str(v) for v in b.get("values", ())]
            bins.append({"min": _text(b.get("min")), "max": _text(b.get("max")), "values": ", ".join(values),
                         "points": _text(b.get("points")), "reason": _text(b.get("reason"))})
        missing, other = f.get("missing") or {}, f.get("other") or {}
        factors.append({"key": _text(f.get("key")), "label": _text(f.get("label")), "fact": _text(f.get("fact")),
                        "bins": bins, "missing_points": _text(missing.get("points")),
                        "missing_reason": _text(missing.get("reason")),
                        "other_points": _text(other.get("points")), "other_reason": _text(other.get("reason"))})
    limit = definition.get("limit") or {}
    return {
        "base": _text(definition.get("base")),
        "factors": factors,
        "grades": [{"min_score": _text(g.get("min_score")), "label": _text(g.get("label")),
                    "max_amount": _text(g.get("max_amount"))} for g in limit.get("grades", ())],
        **{name: _text(limit.get(name)) for name in ("income_multiple", "repayment_share", "capacity_years", "step")},
    }


def _points(text: str) -> object:
    """A typed whole number as an int; anything else as typed, for the card's check to name."""
    clean = "".join(text.split()).translate(_FULLWIDTH).replace("−", "-")
    return int(clean) if _INT.fullmatch(clean) else text


def _number(text: str) -> str | None:
    clean = "".join(text.split()).translate(_FULLWIDTH).replace(",", "")
    return clean or None


def from_rows(product_id: int, rows: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's rows as a card dict (not yet checked: ``publish`` checks it whole)."""
    kinds = fact_kinds(product_id)
    factors = []
    for f in rows.get("factors", ()):
        kind = kinds.get(f.get("fact", ""))
        bins_rows = f.get("bins", ())
        if kind is None:  # unknown fact: the check names it; guess the shape from what is typed
            kind = "number" if any(b.get("min") or b.get("max") for b in bins_rows) else "choice"
        out: dict[str, Any] = {"key": f.get("key", "").strip(), "label": f.get("label", ""),
                               "fact": f.get("fact", ""), "type": "range" if kind == "number" else "values"}
        bins = []
        for b in bins_rows:
            if kind == "number":
                bins.append({"min": _number(b.get("min", "")), "max": _number(b.get("max", "")),
                             "points": _points(b.get("points", "")), "reason": b.get("reason", "")})
            else:
                values: list[object] = []
                for token in _SPLIT.split(b.get("values", "").strip()):
                    if not token:
                        continue
                    if kind == "yesno":
                        low = token.lower()
                        values.append(True if low in _YES else False if low in _NO else token)
                    else:
                        values.append(token)
                bins.append({"values": values, "points": _points(b.get("points", "")),
                             "reason": b.get("reason", "")})
        out["bins"] = bins
        if kind != "number":
            out["other"] = {"points": _points(f.get("other_points", "")), "reason": f.get("other_reason", "")}
        out["missing"] = {"points": _points(f.get("missing_points", "")), "reason": f.get("missing_reason", "")}
        factors.append(out)
    limit: dict[str, Any] = {
        "grades": [{"min_score": _points(g.get("min_score", "")), "label": g.get("label", ""),
                    "max_amount": _number(g.get("max_amount", ""))} for g in rows.get("grades", ())],
    }
    for name in ("income_multiple", "repayment_share", "capacity_years", "step"):
        limit[name] = _number(rows.get(name, ""))
    return {"base": _points(rows.get("base", "")), "factors": factors, "limit": limit}


def span(product_id: int, rows: Mapping[str, Any], fallback: ScorecardVersion) -> dict[str, Any]:
    """What the editor shows beside the card: the lowest and highest possible score of the card
    in the form (of ``fallback``, the current version, while the form does not read as a card),
    and the credit grades no score can reach."""
    try:
        card = Scorecard.from_dict(from_rows(product_id, rows), fact_kinds=fact_kinds(product_id))
        of_form = True
    except ScorecardError:
        card, of_form = card_of(fallback), False
    low, high = rules.score_range(card)
    return {"lowest": low, "highest": high, "of_form": of_form,
            "unreachable": [(g.label, g.min_score) for g in rules.unreachable_grades(card)]}


def problems_of(error: ScorecardRefused) -> list[tuple[str, dict[str, object]]]:
    return list(error.problems)
