"""A business day at 02:00 Beijing time on a host whose clock and time zone are UTC.

At 2026-11-29 18:00 UTC it is already 2026-11-30 02:00 in China: the host's calendar says the
29th, the institution's says the 30th. Every place that needs "today" must take China's date from
the one clock (``app.clock``): the routing preview, data entry, borrower registration, the phone's
API (manifest and work plan), OCR and the daily job. Each test below names one of them and fails
if that place uses the host's (UTC) date.

time-machine moves the real clock (the C-level ``datetime.now``/``time.time`` included), so the
whole stack — sessions, audit rows, the app's own checks — runs at that moment; the test database
and the demo data are made inside it.
"""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Application, Borrower, JobRun, OcrRun, Photo
from app.services.demo import demo_entry
from tests.support.entry_photos import attach_form_photo
from tests.sync_helpers import enrol, jpeg_bytes, manifest, valid_id_number

UTC_MOMENT = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)  # 02:00 on the 30th in Beijing
HOST_DATE = date(2026, 11, 29)
CHINA_DATE = date(2026, 11, 30)
BORN_TODAY = valid_id_number(serial=321, birth=CHINA_DATE.strftime("%Y%m%d"))  # "in the future" on the 29th


@pytest.fixture()
def utc_host_at_2am_beijing(monkeypatch):
    """Requested before ``app``/``demo``: everything the test makes is made at this moment."""
    # Photos on disk even in the S3 phase: requests to an object store are signed with the host's
    # clock, and a store refuses a request days off (403), as it would from a host whose clock is
    # wrong. Where photos are kept has nothing to do with the business day.
    monkeypatch.setenv("TEST_PHOTO_STORE", "local")
    saved_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        with time_machine.travel(UTC_MOMENT, tick=True):
            assert date.today() == HOST_DATE  # the host's own calendar is still the 29th
            assert clock.business_today() == CHINA_DATE
            yield
    finally:
        if saved_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved_tz
        time.tzset()


def _application(app, state: str) -> Application:
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.state == state).order_by(Application.id))
        db.session.expunge(a)
        return a


def test_borrower_registration_takes_china_date(utc_host_at_2am_beijing, app, client, auth, demo):
    auth.login("officer1")
    r = auth.post("/borrowers/new", {"name": "李晓明", "id_number": BORN_TODAY, "phone": "13912345679",
                                     "village": "红星村", "address": "红星村3组"})
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Borrower).where(Borrower.id_number == BORN_TODAY)) is not None


def test_routing_preview_counts_age_on_china_date(utc_host_at_2am_beijing, app, client, auth, demo):
    a = _application(app, "awaiting_l1")
    with app.app_context():
        application = db.session.get(Application, a.id)
        limit = application.product.rules.special_age_max
        # Turns limit + 1 today in China; yesterday (the host's date) still limit.
        application.borrower.birth_date = CHINA_DATE.replace(year=CHINA_DATE.year - limit - 1)
        db.session.commit()
    auth.login("reviewer1")
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    routing = page.split('id="routing"')[1].split("</section>")[0]
    assert f"借款人{limit + 1}岁，超过年龄上限{limit}岁" in routing


def test_data_entry_accepts_an_iou_dated_today_in_china(utc_host_at_2am_beijing, app, client, auth, demo):
    a = _application(app, "awaiting_entry")
    with app.app_context():
        values = {**demo_entry(db.session.get(Application, a.id)), "signed_on": CHINA_DATE.isoformat()}
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/entry", {**values, "version": a.version, "action": "complete"})
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, a.id).state == "awaiting_l1"


def test_the_phones_manifest_and_plan_take_china_date(utc_host_at_2am_beijing, app, client, demo):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes(seed=7)])
    body["borrower"]["id_number"] = BORN_TODAY
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert client.get("/api/v1/plan", headers=headers).get_json()["date"] == CHINA_DATE.isoformat()


def test_ocr_checks_id_numbers_against_china_date(utc_host_at_2am_beijing, app, client, auth, demo):
    from app.services import ocr as ocr_service

    a = _application(app, "awaiting_entry")
    photo_id, _ = attach_form_photo(app, a.id)
    with app.app_context():
        photo = db.session.get(Photo, photo_id)
        # A finished reading whose ID number is of someone born today in China.
        db.session.add(OcrRun(sha256=photo.sha256, engine=ocr_service.OcrSettings.from_config(app.config).engine, status="done", seconds=1.0,
                              lines=[["借款人身份证号码：" + BORN_TODAY, 0.99]], fields={}))
        db.session.commit()
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0, "y0": 0,
                                                   "x1": 1, "y1": 1, "action": "ocr"})
    assert f'data-ocr-field="id_number" data-ocr-value="{BORN_TODAY}"' in r.get_data(as_text=True)


def test_the_daily_job_runs_for_china_date(utc_host_at_2am_beijing, app, demo):
    result = app.test_cli_runner().invoke(args=["jobs", "daily"])
    assert f"daily job for {CHINA_DATE.isoformat()}" in result.output, result.output
    with app.app_context():
        assert db.session.scalars(select(JobRun.for_date)).all() == [CHINA_DATE]


def test_the_first_request_of_the_day_runs_the_job_for_china_date(utc_host_at_2am_beijing, app, client, demo):
    app.config["DAILY_JOB_ON_FIRST_REQUEST"] = True
    from app.web import daily

    daily.init_app(app)
    client.get("/login")
    with app.app_context():
        assert db.session.scalars(select(JobRun.for_date)).all() == [CHINA_DATE]


def test_first_level_review_routes_on_china_date(utc_host_at_2am_beijing, app, client, auth, demo):
    """What the preview says is what l1_pass stores: the age on China's date at both."""
    a = _application(app, "awaiting_l1")
    with app.app_context():
        application = db.session.get(Application, a.id)
        limit = application.product.rules.special_age_max
        application.borrower.birth_date = CHINA_DATE.replace(year=CHINA_DATE.year - limit - 1)
        db.session.commit()
        version = application.version
    auth.login("reviewer1")
    auth.post(f"/applications/{a.id}/act", {"event": "l1_pass", "version": version})
    with app.app_context():
        stored = db.session.get(Application, a.id)
        assert stored.needs_special and "age_above" in [r["code"] for r in stored.routing_reasons]
