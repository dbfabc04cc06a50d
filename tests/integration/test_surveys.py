"""The household survey per product: versions, publishing, answers captured and corrected."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from app.domain.survey import DEFAULT_SURVEY
from app.domain.workflow import State
from app.extensions import db
from app.models import Application, AuditLog, Product, SurveyVersion, User
from app.services import products as product_service
from app.services import scoring, surveys


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _product(code: str = "XYD") -> Product:
    return db.session.scalar(select(Product).where(Product.code == code))


def _app_in(state: State) -> Application:
    return db.session.scalar(select(Application).where(Application.state == state.value).order_by(Application.id))


def _versions(product_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyVersion).where(SurveyVersion.product_id == product_id))


def _audits(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_demo_products_have_the_default_and_applications_plausible_answers(app, demo):
    with app.app_context():
        for product in db.session.scalars(select(Product)):
            version = surveys.current_version(product.id)
            assert version.version == 1
            assert surveys.definition_of(version) == DEFAULT_SURVEY
        # The plan's applications and those the groups and villages add later.
        apps = list(db.session.scalars(select(Application).order_by(Application.id)))
        assert len(apps) >= 10 and all(a.survey_version_id is not None for a in apps)
        for a in apps:
            assert surveys.definition_for(a) == DEFAULT_SURVEY
            assert not surveys.missing_required(DEFAULT_SURVEY, a.survey_answers)
            assert a.score is not None
        assert len({a.survey_answers["crop_income"] for a in apps}) > 3  # not all alike


def test_a_product_without_a_survey_gets_the_default_once(app, demo):
    with app.app_context():
        values = {**product_service.term_values(), "code": "NEW", "name": "新产品", "annual_rate": "9", "min_rate": "6",
                  "max_rate": "15", "penalty_rate": "14", "min_amount": "1000", "max_amount": "5000",
                  "min_term_months": "3", "max_term_months": "12"}
        product = product_service.create_product(values, actor_id=_user("admin").id)
        assert _versions(product.id) == 0
        first = surveys.current_version(product.id)
        db.session.commit()
        again = surveys.current_version(product.id)
        assert first.id == again.id and first.version == 1 and _versions(product.id) == 1
        assert surveys.definition_of(first) == DEFAULT_SURVEY
        assert _audits("survey_published")[-1].detail["after"] == 1


def test_publish_writes_a_version_only_when_different_and_audits_it(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        same, written = surveys.publish(product.id, DEFAULT_SURVEY.to_dict(), admin)
        assert not written and same.version == 1 and _versions(product.id) == 1
        changed = DEFAULT_SURVEY.to_dict()
        changed["sections"][0]["questions"][0]["max"] = "20"
        row, written = surveys.publish(product.id, changed, admin, expected_version=1)
        assert written and row.version == 2 and row.created_by_id == admin.id
        assert surveys.current_version(product.id).id == row.id
        audit = _audits("survey_published")[-1]
        assert (audit.detail["before"], audit.detail["after"], audit.actor_id) == (1, 2, admin.id)
        assert [v.version for v in surveys.versions(product.id)] == [2, 1]
        # The other product is untouched.
        assert surveys.current_version(_product("LBD").id).version == 1


def test_a_bad_definition_is_refused_whole_and_nothing_is_written(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        bad = DEFAULT_SURVEY.to_dict()
        bad["sections"][0]["questions"][0]["min"] = "50"
        bad["sections"][1]["questions"][0]["key"] = "members"
        audits = len(_audits("survey_published"))
        with pytest.raises(surveys.SurveyDefinitionRefused) as exc:
            surveys.publish(product.id, bad, admin)
        assert len(exc.value.problems) == 2
        assert "sections.0.questions.0.max" in exc.value.fields
        assert "sections.1.questions.0.key" in exc.value.fields
        db.session.rollback()
        assert _versions(product.id) == 1 and len(_audits("survey_published")) == audits


def test_publishing_over_someone_elses_version_is_a_conflict(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        changed = DEFAULT_SURVEY.to_dict()
        changed["sections"][0]["title"] = "家庭"
        surveys.publish(product.id, changed, admin, expected_version=1)
        changed["sections"][0]["title"] = "家庭情况"
        with pytest.raises(surveys.SurveyConflict):
            surveys.publish(product.id, changed, admin, expected_version=1)
        assert _versions(product.id) == 2


def test_the_clerk_saves_answers_on_the_applications_own_version(app, demo):
    """Publish v2 without a question: an application answered on v1 still shows and saves it."""
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        product_id, v1 = application.product_id, application.survey_version_id
        changed = DEFAULT_SURVEY.to_dict()
        changed["sections"][0]["questions"] = [q for q in changed["sections"][0]["questions"] if q["key"] != "labourers"]
        with pytest.raises(surveys.SurveyAffectsScorecard) as warned:  # the labour ratio is computed from it
            surveys.publish(product_id, changed, _user("admin"))
        db.session.rollback()
        row, _ = surveys.publish(product_id, changed, _user("admin"), scorecard_ack=warned.value.ack)
        assert row.version == 2
        db.session.expire_all()
        application = db.session.get(Application, application.id)
        assert application.survey_version_id == v1
        assert surveys.definition_for(application).question("labourers") is not None
        answers = dict(application.survey_answers)
        answers["labourers"] = "3"
        answers["members"] = "6"
        changed_keys = surveys.save_answers(application, answers, _user("clerk1"), complete=True,
                                            expected_version=application.version)
        assert set(changed_keys) <= {"labourers", "members"} and "members" in changed_keys
        db.session.expire_all()
        application = db.session.get(Application, application.id)
        assert application.survey_answers["labourers"] == "3" and application.survey_answers["members"] == "6"
        assert application.score is not None and application.score_detail  # scored on the corrected answers
        audit = _audits("survey_answers_changed")[-1]
        assert audit.detail["changed"] == changed_keys and "6" not in str(audit.detail)
        sections = surveys.shown_sections(application)
        assert any(r["key"] == "labourers" and r["value"] == "3" for s in sections for r in s["rows"])


def test_bad_answers_are_refused_and_nothing_is_written(app, demo):
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        before = copy.deepcopy(application.survey_answers)
        version = application.version
        bad = {**before, "members": "31", "land_mu": "1.25", "salary": "1", "house_type": "palace"}
        with pytest.raises(surveys.SurveyRefused) as exc:
            surveys.save_answers(application, bad, _user("clerk1"), complete=False)
        assert set(exc.value.fields) == {"members", "land_mu", "salary", "house_type"}
        message, params = exc.value.fields["members"]
        assert message % params == "家庭人口 must be between 1 and 30 人."
        db.session.rollback()
        db.session.expire_all()
        application = db.session.get(Application, application.id)
        assert application.survey_answers == before and application.version == version
        assert not _audits("survey_answers_changed")


def test_complete_requires_the_required_answers(app, demo):
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        answers = {k: v for k, v in application.survey_answers.items() if k != "committee_rating"}
        with pytest.raises(surveys.SurveyRefused) as exc:
            surveys.save_answers(application, answers, _user("clerk1"), complete=True)
        assert set(exc.value.fields) == {"committee_rating"}
        db.session.rollback()
        assert surveys.save_answers(db.session.get(Application, application.id), answers, _user("clerk1"),
                                    complete=False) == ["committee_rating"]


def test_answers_are_corrected_only_at_data_entry(app, demo):
    with app.app_context():
        application = _app_in(State.AWAITING_L1)
        with pytest.raises(surveys.SurveyRefused) as exc:
            surveys.save_answers(application, application.survey_answers, _user("clerk1"), complete=False)
        assert exc.value.code == "survey_locked"


def test_a_photo_answer_must_be_a_photo_of_the_application(app, demo):
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        other = _app_in(State.AWAITING_L1)
        answers = dict(application.survey_answers)
        if other.photos:
            with pytest.raises(surveys.SurveyRefused) as exc:
                surveys.save_answers(application, {**answers, "house_photo": other.photos[0].uuid},
                                     _user("clerk1"), complete=False)
            assert set(exc.value.fields) == {"house_photo"}
            db.session.rollback()
        application = db.session.get(Application, application.id)
        if application.photos:
            assert surveys.save_answers(application, {**answers, "house_photo": application.photos[0].uuid.upper()},
                                        _user("clerk1"), complete=False) == ["house_photo"]


def test_captured_answers_need_the_products_own_version(app, demo):
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        other_product = db.session.scalar(select(Product).where(Product.id != application.product_id))
        foreign = surveys.current_version(other_product.id)
        own = surveys.current_version(application.product_id)
        for version_id in (foreign.id, 999999, "1", None, True):
            with pytest.raises(surveys.SurveyRefused) as exc:
                surveys.record_captured_answers(application, version_id, {"members": "3"})
            assert exc.value.code == "survey_version_unknown"
        with pytest.raises(surveys.SurveyRefused) as exc:
            surveys.record_captured_answers(application, own.id, {"members": "0", "x": 1})
        assert set(exc.value.fields) == {"members", "x"}
        # A draft: required answers may be missing; normalised as stored.
        surveys.record_captured_answers(application, own.id, {"members": "3", "land_mu": "4"}, photo_uuids=())
        assert application.survey_answers == {"members": "3", "land_mu": "4.0"}
        assert application.survey_version_id == own.id
        assert application.score is not None  # scored as it arrives
        db.session.rollback()


# --- a change the scorecard feels ----------------------------------------------------------------

def _without(definition: dict, *keys: str) -> dict:
    out = copy.deepcopy(definition)
    for section in out["sections"]:
        section["questions"] = [q for q in section["questions"] if q["key"] not in keys]
    out["sections"] = [s for s in out["sections"] if s["questions"]]
    return out


def _question(definition: dict, key: str) -> dict:
    return next(q for s in definition["sections"] for q in s["questions"] if q["key"] == key)


def test_a_missing_answer_takes_the_factors_no_answer_bin(app, demo):
    """What scoring does today when a question is gone: the factor scores its "no answer" bin,
    silently — which is why dropping a scored question must be confirmed."""
    with app.app_context():
        application = _app_in(State.AWAITING_ENTRY)
        answers = dict(application.survey_answers)
        answers["committee_rating"] = "excellent"
        rated, _limit = scoring.score_answers(application.product_id, answers, 40)
        del answers["committee_rating"]
        unrated, _limit = scoring.score_answers(application.product_id, answers, 40)
        factor = {c.factor: c for c in unrated.contributions}["committee_rating"]
        assert (factor.points, factor.reason) == (0, "村委未评议")
        assert rated.score - unrated.score == 15


def test_dropping_a_scored_question_is_refused_until_confirmed_and_the_confirmation_is_audited(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        audits = len(_audits("survey_published"))
        changed = _without(DEFAULT_SURVEY.to_dict(), "committee_rating")
        with pytest.raises(surveys.SurveyAffectsScorecard) as warned:
            surveys.publish(product.id, changed, admin, expected_version=1)
        db.session.rollback()
        impacts = warned.value.impacts
        assert [(i.factor, i.question, i.code) for i in impacts] == [("committee_rating", "committee_rating", "removed")]
        assert impacts[0].params["factor"] == "村委评议" and impacts[0].params["points"] == 0
        assert _versions(product.id) == 1 and len(_audits("survey_published")) == audits  # nothing written
        # A wrong or stale confirmation confirms nothing.
        with pytest.raises(surveys.SurveyAffectsScorecard):
            surveys.publish(product.id, changed, admin, expected_version=1, scorecard_ack="yes")
        db.session.rollback()
        more = _without(changed, "has_vehicle")  # another scored question gone: the old confirmation is not for it
        with pytest.raises(surveys.SurveyAffectsScorecard) as again:
            surveys.publish(product.id, more, admin, expected_version=1, scorecard_ack=warned.value.ack)
        db.session.rollback()
        assert {i.factor for i in again.value.impacts} == {"committee_rating", "has_vehicle"}
        assert _versions(product.id) == 1
        row, written = surveys.publish(product.id, changed, admin, expected_version=1, scorecard_ack=warned.value.ack)
        assert written and row.version == 2
        audit = _audits("survey_published")[-1]
        assert audit.detail["scorecard_factors"] == ["committee_rating"] and audit.detail["scorecard_version"] == 1


def test_a_confirmation_given_before_the_scorecard_changed_confirms_nothing(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        changed = _without(DEFAULT_SURVEY.to_dict(), "committee_rating")
        with pytest.raises(surveys.SurveyAffectsScorecard) as warned:
            surveys.publish(product.id, changed, admin)
        db.session.rollback()
        card = scoring.current_version(product.id).definition
        card = {**card, "base": card["base"] + 1}
        scoring.publish(product.id, card, admin)
        with pytest.raises(surveys.SurveyAffectsScorecard) as again:
            surveys.publish(product.id, changed, admin, scorecard_ack=warned.value.ack)
        db.session.rollback()
        assert again.value.scorecard_version == 2 and again.value.ack != warned.value.ack
        assert _versions(product.id) == 1


def test_type_and_option_changes_of_a_scored_question_are_named_and_others_are_not(app, demo):
    with app.app_context():
        product, admin = _product(), _user("admin")
        changed = DEFAULT_SURVEY.to_dict()
        rating = _question(changed, "committee_rating")
        rating["options"] = [o for o in rating["options"] if o["value"] != "poor"] + [{"value": "bad", "label": "差"}]
        land = _question(changed, "land_mu")
        land.clear()
        land.update({"key": "land_mu", "label": "耕种土地", "type": "text", "max_length": 50})
        _question(changed, "house_type")["label"] = "房屋结构"  # a label: scores the same
        _question(changed, "members")["max"] = "25"               # a range: scores the same
        with pytest.raises(surveys.SurveyAffectsScorecard) as warned:
            surveys.publish(product.id, changed, admin)
        db.session.rollback()
        found = sorted((i.factor, i.code) for i in warned.value.impacts)
        assert found == [("committee_rating", "options_removed"), ("committee_rating", "options_unlisted"),
                         ("land", "type_changed")]
        # Questions no factor reads change freely.
        free = _without(DEFAULT_SURVEY.to_dict(), "main_crops")
        _question(free, "house_type")["label"] = "房屋结构"
        row, written = surveys.publish(product.id, free, admin)
        assert written and row.version == 2 and "scorecard_factors" not in _audits("survey_published")[-1].detail
