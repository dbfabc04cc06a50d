"""The scorecard service on a real database: versions seeded from the default and published with an
audit row, every problem refused with nothing written, an application scored from its survey
answers, and routing at the first-level pass by score and suggested limit."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import scorecard as sc
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Product, ScorecardVersion, User
from app.services import applications, scoring

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _app(name: str) -> Application:
    return db.session.scalar(select(Application).join(Borrower).where(Borrower.name == name))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audits(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_demo_products_have_the_default_and_applications_are_scored(app, demo):
    with app.app_context():
        for p in db.session.scalars(select(Product)):
            v = scoring.current_version(p.id)
            assert v.version == 1 and scoring.card_of(v) == sc.Scorecard.from_dict(sc.DEFAULT_SCORECARD)
        a = _app("李四")
        assert a.survey_answers and a.score is not None
        assert a.score == a.score_detail["score"]
        assert a.score_detail["base"] + sum(c["points"] for c in a.score_detail["contributions"]) == a.score
        assert Decimal(a.score_detail["limit"]["amount"]) == a.suggested_limit
        assert 0 <= a.suggested_limit <= a.product.max_amount


def test_a_product_without_a_scorecard_gets_the_default_once(app, demo):
    with app.app_context():
        p = db.session.scalars(select(Product)).first()
        db.session.query(ScorecardVersion).delete()
        db.session.commit()
        before = len(_audits("scorecard_published"))
        v = scoring.current_version(p.id)
        assert scoring.current_version(p.id) is v
        db.session.commit()
        assert v.version == 1 and _count(ScorecardVersion, ScorecardVersion.product_id == p.id) == 1
        rows = _audits("scorecard_published")
        assert len(rows) == before + 1 and rows[-1].detail["default"] is True


def test_publish_versions_and_audits(app, demo):
    with app.app_context():
        p = db.session.scalars(select(Product)).first()
        admin = _user("admin")
        d = copy.deepcopy(sc.DEFAULT_SCORECARD)
        d["base"] = 20
        row, written = scoring.publish(p.id, d, admin, expected_version=1, ip="10.0.0.9")
        assert written and row.version == 2 and row.created_by_id == admin.id
        audit = _audits("scorecard_published")[-1]
        assert audit.actor_id == admin.id and audit.detail["before"] == 1 and audit.detail["after"] == 2
        assert audit.ip == "10.0.0.9"
        # The same again: nothing written.
        row2, written = scoring.publish(p.id, d, admin)
        assert not written and row2.id == row.id
        # A stale form: refused.
        with pytest.raises(scoring.ScorecardConflict):
            scoring.publish(p.id, {**d, "base": 21}, admin, expected_version=1)
        assert [v.version for v in scoring.versions(p.id)] == [2, 1]


def test_a_bad_card_is_refused_whole_with_nothing_written(app, demo):
    with app.app_context():
        p = db.session.scalars(select(Product)).first()
        scoring.current_version(p.id)
        db.session.commit()
        versions, audits = _count(ScorecardVersion), _count(AuditLog)
        d = copy.deepcopy(sc.DEFAULT_SCORECARD)
        d["factors"][0]["bins"][1]["min"] = "23"
        d["factors"][2]["fact"] = "shoe_size"
        with pytest.raises(scoring.ScorecardRefused) as e:
            scoring.publish(p.id, d, _user("admin"))
        assert len(e.value.problems) == 2 and e.value.params["count"] == 2
        db.session.rollback()
        assert (_count(ScorecardVersion), _count(AuditLog)) == (versions, audits)


def test_score_application_sets_and_clears(app, demo):
    with app.app_context():
        a = _app("李四")
        a.survey_answers = dict(a.survey_answers, committee_rating="poor", years_in_village="1")
        scoring.score_application(a)
        by = {c["factor"]: c for c in a.score_detail["contributions"]}
        assert by["committee_rating"]["reason"] == "村委评议：差" and by["committee_rating"]["points"] == -15
        assert a.score_detail["scorecard_version"] == 1
        a.survey_answers = None
        scoring.score_application(a)
        assert (a.score, a.score_detail, a.suggested_limit) == (None, None, None)
        db.session.rollback()


def test_score_answers_for_the_village(app, demo):
    with app.app_context():
        p = db.session.scalars(select(Product)).first()
        result, limit = scoring.score_answers(p.id, {"committee_rating": "excellent"}, 40)
        assert result.score == sum(c.points for c in result.contributions) + result.base
        assert limit.amount >= 0
        assert scoring.score_answers(999999, {}, 40) is None


def _rules(a: Application, **rules) -> None:
    a.product.routing_rules = {**(a.product.routing_rules or {}), **rules}
    db.session.commit()


def test_low_score_routes_to_special_review_with_the_reason_stored(app, demo):
    with app.app_context():
        a = _app("李四")
        a.survey_answers = dict(a.survey_answers, committee_rating="poor", years_in_village="1")
        _rules(a, special_score_below=200)
        applications.act(a.id, Event.L1_PASS, _user("reviewer1"), now=NOW)
        a = db.session.get(Application, a.id)
        assert a.needs_special
        (reason,) = [r for r in a.routing_reasons if r["code"] == "score_below"]
        assert reason["level"] == "special"
        assert reason["params"] == {"score": str(a.score), "limit": "200"}
        assert by_factor(a)["committee_rating"]["points"] == -15  # scored again at the pass


def test_amount_above_the_suggested_limit_goes_to_l2(app, demo):
    with app.app_context():
        a = _app("李四")
        # A household with little to spare: the limit is far below the amount asked.
        a.survey_answers = dict(a.survey_answers, crop_income="8000.00", livestock_income="0",
                                wage_income="0", business_income="0", other_income="0",
                                living_expenses="5000.00", production_expenses="0",
                                yearly_debt_service="1000.00", committee_rating="excellent")
        a.product.routing_rules = {"l2_over_suggested_limit": True, "special_gps_required": False,
                                   "special_officer_not_on_site": False, "special_duplicate_id": False}
        db.session.commit()
        applications.act(a.id, Event.L1_PASS, _user("reviewer1"), now=NOW)
        a = db.session.get(Application, a.id)
        assert a.suggested_limit < a.amount
        assert a.needs_l2 and a.state == "awaiting_l2"
        (reason,) = [r for r in a.routing_reasons if r["code"] == "over_suggested_limit"]
        assert reason["level"] == "l2"


def by_factor(a: Application) -> dict:
    return {c["factor"]: c for c in a.score_detail["contributions"]}


def test_the_clerks_corrected_answers_are_scored_again(app, demo):
    from app.services import surveys

    with app.app_context():
        a = _app("王五")
        assert a.state == "awaiting_entry" and a.survey_answers
        rating = "poor" if a.survey_answers.get("committee_rating") != "poor" else "excellent"
        surveys.save_answers(a, dict(a.survey_answers, committee_rating=rating), _user("clerk1"), complete=False)
        a = db.session.get(Application, a.id)
        assert by_factor(a)["committee_rating"]["value"] == rating
        assert a.score == a.score_detail["score"] and a.suggested_limit == Decimal(a.score_detail["limit"]["amount"])


def test_a_reused_row_id_is_parsed_afresh(app):
    with app.app_context():
        a = ScorecardVersion(id=987654, product_id=1, version=2, definition=copy.deepcopy(sc.DEFAULT_SCORECARD))
        assert scoring.card_of(a).base == sc.DEFAULT_SCORECARD["base"]
        b = ScorecardVersion(id=987654, product_id=1, version=2, definition={**sc.DEFAULT_SCORECARD, "base": 3})
        assert scoring.card_of(b).base == 3
