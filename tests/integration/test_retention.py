"""The retention purge on a real photo store (issue 13, personal information over time): files
really gone, rows marked and consistent, shared files kept, idempotent, audited; and a
borrower's data export for his access request."""
from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select, update

from app import clock
from app.extensions import db
from app.models import Application, AuditLog, Loan, Photo, Transition
from app.models.audit import IdentityView
from app.services import retention
from app.storage import DERIVATIVES, make_store
from tests.support.stores import store_has_derivative

SETTINGS = retention.RetentionSettings(rejected_photos_days=180, closed_loan_photos_years=5)


def _received(app_id: int) -> list[Photo]:
    return list(db.session.scalars(select(Photo).where(Photo.application_id == app_id, Photo.received_at.is_not(None))))


def _left_of(store, sha: str) -> list[str]:
    """What of a photo is still in the store (on disk or in the bucket): its original, its views."""
    left = ["original"] if store.exists(sha) else []
    return left + [kind for kind in DERIVATIVES if store_has_derivative(store, sha, kind)]


def _decided_days_ago(application_id: int, state: str, days: int) -> None:
    """The application was rejected/withdrawn ``days`` ago (its whole timeline moved back)."""
    back = clock.now() - timedelta(days=days)
    db.session.execute(update(Application).where(Application.id == application_id).values(state=state, updated_at=back))
    db.session.execute(update(Transition).where(Transition.application_id == application_id).values(at=back))
    db.session.commit()


def _today():
    return clock.business_today(), clock.now()


def test_rejected_application_photos_are_deleted_after_the_period_once_and_audited(app, demo):
    with app.app_context():
        store = make_store(app.config)
        apps = list(db.session.scalars(select(Application).order_by(Application.id)))
        rejected, other = [a for a in apps if _received(a.id) and a.state not in ("rejected", "withdrawn")][:2]
        _decided_days_ago(rejected.id, "rejected", 179)
        photos = _received(rejected.id)
        shas = {p.sha256 for p in photos}
        for p in photos:  # a derivative made, as the screens make them
            store.derivative(p.sha256, "thumb")
        kept_shas = {p.sha256 for p in _received(other.id)} - shas
        assert shas and kept_shas and all(store.exists(s) for s in shas)

        # Not yet due: 179 days after the decision, nothing of it happens.
        today, now = _today()
        retention.purge(today=today, now=now, settings=SETTINGS, store=store)  # the demo's own, if any
        db.session.expire_all()
        assert all(p.purged_at is None for p in db.session.get(Application, rejected.id).photos)
        assert all(store.exists(s) for s in shas)

        # A dry run counts and deletes nothing.
        _decided_days_ago(rejected.id, "rejected", 181)
        dry = retention.purge(today=today, now=now, settings=SETTINGS, store=store, dry_run=True)
        assert dry["applications"] == 1 and dry["files"] == len(shas) and dry["dry_run"]
        assert all(store.exists(s) for s in shas)
        assert db.session.scalars(select(Photo.purged_at).where(Photo.application_id == rejected.id)).all().count(None) == len(rejected.photos)

        counts = retention.purge(today=today, now=now, settings=SETTINGS, store=store)
        assert counts["applications"] == 1 and counts["photos"] == len(rejected.photos) and counts["files"] == len(shas)
        for sha in shas:
            assert _left_of(store, sha) == [], "a file of a purged photo is still in the store"
        assert all(store.exists(s) for s in kept_shas), "another application's photo was deleted"
        db.session.expire_all()
        assert all(p.purged_at is not None for p in db.session.get(Application, rejected.id).photos)
        assert all(p.purged_at is None for p in db.session.get(Application, other.id).photos)
        # The rows stay: the application and its timeline are records.
        assert db.session.get(Application, rejected.id) is not None
        runs = db.session.scalars(select(AuditLog).where(AuditLog.action == "retention.purged").order_by(AuditLog.id)).all()
        assert len(runs) == 2  # the first, at 179 days, and this one; the dry run is none
        row = runs[-1]
        assert row.detail["photos"] == counts["photos"] and row.detail["files"] == counts["files"]

        # Second run: nothing to do, nothing deleted; its own audit row says so.
        again = retention.purge(today=today, now=now, settings=SETTINGS, store=store)
        assert again == {"applications": 0, "photos": 0, "screenshots": 0, "files": 0, "ocr_runs": 0}
        assert all(store.exists(s) for s in kept_shas)
        assert len(db.session.scalars(select(AuditLog).where(AuditLog.action == "retention.purged")).all()) == 3


