"""The household survey per product, versioned, and its answers on applications.

- ``current_version(product_id)``: the product's latest ``SurveyVersion``. A product without one
  (every product created before surveys, and every new one) gets version 1 from the shipped
  default (``survey.DEFAULT_SURVEY``) on the first call, in the caller's transaction (a savepoint,
  so two first calls at once end with one version 1). No product ever lacks a survey, and nothing
  has to remember to seed one.
- ``publish(product_id, definition, actor)``: checks the definition whole (``SurveyDefinitionRefused``
  with every problem by its path), writes a new version only if it differs from the current one,
  audits ``survey_published`` (version before and after) and commits. A version that drops or
  changes a question the current scorecard scores is published only once confirmed
  (``SurveyAffectsScorecard`` names the factors; ``scorecard_ack``).
- ``definition_for(application)``: the version the application was answered on (None: no survey).
  An application keeps its version for good, so a later change never breaks one captured.
- ``save_answers(application, answers, actor, complete=...)``: the clerk's correction at HQ
  (while the application waits for data entry), checked whole, audited ``survey_answers_changed``
  with the changed keys only (never values), committed with the application's optimistic lock.
- ``record_captured_answers(application, version_id, answers)``: the phone's answers on a new
  application (sync): the version must be this product's, the answers are checked as a draft
  (the clerk completes them); ``SurveyRefused`` otherwise, so the manifest is refused whole. No commit.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select

from app.domain import survey as rules
from app.domain.i18n import N_
from app.domain.scorecard import Impact, survey_change_impact
from app.domain.survey import SurveyDefinition, SurveyError
from app.domain.workflow import State
from app.extensions import db
from app.models import Application, Product, SurveyVersion, User
from app.services import applications as app_service
from app.services import audit, scoring
from app.services import definition_versions as versioned
from app.services.errors import NotFound, ServiceError


class SurveyRefused(ServiceError):
    """Answers that do not fit the survey: ``fields`` holds each question's problem."""

    def __init__(self, code: str, message: str, *, fields=None, **params: object) -> None:
        super().__init__(code, message, fields=fields, **params)


class SurveyDefinitionRefused(ServiceError):
    """A survey definition with problems; ``problems`` = [(path, N_ message, params)], all of them."""

    def __init__(self, error: SurveyError, where: Mapping[str, str] | None = None) -> None:
        fields: dict[str, tuple[str, dict[str, object]]] = {}
        for path, message, params in error.problems:
            field = rules.form_field(path, where) if where is not None else (path or "_")
            fields.setdefault(field, (message, params))
        super().__init__("survey_definition_invalid", error.message, fields=fields, **error.params)
        self.problems = list(error.problems)


class SurveyAffectsScorecard(ServiceError):
    """The new version drops or changes questions the product's current scorecard scores; it is
    published only with ``scorecard_ack`` equal to ``ack`` (the admin read ``impacts`` and confirmed)."""

    def __init__(self, impacts: list[Impact], scorecard_version: int, ack: str) -> None:
        factors = sorted({i.factor for i in impacts})
        super().__init__("survey_affects_scorecard", N_(
            "This version drops or changes %(count)s question(s) that %(factors)s factor(s) of the scorecard "
            "(version %(version)s) score. Nothing was published: read what follows, then confirm to publish "
            "anyway, or change the scorecard first."), count=len({i.question for i in impacts}),
            factors=len(factors), version=scorecard_version)
        self.impacts = impacts
        self.ack = ack
        self.scorecard_version = scorecard_version


class SurveyConflict(ServiceError):
    def __init__(self, version: int) -> None:
        super().__init__("survey_changed", N_("Someone else published version %(version)s of this survey meanwhile; "
                                              "reload the page and make your change again."), version=version)


# ------------------------------------------------------------------ versions
def current_version(product_id: int) -> SurveyVersion:
    """The product's latest survey version; version 1 from the default if it has none yet."""
    return versioned.current(SurveyVersion, product_id, rules.default_definition, "survey_published")


def ensure_current(product_id: int) -> SurveyVersion:
    """``current_version`` for a page that only reads: version 1 made on the way is committed."""
    version = current_version(product_id)
    db.session.commit()
    return version


