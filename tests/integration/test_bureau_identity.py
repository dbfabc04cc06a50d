"""Whose bureau report it is: another person's report refused with nothing stored, on logging a
query with it and on attaching it later; a report whose ID number cannot be read kept with a
warning on the box; the report's ID number never shown whole."""
from __future__ import annotations

import hashlib
import io

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Borrower
from app.models.credit import BureauQuery
from app.storage import make_store
from tests.conftest import Auth
from tests.integration.test_bureau import _app_id, _counts, _post, _scratch_files
from tests.support.bureau_report import report_text, text_pdf

OTHER = "41010219900101123X"  # 王小明's, not 李四's


def _borrower(app, name: str = "李四") -> tuple[str, str]:
    with app.app_context():
        b = db.session.scalar(select(Borrower).where(Borrower.name == name))
        return b.name, b.id_number


def _assert_refused_as_another_persons(app, text: str, pdf: bytes, before) -> None:
    assert "征信报告上的证件号码与借款人不符" in text
    assert OTHER not in text and OTHER[:6] + "********" + OTHER[-4:] in text  # masked as everywhere
    assert _counts(app) == before and not _scratch_files(app)
    assert not make_store(app.config).exists(hashlib.sha256(pdf).hexdigest())


def test_another_persons_report_is_refused_when_the_query_is_logged_with_it(app, client, auth, demo):
    app_id = _app_id(app)
    name, number = _borrower(app)
    assert number.upper() != OTHER
    auth.login("reviewer1")
    before = _counts(app)
    pdf = text_pdf(report_text(name="王小明", id_number=OTHER))
    r = _post(client, app_id, file=(pdf, "wang.pdf"))
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    _assert_refused_as_another_persons(app, page, pdf, before)
    assert number not in page


def test_another_persons_report_is_refused_when_attached_later(app, client, auth, demo):
    app_id = _app_id(app)
    _, number = _borrower(app)
    auth.login("reviewer1")
    assert _post(client, app_id, ref="R-9").status_code == 200
    with app.app_context():
        query_id = db.session.scalar(select(BureauQuery.id))
    before = _counts(app)
    pdf = text_pdf(report_text(name="王小明", id_number=OTHER.lower()))
    r = Auth(client).post(f"/applications/{app_id}/bureau/{query_id}/report", {"report": (io.BytesIO(pdf), "w.pdf")},
                          content_type="multipart/form-data", follow_redirects=True)
    _assert_refused_as_another_persons(app, r.get_data(as_text=True), pdf, before)
    with app.app_context():
        q = db.session.get(BureauQuery, query_id)
        assert (q.report_sha256, q.status, q.figures) == ("", "queried", {})
    # The borrower's own report is then attached to the same query.
    own = text_pdf(report_text(name="李四", id_number=number))
    r = Auth(client).post(f"/applications/{app_id}/bureau/{query_id}/report", {"report": (io.BytesIO(own), "own.pdf")},
                          content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context():
        q = db.session.get(BureauQuery, query_id)
        assert q.report_sha256 == hashlib.sha256(own).hexdigest() and q.figures["_identity"] == "match"
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "bureau_report_attached"))
        assert audit.detail["identity"] == "match"
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert "报告上的姓名和证件号码与借款人一致" in box and number not in box


def test_a_report_whose_id_number_cannot_be_read_is_kept_with_a_warning(app, client, auth, demo):
    app_id = _app_id(app)
    auth.login("reviewer1")
    # The samples print the number masked (410***********1234): nothing to compare.
    assert _post(client, app_id, file=(text_pdf(report_text()), "masked.pdf")).status_code == 200
    assert _post(client, app_id, ref="R-2").status_code == 200
    with app.app_context():
        first, later = db.session.scalars(select(BureauQuery).order_by(BureauQuery.id)).all()
        assert first.figures["_identity"] == "unchecked" and first.figures["open_loans"] == 2
        later_id = later.id
    r = Auth(client).post(f"/applications/{app_id}/bureau/{later_id}/report",
                          {"report": (io.BytesIO(text_pdf(report_text(open_loans=5))), "later.pdf")},
                          content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(BureauQuery, later_id).figures["_identity"] == "unchecked"
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert box.count('data-identity="unchecked"') == 2 and "无法核对此报告属于何人" in box and "人工核对" in box


def test_the_same_id_number_with_the_name_written_differently_is_kept_with_a_warning(app, client, auth, demo):
    app_id = _app_id(app)
    _, number = _borrower(app)
    auth.login("reviewer1")
    pdf = text_pdf(report_text(name="李肆", id_number=number))
    assert _post(client, app_id, file=(pdf, "r.pdf")).status_code == 200
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.figures["_identity"] == "name_differs" and q.report_sha256
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert 'data-identity="name_differs"' in box and "李肆" in box and "写法不同" in box and number not in box


def test_a_photographed_report_of_another_person_is_marked_so_once_ocr_has_read_it(app, client, auth, demo):
    """A photo is kept before OCR reads it, so it cannot be refused: once read, another person's
    number marks it ``id_differs`` and the box says so (a clean rendered page, as in test_bureau)."""
    import time

    from tests.support.bureau_report import report_image

    app.config["OCR_ENGINE"] = "rapidocr"
    app_id = _app_id(app)
    auth.login("reviewer1")
    png = report_image(report_text(name="王小明", id_number=OTHER))
    assert _post(client, app_id, file=(png, "wang.png")).status_code == 200
    deadline = time.monotonic() + 120
    box = ""
    while time.monotonic() < deadline:
        box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
        if "OCR 正在识别" not in box:
            break
        time.sleep(1)
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.status == "report_attached" and q.figures["_identity"] == "id_differs", q.figures
    assert 'data-identity="id_differs"' in box and "这是他人的报告" in box and OTHER not in box
