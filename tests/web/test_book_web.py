"""The admin's book import page (issue 13): template, upload → check → import, refusals in Chinese."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.domain import book as dbook
from app.extensions import db
from app.models import AuditLog, Loan
from tests.conftest import Auth
from tests.integration.test_book import BAD_ID, BORROWERS, write_book


def _admin(app) -> Auth:
    admin = Auth(app.test_client())
    admin.login("admin")
    return admin


def _old_loans(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Loan).where(Loan.contract_no.like("OLD%")))


def test_the_template_has_the_three_sheets_and_their_headers(app, demo):
    r = _admin(app).client.get("/admin/book/template.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    assert wb.sheetnames == [dbook.BORROWERS, dbook.LOANS, dbook.REPAYMENTS]
    for sheet, columns in dbook.COLUMNS.items():
        rows = list(wb[sheet].iter_rows(values_only=True))
        assert rows[0] == columns and len(rows) == 2


def test_upload_check_then_import(app, demo, tmp_path):
    admin = _admin(app)
    page = admin.client.get("/admin/book/").get_data(as_text=True)
    assert "导入" in page and "/admin/book/template.xlsx" in page
    data = write_book(tmp_path / "b.xlsx").read_bytes()
    r = admin.post("/admin/book/check", data={"workbook": (io.BytesIO(data), "旧账.xlsx")},
                   content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="book-confirm"' in html and 'id="book-summary"' in html
    assert _old_loans(app) == 0
    digest = html.split('name="digest" value="')[1].split('"')[0]
    r = admin.post("/admin/book/import", data={"digest": digest, "file_name": "旧账.xlsx"})
    assert r.status_code == 200 and 'id="book-imported"' in r.get_data(as_text=True)
    assert _old_loans(app) == 2
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "book.import"))
        assert row.detail["after"]["file"] == "旧账.xlsx" and row.ip is not None
    # The same confirmation again: the stored file is gone, nothing happens twice.
    r = admin.post("/admin/book/import", data={"digest": digest})
    assert r.status_code == 422 and "重新上传" in r.get_data(as_text=True)


def test_a_bad_book_shows_every_problem_and_no_import_button(app, demo, tmp_path):
    b = [list(x) for x in BORROWERS]
    b[0][0], b[1][9] = BAD_ID, "nobody"
    data = write_book(tmp_path / "b.xlsx", borrowers=b).read_bytes()
    r = _admin(app).post("/admin/book/check", data={"workbook": (io.BytesIO(data), "b.xlsx")},
                         content_type="multipart/form-data", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="book-errors"' in html and 'id="book-confirm"' not in html
    assert "校验码" in html and "没有登录名为 nobody 的员工账号" in html
    assert _old_loans(app) == 0


def test_a_file_that_is_not_a_workbook_or_too_big_is_refused_in_chinese(app, demo, tmp_path):
    admin = _admin(app)
    r = admin.post("/admin/book/check", data={"workbook": (io.BytesIO(b"id,name\n"), "b.xlsx")},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and "不是 Excel 工作簿" in r.get_data(as_text=True)
    app.config["BOOK_MAX_BYTES"] = 1024
    data = write_book(tmp_path / "b.xlsx").read_bytes()
    r = admin.post("/admin/book/check", data={"workbook": (io.BytesIO(data), "b.xlsx")},
                   content_type="multipart/form-data")
    assert r.status_code == 422 and "最多只能导入" in r.get_data(as_text=True)
    assert _old_loans(app) == 0


def test_only_the_admin_reaches_the_page(app, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    assert officer.client.get("/admin/book/").status_code in (302, 303, 403)
    assert officer.client.get("/admin/book/template.xlsx").status_code in (302, 303, 403)


def test_a_workbook_left_unconfirmed_is_deleted_a_day_later(app, demo, tmp_path):
    # A checked book holds every borrower's ID number: it waits a day for 导入, then it goes.
    import os
    import time

    from app.extensions import photo_store

    admin = _admin(app)
    data = write_book(tmp_path / "b.xlsx").read_bytes()
    r = admin.post("/admin/book/check", data={"workbook": (io.BytesIO(data), "旧账.xlsx")},
                   content_type="multipart/form-data")
    digest = r.get_data(as_text=True).split('name="digest" value="')[1].split('"')[0]
    with app.app_context():
        folder = photo_store().uploads_dir / "book"
    waiting = folder / f"{digest}.xlsx"
    cut = folder / "cut-upload.part"
    cut.write_bytes(b"PK")
    two_days_ago = time.time() - 2 * 86400
    os.utime(waiting, (two_days_ago, two_days_ago))
    os.utime(cut, (two_days_ago, two_days_ago))
    other = write_book(tmp_path / "c.xlsx", repayments=[]).read_bytes()
    r = admin.post("/admin/book/check", data={"workbook": (io.BytesIO(other), "新账.xlsx")},
                   content_type="multipart/form-data")
    assert r.status_code == 200
    assert not waiting.exists() and not cut.exists()
    assert len(list(folder.glob("*.xlsx"))) == 1  # the new one waits
    r = admin.post("/admin/book/import", data={"digest": digest})
    assert r.status_code == 422 and "重新上传" in r.get_data(as_text=True)
