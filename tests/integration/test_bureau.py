"""Credit-bureau queries: no consent, no query; the report stored content-addressed and its figures
read; bad files refused with nothing written; the report and the log only for those who may."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Application, AuditLog, Borrower
from app.models.audit import IdentityView
from app.models.credit import BureauQuery
from app.storage import make_store
from tests.conftest import Auth
from tests.support.bureau_report import report_image, report_text, scanned_pdf, text_pdf


def _app_id(app, name: str = "李四") -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower, Application.borrower_id == Borrower.id)
                                 .where(Borrower.name == name))


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(BureauQuery.id))),
                db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("bureau%"))))


def _post(client, app_id: int, *, purpose: str = "loan_approval", ref: str = "", file: tuple[bytes, str] | None = None):
    data = {"purpose": purpose, "result_ref": ref}
    if file is not None:
        data["report"] = (io.BytesIO(file[0]), file[1])
    return Auth(client).post(f"/applications/{app_id}/bureau", data, content_type="multipart/form-data",
                             follow_redirects=True)


def _scratch_files(app) -> list:
    return [p for p in make_store(app.config).uploads_dir.iterdir() if p.suffix == ".report"]


def test_no_consent_no_query(app, client, auth, demo):
    app_id = _app_id(app)
    with app.app_context():
        a = db.session.get(Application, app_id)
        for p in a.photos:
            if p.item.code == "bureau_consent":
                p.received_at = None
        db.session.commit()
    auth.login("reviewer1")
    before = _counts(app)
    r = _post(client, app_id, file=(text_pdf(report_text()), "report.pdf"))
    assert "征信授权书" in r.get_data(as_text=True) and "不得查询" in r.get_data(as_text=True)
    assert _counts(app) == before and not _scratch_files(app)


def test_a_query_with_its_pdf_report_is_logged_stored_and_read(app, client, auth, demo):
    app_id = _app_id(app)
    auth.login("reviewer1")
    pdf = text_pdf(report_text(open_loans=2, overdue_count=1, overdue_months=3, worst="关注",
                               balance=Decimal("35000")))
    r = _post(client, app_id, file=(pdf, "王的征信报告.pdf"))
    assert r.status_code == 200 and "征信查询已登记" in r.get_data(as_text=True)
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert (q.purpose, q.status, q.application_id) == ("loan_approval", "report_attached", app_id)
        assert q.figures["open_loans"] == 2 and q.figures["overdue_count"] == 1 and q.figures["worst_class"] == "关注"
        assert q.figures["total_balance"] == "35000.00" and q.result_ref == "2026112000001234567"
        assert q.consent_photo_id is not None and q.report_name == "王的征信报告.pdf"
        store = make_store(app.config)
        assert store.exists(q.report_sha256)
        with store.open(q.report_sha256) as f:
            assert f.read() == pdf
        actions = [a for a in db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("bureau%")))]
        assert sorted(actions) == ["bureau_queried", "bureau_report_attached"]
        query_id = q.id
    # The figures on the application page's box, with a link to the report.
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert "未结清贷款笔数" in box and "关注" in box and "35,000.00" in box
    assert f"/applications/{app_id}/bureau/{query_id}/report" in box
    # The report itself, through the one responder, traced as an identity view.
    r = client.get(f"/applications/{app_id}/bureau/{query_id}/report")
    assert r.status_code == 200 and r.data == pdf and r.mimetype == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store" and "sandbox" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "attachment" in r.headers["Content-Disposition"]
    with app.app_context():
        view = db.session.scalar(select(IdentityView).where(IdentityView.object_type == "bureau_report"))
        assert view is not None and view.what == "bureau_report" and view.object_id == query_id


def test_a_query_without_a_report_then_its_photo_attached(app, client, auth, demo):
    app_id = _app_id(app)
    auth.login("special1")
    r = _post(client, app_id, purpose="guarantor_check", ref="R-77")
    assert r.status_code == 200
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert (q.status, q.result_ref, q.report_sha256) == ("queried", "R-77", "")
        query_id = q.id
    r = Auth(client).post(f"/applications/{app_id}/bureau/{query_id}/report",
                          {"report": (io.BytesIO(report_image()), "scan.png")}, content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context():
        q = db.session.get(BureauQuery, query_id)
        # OCR is off in the tests' configuration: stored, nothing read, said so.
        assert q.report_sha256 and q.figures.get("_type") == "image/png" and q.status in ("reading", "report_attached")


@pytest.mark.parametrize("content,name,words", [
    (b"hello, this is text", "report.txt", "PDF"),
    (b"%PDF-1.4\n1 0 obj garbage\n%%EOF", "broken.pdf", "无法读取"),
    (None, "scan.pdf", "扫描件"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "cut.png", "无法读取"),
    (b"", "empty.pdf", "为空"),
])
def test_bad_report_files_are_refused_with_nothing_written(app, client, auth, demo, content, name, words):
    app_id = _app_id(app)
    auth.login("reviewer1")
    before = _counts(app)
    r = _post(client, app_id, file=(scanned_pdf() if content is None else content, name))
    assert r.status_code == 200 and words in r.get_data(as_text=True), r.get_data(as_text=True)[-3000:]
    assert _counts(app) == before and not _scratch_files(app)


def test_an_oversize_report_is_refused(app, client, auth, demo):
    app.config["MAX_PHOTO_BYTES"] = 50_000
    app_id = _app_id(app)
    auth.login("reviewer1")
    before = _counts(app)
    r = _post(client, app_id, file=(b"%PDF-1.7\n" + b"0" * 60_000, "big.pdf"))
    assert "上限" in r.get_data(as_text=True) and "MB" in r.get_data(as_text=True)
    assert _counts(app) == before and not _scratch_files(app)


def test_who_may_query_read_and_see_the_log(app, demo):
    app_id = _app_id(app)
    reviewer = app.test_client()
    Auth(reviewer).login("reviewer1")
    assert _post(reviewer, app_id, file=(text_pdf(report_text()), "r.pdf")).status_code == 200
    with app.app_context():
        query_id = db.session.scalar(select(BureauQuery.id))
    report = f"/applications/{app_id}/bureau/{query_id}/report"
    expected = {  # user: (box, post a query, report, log)
        "reviewer1": (200, 303, 200, 403), "special1": (200, 303, 200, 403), "reviewer2": (200, 403, 200, 403),
        "auditor1": (200, 403, 403, 200), "admin": (403, 403, 403, 200), "clerk1": (403, 403, 403, 403),
        "director1": (403, 403, 403, 403), "officer1": (403, 403, 403, 403), "cashier1": (403, 403, 403, 403),
    }
    for user, (box, post, read, log) in expected.items():
        client = app.test_client()
        Auth(client).login(user)
        got = (client.get(f"/applications/{app_id}/bureau").status_code,
               Auth(client).post(f"/applications/{app_id}/bureau", {"purpose": "post_loan"}).status_code,
               client.get(report).status_code, client.get("/admin/bureau-queries").status_code)
        assert got == (box, post, read, log), user


def test_the_query_log_filters_and_downloads(app, demo):
    app_id = _app_id(app)
    reviewer = app.test_client()
    Auth(reviewer).login("reviewer1")
    _post(reviewer, app_id, ref="=HYPERLINK(1)")
    auditor = app.test_client()
    Auth(auditor).login("auditor1")
    page = auditor.get("/admin/bureau-queries").get_data(as_text=True)
    assert "周涛" in page and "贷前审查" in page and "李四" in page
    with app.app_context():
        number = db.session.scalar(select(Borrower.id_number).where(Borrower.name == "李四"))
    assert number not in page and number[-4:] in page  # masked
    assert "李四" not in auditor.get("/admin/bureau-queries?user=reviewer2").get_data(as_text=True)
    assert "李四" not in auditor.get("/admin/bureau-queries?from=2000-01-01&to=2000-01-02").get_data(as_text=True)
    r = auditor.get("/admin/bureau-queries?from=yesterday")
    assert r.status_code == 422 and "YYYY-MM-DD" not in r.get_data(as_text=True)
    r = auditor.get("/admin/bureau-queries.csv")
    body = r.data.decode("utf-8")
    assert r.status_code == 200 and body.startswith("\ufeff时间") and "周涛" in body and "'=HYPERLINK(1)" in body
    assert number not in body
    with app.app_context():
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "bureau_log_exported"))


def test_a_photographed_report_is_read_by_ocr(app, client, auth, demo):
    """The image path: the report photo goes to the OCR worker, the figures are read from its lines
    when it is done (a clean rendered page; real photographed reports are not claimed)."""
    import time

    app.config["OCR_ENGINE"] = "rapidocr"
    app_id = _app_id(app)
    auth.login("reviewer1")
    png = report_image(report_text(open_loans=4, overdue_count=2, overdue_months=5, worst="次级"))
    r = _post(client, app_id, file=(png, "report.png"))
    assert r.status_code == 200
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
        if "OCR 正在识别" not in box:
            break
        time.sleep(1)
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.status == "report_attached" and q.figures["_source"] == "ocr", q.figures
        assert (q.figures.get("open_loans"), q.figures.get("overdue_count"), q.figures.get("overdue_months"),
                q.figures.get("worst_class")) == (4, 2, 5, "次级"), q.figures


def test_a_report_is_a_stored_file_for_the_migration_and_outlives_a_purged_photo_of_the_same_bytes(app, demo):
    """``flask photos migrate`` counts reports among the files the database names; the retention
    purge of a rejected application never deletes bytes a bureau report still is."""
    from datetime import timedelta

    from sqlalchemy import update

    from app import clock
    from app.models import Photo, Transition
    from app.services import photo_migration, retention

    app_id = _app_id(app)
    reviewer = app.test_client()
    Auth(reviewer).login("reviewer1")
    with app.app_context():
        store = make_store(app.config)
        a = db.session.get(Application, app_id)
        photo = next(p for p in a.photos if p.received_at is not None)
        with store.open(photo.sha256) as f:
            image = f.read()
    # The reviewer uploads, as the report, a picture that is also one of the application's photos.
    _post(reviewer, app_id, file=(image, "photo.jpg"))
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.report_sha256 == photo.sha256
        refs = {(r.sha256, r.kind) for r in photo_migration.referenced_hashes()}
        assert (q.report_sha256, "bureau_report") in refs
        back = clock.now() - timedelta(days=400)
        db.session.execute(update(Application).where(Application.id == app_id).values(state="rejected", updated_at=back))
        db.session.execute(update(Transition).where(Transition.application_id == app_id).values(at=back))
        db.session.commit()
        retention.purge(today=clock.business_today(), now=clock.now(),
                        settings=retention.RetentionSettings(rejected_photos_days=180, closed_loan_photos_years=5),
                        store=store)
        assert db.session.get(Photo, photo.id).purged_at is not None  # the photo is purged …
        assert store.exists(q.report_sha256)                         # … the report's bytes stay


def test_a_report_file_name_with_a_line_break_is_kept_without_it_and_downloads(app, client, auth, demo):
    """A browser may send a file name percent-encoded (RFC 2231), line break included: kept as it
    was, every download of the report was a server error (a header cannot hold a line break)."""
    from tests.conftest import csrf_token

    app_id = _app_id(app)
    auth.login("reviewer1")
    pdf = text_pdf(report_text())
    parts = [(b'name="csrf_token"', csrf_token(client, "/").encode()), (b'name="purpose"', b"loan_approval"),
             (b"name=\"report\"; filename*=UTF-8''%E5%BE%81%E4%BF%A1%0D%0Ab%E2%80%AE.pdf\r\n"
              b"Content-Type: application/pdf", pdf)]
    body = b"".join(b"--B0undary\r\nContent-Disposition: form-data; " + head + b"\r\n\r\n" + value + b"\r\n"
                    for head, value in parts) + b"--B0undary--\r\n"
    r = client.post(f"/applications/{app_id}/bureau", data=body, content_type="multipart/form-data; boundary=B0undary")
    assert r.status_code == 303
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.report_name == "征信b.pdf"
        query_id = q.id
    r = client.get(f"/applications/{app_id}/bureau/{query_id}/report")
    assert r.status_code == 200 and r.data == pdf and "attachment" in r.headers["Content-Disposition"]


def test_two_clerks_attaching_a_report_to_one_query_at_once_keep_one_and_nothing_of_the_other(
        app, client, auth, demo, monkeypatch):
    """Both uploads are read and checked before either is attached (a barrier holds them there): the
    first keeps his report, the second is refused in words, and his file is never stored."""
    import hashlib
    import threading

    from app.models import User
    from app.services import bureau

    app_id = _app_id(app)
    auth.login("reviewer1")
    assert _post(client, app_id, ref="R-1").status_code == 200
    with app.app_context():
        query_id = db.session.scalar(select(BureauQuery.id))
        clerk_ids = [db.session.scalar(select(User.id).where(User.username == n)) for n in ("reviewer1", "special1")]
        audits = _counts(app)[1]
    files = [text_pdf(report_text(open_loans=1)), text_pdf(report_text(open_loans=4))]
    shas = [hashlib.sha256(f).hexdigest() for f in files]
    assert shas[0] != shas[1]
    barrier = threading.Barrier(2, timeout=30)
    real = bureau._read_report

    def both_read_first(*args, **kwargs):
        parsed = real(*args, **kwargs)
        barrier.wait()  # both files read and checked before either claims the query
        return parsed

    monkeypatch.setattr(bureau, "_read_report", both_read_first)
    results: dict[int, str] = {}

    def attach(i: int) -> None:
        with app.app_context():
            try:
                query = db.session.get(BureauQuery, query_id)
                bureau.attach_report(query, db.session.get(User, clerk_ids[i]), report=io.BytesIO(files[i]),
                                     report_name=f"r{i}.pdf", store=make_store(app.config),
                                     settings=bureau.BureauSettings.from_config(app.config), now=clock.now())
                results[i] = "attached"
            except bureau.BureauError as e:
                db.session.rollback()
                results[i] = e.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attach, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == ["attached", "bureau_report_attached_meanwhile"], results
    winner = next(i for i, r in results.items() if r == "attached")
    store = make_store(app.config)
    with app.app_context():
        q = db.session.get(BureauQuery, query_id)
        assert q.report_sha256 == shas[winner] and q.figures["open_loans"] == (1, 4)[winner]
        assert _counts(app)[1] == audits + 1  # one bureau_report_attached
    assert store.exists(shas[winner]) and not store.exists(shas[1 - winner])
    assert not _scratch_files(app)
    # The loser is told in Chinese on the page.
    auth.post("/logout")
    auth.login("special1")
    r = Auth(client).post(f"/applications/{app_id}/bureau/{query_id}/report",
                          {"report": (io.BytesIO(files[1 - winner]), "late.pdf")}, content_type="multipart/form-data",
                          follow_redirects=True)
    assert "该查询已附报告" in r.get_data(as_text=True)
    assert store.exists(shas[winner]) and not store.exists(shas[1 - winner]) and not _scratch_files(app)