def test_a_file_shared_with_a_live_photo_stays(app, demo):
    with app.app_context():
        store = make_store(app.config)
        apps = [a for a in db.session.scalars(select(Application).order_by(Application.id)) if _received(a.id)]
        rejected, other = [a for a in apps if a.state not in ("rejected", "withdrawn")][:2]
        today, now = _today()
        retention.purge(today=today, now=now, settings=SETTINGS, store=store)  # the demo's own, if any
        shared = _received(rejected.id)[0].sha256
        # The same picture was sent again with another application.
        db.session.execute(update(Photo).where(Photo.id == _received(other.id)[0].id).values(sha256=shared))
        _decided_days_ago(rejected.id, "withdrawn", 200)
        counts = retention.purge(today=today, now=now, settings=SETTINGS, store=store)
        assert counts["photos"] >= 1
        assert store.exists(shared)
        assert counts["files"] == len({p.sha256 for p in _received(rejected.id)}) - 1


def test_a_closed_loans_photos_go_after_the_years_and_the_loan_stays(app, demo):
    with app.app_context():
        store = make_store(app.config)
        loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
        assert loan is not None
        shas = {p.sha256 for p in _received(loan.application_id)}
        today, now = _today()
        retention.purge(today=today, now=now, settings=SETTINGS, store=store)  # the demo's own, if any
        loan.status, loan.closed_on = "closed", date(today.year - 5, today.month, 1) + timedelta(days=40)
        db.session.commit()
        assert retention.purge(today=today, now=now, settings=SETTINGS, store=store)["photos"] == 0
        loan.closed_on = date(today.year - 5, today.month, 1) - timedelta(days=1)
        db.session.commit()
        counts = retention.purge(today=today, now=now, settings=SETTINGS, store=store)
        assert counts["applications"] == 1
        assert shas and not any(store.exists(s) for s in shas)
        assert db.session.get(Loan, loan.id).status == "closed"  # the credit record stays


def test_the_daily_job_runs_the_purge(app, demo):
    from app.services import jobs

    with app.app_context():
        store = make_store(app.config)
        today, now = _today()
        retention.purge(today=today, now=now, settings=SETTINGS, store=store)  # the demo's own, if any
        a = next(a for a in db.session.scalars(select(Application).order_by(Application.id))
                 if _received(a.id) and a.state not in ("rejected", "withdrawn"))
        _decided_days_ago(a.id, "rejected", 400)
        result = jobs.run_daily(clock.business_today(), retention=retention.Retention(SETTINGS, store))
        assert result["retention"]["applications"] == 1
        assert all(p.purged_at is not None for p in db.session.get(Application, a.id).photos)


def test_the_cli_dry_run_and_purge(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0 and "dry run" in result.output and '"files": ' in result.output
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0 and "retention purge" in result.output


def test_the_borrowers_data_export_is_audited_and_a_view_of_his_id(app, client, auth, demo):
    with app.app_context():
        loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
        borrower_id, number = loan.borrower_id, loan.borrower.id_number
    auth.login("auditor1")
    assert client.get(f"/admin/audit/borrowers/{borrower_id}/export.json").status_code == 403
    auth.post("/logout")
    auth.login("admin")
    assert 'id="borrower-export"' in client.get(f"/borrowers/{borrower_id}").get_data(as_text=True)
    r = client.get(f"/admin/audit/borrowers/{borrower_id}/export.json")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    doc = json.loads(r.get_data(as_text=True))
    assert doc["borrower"]["id_number"] == number
    assert doc["loans"] and doc["loans"][0]["installments"] and doc["applications"][0]["timeline"]
    assert any("borrower_page" in v["what"] for v in doc["identity_views"])
    assert client.get("/admin/audit/borrowers/999999/export.json").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "borrower.data_exported",
                                                         AuditLog.object_id == borrower_id)).one()
        views = db.session.scalars(select(IdentityView).where(IdentityView.borrower_id == borrower_id,
                                                              IdentityView.what == "id_number",
                                                              IdentityView.viewer_id == demo["admin"])).all()
        assert len(views) == 1