def versions(product_id: int) -> list[SurveyVersion]:
    """Every version of the product's survey, newest first (the current one made if none)."""
    current_version(product_id)
    return versioned.every(SurveyVersion, product_id)


def definition_of(version: SurveyVersion) -> SurveyDefinition:
    return SurveyDefinition.from_dict(version.definition)


def scorecard_impact(product_id: int, current: SurveyVersion,
                     parsed: SurveyDefinition) -> tuple[list[Impact], int, str]:
    """What publishing ``parsed`` over ``current`` does to the product's current scorecard: the
    impacts (``scorecard.survey_change_impact``), the scorecard's version and the acknowledgement
    that confirms exactly these impacts on exactly that scorecard version (a short digest: a
    confirmation given for other impacts, or before the scorecard changed, confirms nothing)."""
    card_version = scoring.current_version(product_id)
    impacts = survey_change_impact(scoring.card_of(card_version), current.definition, parsed.to_dict())
    seen = [[i.factor, i.question, i.code, sorted(str(v) for v in i.params.values())] for i in impacts]
    digest = hashlib.sha256(json.dumps([card_version.id, seen], ensure_ascii=False).encode()).hexdigest()[:20]
    return impacts, card_version.version, digest


def publish(product_id: int, definition: object, actor: User | None, *, expected_version: int | None = None,
            ip: str = "", where: Mapping[str, str] | None = None,
            scorecard_ack: str | None = None) -> tuple[SurveyVersion, bool]:
    """Publish a new version of the product's survey if ``definition`` differs from the current one.

    Returns (the current version after, whether a new one was written). Refuses with every problem
    (``SurveyDefinitionRefused``), or ``SurveyConflict`` when ``expected_version`` is given and
    someone published since, or ``SurveyAffectsScorecard`` (nothing written) when the version drops
    or changes a question the current scorecard scores and ``scorecard_ack`` is not that
    refusal's ``ack``. Commits."""
    if db.session.get(Product, product_id) is None:
        raise NotFound("product", product_id)
    try:
        parsed = SurveyDefinition.from_dict(definition)
    except SurveyError as e:
        raise SurveyDefinitionRefused(e, where) from None
    current = current_version(product_id)
    if expected_version is not None and current.version != expected_version:
        raise SurveyConflict(current.version)
    if _same(current.definition, parsed):
        db.session.commit()  # version 1 made just now, if it was
        return current, False
    # A question the scorecard scores, dropped or changed, is not refused but must be confirmed.
    # Scoring reads a missing answer as the factor's "no answer" bin (often 0 or a penalty) and an
    # answer its bins do not list as "other answers", so such a change would silently move every
    # new application's score. Refusing would not serve the credit manager: the institution may
    # rightly stop asking a question, and a question's type or options can only change in the
    # survey first (a scorecard is checked against the latest survey), so the scorecard is mended
    # after. What he must not do is change it unknowingly: the refusal names each factor and what
    # it will score, and his confirmation is for exactly those factors (and is audited).
    impacts, card_version, ack = scorecard_impact(product_id, current, parsed)
    if impacts and scorecard_ack != ack:
        raise SurveyAffectsScorecard(impacts, card_version, ack)
    confirmed = {"scorecard_version": card_version, "scorecard_factors": sorted({i.factor for i in impacts}),
                 "scorecard_questions": sorted({i.question for i in impacts})} if impacts else {}
    row = versioned.write_next(SurveyVersion, product_id, current.version, parsed.to_dict(), actor,
                               "survey_published", SurveyConflict, ip=ip, questions=len(parsed.keys), **confirmed)
    return row, True


def publish_rows(product_id: int, rows: list[Mapping[str, Any]], actor: User, *, expected_version: int | None,
                 ip: str = "", scorecard_ack: str | None = None) -> tuple[SurveyVersion, bool]:
    """Publish what the admin's form holds (``survey.to_rows`` shape); problems keyed by form field."""
    definition, where = rules.from_rows(rows)
    return publish(product_id, definition, actor, expected_version=expected_version, ip=ip, where=where,
                   scorecard_ack=scorecard_ack)


