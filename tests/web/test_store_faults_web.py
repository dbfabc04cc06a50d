"""Staff pages with the photo store failing under them (SeaweedFS behind a real proxy that is cut,
or reached with an identity that may not write): a 503 page in Chinese, never a 500, and nothing
of the request written — no screenshot, no repayment, no download recorded."""
from __future__ import annotations

import io
import logging
import os

from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Loan, Photo, Screenshot
from app.services import jobs
from app.storage import make_store
from tests.support.entry_photos import attach_form_photo
from tests.support.store_proxy import app_behind_proxy_fixture, needs_s3, proxy_fixture  # noqa: F401 (fixtures app, proxy)
from tests.sync_helpers import jpeg_bytes

pytestmark = needs_s3


def _audits(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def _friendly_503(response) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert response.headers["Retry-After"]
    assert "照片暂时无法使用" in page and "暂时无法连接照片存储" in page
    return page


def _wangwu(app) -> tuple[int, int]:
    """王五's application (clerk1's entry queue) and one of its received photos."""
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        photo = db.session.scalar(select(Photo).where(Photo.application_id == a.id, Photo.received_at.is_not(None)))
        return a.id, photo.id


def test_photo_views_and_the_zip_with_the_store_down_answer_a_503_page(app, client, auth, demo, proxy):
    app_id, photo_id = _wangwu(app)
    auth.login("clerk1")
    assert client.get(f"/applications/{app_id}/photos/{photo_id}/view").status_code == 200

    proxy.down()
    for kind in ("thumb", "original"):
        _friendly_503(client.get(f"/applications/{app_id}/photos/{photo_id}/{kind}"))
    before = _audits(app, "photos_downloaded")
    _friendly_503(client.get(f"/applications/{app_id}/photos.zip"))
    assert _audits(app, "photos_downloaded") == before  # a download that did not happen is not recorded

    proxy.up()
    assert client.get(f"/applications/{app_id}/photos/{photo_id}/thumb").status_code == 200


def test_a_screenshot_whose_write_fails_is_not_saved_and_the_fragment_says_why(app, client, auth, demo, proxy):
    app_id, _ = _wangwu(app)
    photo_id, _ = attach_form_photo(app, app_id)
    auth.login("clerk1")
    # The photo is read; the write of the cut-out region is cut off.
    proxy.drop(lambda method, path: method == "PUT" and "/objects/" in path)
    r = auth.post(f"/applications/{app_id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0.1, "y0": 0.2,
                                                     "x1": 0.6, "y1": 0.4, "label": "签名", "action": "screenshot"},
                  headers={"HX-Request": "true"})
    _friendly_503(r)
    assert r.headers["HX-Retarget"] == "#messages"  # htmx puts the message where messages go
    assert proxy.matched >= 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Screenshot)) == 0
    assert _audits(app, "screenshot_saved") == 0

    proxy.drop(None)
    ok = auth.post(f"/applications/{app_id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0.1, "y0": 0.2,
                                                      "x1": 0.6, "y1": 0.4, "label": "签名", "action": "screenshot"},
                   headers={"HX-Request": "true"})
    assert ok.status_code == 200 and "签名" in ok.get_data(as_text=True)
    assert _audits(app, "screenshot_saved") == 1


def test_a_receipt_the_store_refuses_records_no_repayment_and_is_logged_as_an_error(app, client, auth, demo, caplog):
    auth.login("cashier1")
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan_id, version, paid = loan.id, loan.version, len(loan.repayments)
    # The identity loses its write permission while the app runs.
    app.extensions["photo_store"] = make_store({
        **app.config, "AWS_ACCESS_KEY_ID": os.environ["TEST_S3_READONLY_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["TEST_S3_READONLY_SECRET_ACCESS_KEY"]})
    form = {"amount": "100", "paid_on": jobs.business_today().isoformat(), "channel": "cash", "reference": "R-503",
            "version": version, "receipt": (io.BytesIO(jpeg_bytes(800, 600)), "r.jpg")}
    with caplog.at_level(logging.WARNING):
        r = auth.post(f"/loans/{loan_id}/repayments", form, content_type="multipart/form-data")
    _friendly_503(r)
    assert any(rec.levelno == logging.ERROR and "AccessDenied" in rec.getMessage() for rec in caplog.records)
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        assert len(loan.repayments) == paid and loan.version == version
