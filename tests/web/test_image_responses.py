"""Every image the server sends — application photos, the ZIP, screenshots, repayment receipts,
visit photos — goes out with the same private headers: no-store, no ETag, nosniff, sandboxed."""
from __future__ import annotations

import base64
import hashlib
import io
import uuid

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Loan, Screenshot, TaskPhoto
from app.services import jobs
from tests.conftest import Auth
from tests.support.entry_photos import attach_form_photo
from tests.sync_helpers import GPS_IFD, enrol, jpeg_with_gps
from tests.web.test_tasks_web import _feng_tasks

SCRIPT = b"<script>alert(1)</script>"


def _assert_private(r, url: str) -> None:
    assert r.status_code == 200, url
    assert r.headers["Cache-Control"] == "no-store", url
    assert "ETag" not in r.headers and "Last-Modified" not in r.headers, url
    assert r.headers["X-Content-Type-Options"] == "nosniff", url
    assert "sandbox" in r.headers["Content-Security-Policy"], url
    if r.mimetype != "application/zip":
        assert r.mimetype in ("image/jpeg", "image/png"), url
        assert SCRIPT not in r.data, url
        with Image.open(io.BytesIO(r.data)) as img:
            assert not img.getexif().get_ifd(GPS_IFD), url


def _name_id(app, model, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(model.id).join(Borrower).where(Borrower.name == name))


def test_every_image_view_answers_with_the_same_private_headers(app, client, demo):
    # A visit photo, with GPS and a script tail, reported from the officer's phone.
    tasks = _feng_tasks(app)
    visit_photo = jpeg_with_gps(640, 480, seed=41, appended=SCRIPT)
    report = {"report_uuid": str(uuid.uuid4()), "completed_at": "2026-11-25T03:00:00+00:00",
              "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                          "loan_use_verified": True, "notes": ""},
              "gps": {"lat": 30.6801, "lon": 104.1001, "accuracy_m": 20, "at": "2026-11-25T03:00:00+00:00", "is_mock": False},
              "photos": [{"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(visit_photo).hexdigest(),
                          "content_base64": base64.b64encode(visit_photo).decode()}]}
    task = next(t for t in tasks if t.status == "open")
    assert client.post(f"/api/v1/tasks/{task.uuid}/report", json=report, headers=enrol(app, "officer1")).status_code == 200
    with app.app_context():
        task_photo_id = db.session.scalar(select(TaskPhoto.id))

    # A repayment receipt, with GPS and a script tail.
    cashier = Auth(app.test_client())
    cashier.login("cashier1")
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan_id, version = loan.id, loan.version
    r = cashier.post(f"/loans/{loan_id}/repayments",
                     {"amount": "100", "paid_on": jobs.business_today().isoformat(), "channel": "cash",
                      "reference": "R-img", "version": version,
                      "receipt": (io.BytesIO(jpeg_with_gps(800, 600, seed=42, appended=SCRIPT)), "r.jpg")},
                     content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context():
        repayment_id = db.session.get(Loan, loan_id).repayments[-1].id

    # A screenshot cut by the clerk from a received photo.
    entry_app = _name_id(app, Application, "王五")
    photo_id, _ = attach_form_photo(app, entry_app)
    clerk = Auth(app.test_client())
    clerk.login("clerk1")
    assert clerk.post(f"/applications/{entry_app}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0.1, "y0": 0.1,
                                                            "x1": 0.5, "y1": 0.5, "label": "金额", "action": "screenshot"}).status_code == 200
    with app.app_context():
        shot_id = db.session.scalar(select(Screenshot.id))

    urls = [f"/applications/{entry_app}/photos/{photo_id}/{kind}" for kind in ("thumb", "view", "original")]
    urls += [f"/applications/{entry_app}/photos.zip"]
    urls += [f"/applications/{entry_app}/screenshots/{shot_id}/{kind}" for kind in ("thumb", "view", "original")]
    urls += [f"/loans/{loan_id}/repayments/{repayment_id}/receipt", f"/tasks/photos/{task_photo_id}"]
    # The director of 城关 may see all of them (his office's application, loan and visit).
    director = Auth(app.test_client())
    director.login("director1")
    for url in urls:
        _assert_private(director.client.get(url), url)
    # A conditional request gets the whole answer again, never a 304 from a hash.
    again = director.client.get(urls[0], headers={"If-None-Match": "*"})
    assert again.status_code == 200 and "ETag" not in again.headers