def history(product_id: int) -> list[dict[str, Any]]:
    """The versions for the editor's history: version, who published it, when, questions, current."""
    rows = versions(product_id)
    names = versioned.authors(rows)
    out = []
    for i, r in enumerate(rows):
        out.append({"version": r.version, "who": names.get(r.created_by_id, ""), "at": r.created_at,
                    "questions": sum(len(s.get("questions", [])) for s in (r.definition or {}).get("sections", [])),
                    "current": i == 0})
    return out


def _same(stored: object, parsed: SurveyDefinition) -> bool:
    try:
        return SurveyDefinition.from_dict(stored) == parsed
    except SurveyError:
        return False


# ------------------------------------------------------------------ answers
def definition_for(application: Application) -> SurveyDefinition | None:
    """The survey the application was answered on, or None (captured before surveys)."""
    if application.survey_version_id is None:
        return None
    version = application.survey_version or db.session.get(SurveyVersion, application.survey_version_id)
    return definition_of(version) if version is not None else None


def _photo_uuids(application: Application) -> set[str]:
    return {p.uuid for p in application.photos if p.purged_at is None}


def _check(definition: SurveyDefinition, answers: object, *, complete: bool,
           photo_uuids: Collection[str]) -> dict[str, Any]:
    normal, errors = rules.check_answers(definition, answers, complete=complete)
    known = {u.lower() for u in photo_uuids}
    for q in definition.questions():
        if q.type == "photo" and q.key in normal and normal[q.key] not in known:
            errors[q.key] = (N_("%(label)s: not a photo of this application."), {"label": q.label})
            del normal[q.key]
    if errors:
        raise SurveyRefused("survey_invalid", N_("The survey's answers do not check out: %(count)s problem(s)."),
                            fields=errors, count=len(errors))
    return normal


def record_captured_answers(application: Application, version_id: int, answers: object, *,
                            photo_uuids: Collection[str] | None = None) -> None:
    """Store the phone's survey answers on a new application (no commit).

    ``version_id`` must be one of this product's survey versions; the answers are checked as a
    draft (required ones may be missing: the clerk completes them). A photo answer must be one of
    the application's photos (``photo_uuids``, else the photo rows already on it). Raises
    ``SurveyRefused`` (nothing set)."""
    version = db.session.get(SurveyVersion, version_id) if isinstance(version_id, int) \
        and not isinstance(version_id, bool) else None
    if version is None or version.product_id != application.product_id:
        raise SurveyRefused("survey_version_unknown",
                            N_("This survey version is not one of the loan type's; update the app and fill the survey again."))
    normal = _check(definition_of(version), answers, complete=False,
                    photo_uuids=_photo_uuids(application) if photo_uuids is None else photo_uuids)
    application.survey_version_id = version.id
    application.survey_version = version
    application.survey_answers = normal
    scoring.score_application(application)  # the director sees the score from the start


def may_edit_answers(application: Application) -> bool:
    """The clerk corrects the survey while the application waits for data entry."""
    return application.survey_version_id is not None and application.state == State.AWAITING_ENTRY.value


def save_answers(application: Application, answers: object, actor: User, *, complete: bool,
                 expected_version: int | None = None, ip: str = "") -> list[str]:
    """The clerk's answers, checked whole against the application's own survey version.

    Returns the changed keys. Refuses (nothing written) with ``SurveyRefused``; ``Conflict`` when
    the application changed since the form was loaded. Commits."""
    definition = definition_for(application)
    if definition is None:
        raise SurveyRefused("survey_missing", N_("This application was captured without a survey."))
    if application.state != State.AWAITING_ENTRY.value:
        raise SurveyRefused("survey_locked", N_("The survey can be corrected only while the application waits for data entry."))
    if expected_version is not None and application.version != expected_version:
        raise app_service.conflict(application)
    normal = _check(definition, answers, complete=complete, photo_uuids=_photo_uuids(application))
    before = dict(application.survey_answers or {})
    changed = sorted(k for k in set(before) | set(normal) if before.get(k) != normal.get(k))
    if not changed:
        return []
    application.survey_answers = normal
    scoring.score_application(application)  # the score follows the corrected answers
    audit.record("survey_answers_changed", actor_id=actor.id, object_type="application", object_id=application.id,
                 ip=ip, changed=changed, version=application.survey_version_id, complete=complete)
    app_service.commit_or_conflict(application)
    return changed


def missing_required(definition: SurveyDefinition, answers: Mapping[str, Any] | None) -> list[str]:
    """The labels of required questions not answered yet."""
    answers = answers or {}
    return [q.label for q in definition.questions() if q.required and answers.get(q.key) in (None, "")]


def missing_answers(application: Application) -> list[str]:
    """The labels of the application's required survey questions not answered yet ([] without a survey)."""
    definition = definition_for(application)
    return [] if definition is None else missing_required(definition, application.survey_answers)


def shown_sections(application: Application) -> list[dict[str, Any]] | None:
    """The answers for reading, grouped by section: [{title, rows: [{label, value, unit, type}]}];
    None when the application has no survey."""
    definition = definition_for(application)
    if definition is None:
        return None
    answers = application.survey_answers or {}
    sections = []
    for section in definition.sections:
        rows = []
        for q in section.questions:
            value = answers.get(q.key)
            rows.append({"key": q.key, "label": q.label, "type": q.type, "unit": q.shown_unit,
                         "value": rules.format_answer(q, value) if value is not None else None,
                         "raw": value, "required": q.required})
        sections.append({"title": section.title, "rows": rows})
    return sections


# ------------------------------------------------------------------ demo
def _plausible(definition: SurveyDefinition, rng: random.Random) -> dict[str, Any]:
    """Answers a rural household might give to the default survey's questions (others skipped)."""
    members = rng.randint(2, 7)
    land = rng.randint(10, 150) / 10
    heads = rng.choice([0, 0, 2, 5, 12, 30])
    crop = int(land * rng.randint(1500, 3000))
    livestock = heads * rng.randint(800, 2500)
    wage = rng.choice([0, 15000, 30000, 48000])
    business = rng.choice([0, 0, 0, 20000])
    debt = rng.choice([0, 0, 10000, 30000])
    values: dict[str, Any] = {
        "members": str(members), "labourers": str(rng.randint(1, min(members, 4))),
        "years_in_village": str(rng.randint(5, 50)), "land_mu": f"{land:.1f}",
        "main_crops": rng.choice(["水稻、油菜", "玉米、小麦", "柑橘", "蔬菜大棚"]), "livestock_heads": str(heads),
        "crop_income": f"{crop}.00", "livestock_income": f"{livestock}.00", "wage_income": f"{wage}.00",
        "business_income": f"{business}.00", "other_income": f"{rng.choice([0, 2000, 5000])}.00",
        "living_expenses": f"{rng.randint(12, 30) * 1000}.00",
        "production_expenses": f"{int(crop * 0.4 + livestock * 0.5)}.00",
        "house_type": rng.choice(["brick_concrete", "brick_concrete", "brick_wood", "earth"]),
        "house_value": f"{rng.randint(5, 40) * 10000}.00", "has_vehicle": rng.random() < 0.4,
        "formal_debt": f"{debt}.00", "informal_debt": f"{rng.choice([0, 0, 5000])}.00",
        "yearly_debt_service": f"{int(debt * 0.35)}.00",
        "committee_rating": rng.choice(["excellent", "good", "good", "fair", "poor"]),
    }
    normal, _errors = rules.check_answers(definition, {k: v for k, v in values.items() if definition.question(k)},
                                          complete=False)
    return normal


def seed_demo() -> int:
    """Demo data: every product gets its survey (the default, version 1) and every application
    without a survey plausible answers on it, scored. Idempotent (called again for the applications
    made later in the demo). Returns how many applications were answered. No commit."""
    products = list(db.session.scalars(select(Product).order_by(Product.id)))
    current = {p.id: current_version(p.id) for p in products}
    count = 0
    # Seeded by the application's place in the demo, not its key: MariaDB's keys go on counting
    # after a table is emptied, and the same demo must write the same answers on every load.
    for place, app in enumerate(db.session.scalars(select(Application).order_by(Application.id)), start=1):
        version = current.get(app.product_id)
        if version is None or app.survey_version_id is not None:
            continue
        app.survey_version_id = version.id
        app.survey_version = version
        app.survey_answers = _plausible(definition_of(version), random.Random(place * 7919))
        scoring.score_application(app)
        count += 1
    db.session.flush()
    return count
