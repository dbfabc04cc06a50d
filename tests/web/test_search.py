"""The query terminal's search box: each kind of key, the filters, sorting, pages, reach, refusals."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Loan
from app.services import search


def _names(client, **args) -> str:
    return client.get("/search/?" + urlencode(args)).get_data(as_text=True)


def _borrower(app, name: str) -> Borrower:
    with app.app_context():
        b = db.session.scalar(select(Borrower).where(Borrower.name == name))
        db.session.expunge(b)
        return b


def test_kind_of_each_key():
    assert search.kind_of("51340119800212123X") == "id_number"
    assert search.kind_of("12123X") == "id_last6" and search.kind_of("121234") == "id_last6"
    assert search.kind_of("13908120009") == "mobile" and search.kind_of("1390812") == "mobile"
    assert search.kind_of("#12") == "application" and search.kind_of("12") == "application"
    assert search.kind_of("CG-2026-00001") == "loan"
    assert search.kind_of("张") == "text" and search.kind_of("") == "all"


def test_hq_finds_by_name_prefix_id_last6_mobile_and_full_id_masked(app, client, auth, demo):
    feng = _borrower(app, "冯十二")
    auth.login("reviewer1")
    html = _names(client, q="冯")
    assert "冯十二" in html and "张三" not in html
    assert feng.id_number not in html and feng.id_number_masked in html  # masked in the results
    html = _names(client, q=feng.id_number[-6:].lower())
    assert "冯十二" in html and "张三" not in html
    assert "冯十二" in _names(client, q=feng.id_number)
    assert "冯十二" in _names(client, q=feng.phone)
    assert "冯十二" in _names(client, q=feng.phone[:8])
    # A name is matched by its beginning: the given name alone finds nobody (see app/services/search.py).
    assert "冯十二" not in _names(client, q="十二")
    # The village by its beginning.
    html = _names(client, q="河口乡")
    assert "钱七" in html and "冯十二" not in html


def test_loan_number_and_application_number(app, client, auth, demo):
    with app.app_context():
        loan = db.session.scalar(select(Loan))
        contract_no, borrower_id = loan.contract_no, loan.borrower_id
        zhang_app = db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "张三"))
    auth.login("reviewer1")
    html = _names(client, q=contract_no)
    assert f"/borrowers/{borrower_id}" in html and "张三" not in html
    html = _names(client, q=f"#{zhang_app}")
    assert "张三" in html and "冯十二" not in html


def test_filters_state_class_dpd_product_and_dates(app, client, auth, demo):
    auth.login("reviewer1")
    html = _names(client, state="active")
    assert "冯十二" in html and "张三" not in html
    html = _names(client, state="awaiting_l1")
    assert "李四" in html and "冯十二" not in html
    assert "冯十二" in _names(client, **{"class": "normal"})
    assert "冯十二" not in _names(client, **{"class": "loss"})
    assert "冯十二" in _names(client, dpd_min="0", product="XYD")
    assert "冯十二" not in _names(client, product="LBD", state="active")
    assert "冯十二" not in _names(client, **{"from": "2000-01-01", "to": "2000-12-31"})


def test_reach_an_officer_sees_only_his_customers(app, client, auth, demo):
    auth.login("officer3")
    html = _names(client)
    assert "钱七" in html and "冯十二" not in html and "张三" not in html
    # Not by a name, an ID number or an office code either.
    feng = _borrower(app, "冯十二")
    assert "冯十二" not in _names(client, q=feng.id_number[-6:])
    r = client.get("/search/?office=CG")
    assert r.status_code == 400 and "冯十二" not in r.get_data(as_text=True)


def test_director_office_filter_and_sort_and_pages(app, client, auth, demo, monkeypatch):
    auth.login("director1")
    html = _names(client)
    assert "冯十二" in html and "钱七" not in html  # 城关's director: not 河口's borrowers
    monkeypatch.setattr(search, "PER_PAGE", 2)
    first = _names(client, sort="oldest")
    assert first.index("张三") < first.index("李四") and 'rel="next"' in first
    second = _names(client, sort="oldest", page="2")
    assert "张三" not in second and 'rel="prev"' in second
    newest = _names(client, sort="newest")
    with app.app_context():
        from app.models import Borrower, User

        office = db.session.scalar(select(User.office_id).where(User.username == "director1"))
        last = db.session.scalar(select(Borrower.name).where(Borrower.office_id == office).order_by(Borrower.id.desc()))
    assert last in newest and "张三" not in newest


@pytest.mark.parametrize("args,message", [
    ({"page": "99"}, "没有第 99 页"),
    ({"page": "5000"}, "缩小"),
    ({"from": "2026-05-01", "to": "2026-01-01"}, "起始日期"),
    ({"dpd_min": "30", "dpd_max": "5"}, "天数"),
    ({"from": "yesterday"}, "YYYY-MM-DD"),
    ({"office": "NOPE"}, "机构"),
    ({"sort": "drop table"}, "排序"),
    ({"state": "nonsense"}, "状态"),
])
def test_bad_input_is_a_clear_message_never_a_500(app, client, auth, demo, args, message):
    auth.login("reviewer1")
    r = client.get("/search/?" + urlencode(args))
    html = r.get_data(as_text=True)
    assert r.status_code == 400, html
    assert message in html
    r = client.get("/search/?" + urlencode(args), headers={"HX-Request": "true"})
    assert r.status_code == 400 and 'id="search-results"' in r.get_data(as_text=True)


def test_htmx_gets_the_results_alone_and_the_url_is_shareable(app, client, auth, demo):
    auth.login("reviewer1")
    r = client.get("/search/?q=冯&state=active", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and "冯十二" in html
    page = _names(client, q="冯", state="active")
    assert 'value="冯"' in page and 'value="active" selected' in page  # the filters come back from the URL


def test_like_wildcards_are_literal(app, client, auth, demo):
    auth.login("reviewer1")
    assert "冯十二" not in _names(client, q="%")
    assert "冯十二" not in _names(client, q="_")


def test_results_export_as_xlsx_and_csv_masked_and_audited(app, client, auth, demo):
    import csv
    import io

    import openpyxl

    from app.models import AuditLog

    feng = _borrower(app, "冯十二")
    auth.login("director1")
    r = client.get("/search/export?" + urlencode({"q": "冯", "format": "xlsx"}))
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True).active
    flat = [v for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert "冯十二" in flat and feng.id_number_masked in flat and feng.id_number not in flat
    assert "张三" not in flat and "冯" in flat  # the query written at the top
    r = client.get("/search/export?" + urlencode({"state": "active", "format": "csv"}))
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff") and "冯十二" in text and "张三" not in text
    with app.app_context():
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "report.exported")).all()
        assert len(audits) == 2 and all(a.actor_id == demo["director1"] for a in audits)
    # Reach holds in the export too: another office's officer exports nothing of 城关's.
    other = app.test_client()
    from tests.conftest import Auth
    Auth(other).login("officer3")
    text = other.get("/search/export?format=csv").data.decode("utf-8")
    assert "冯十二" not in text and "钱七" in text


@pytest.mark.parametrize("q,index", [
    ("张", "ix_borrowers_name (name>"),        # a name by its beginning: a range on the name index, not a scan
    ("1390812", "ix_borrowers_phone (phone>"),  # a mobile number's beginning
    ("121315", "ix_borrowers_id_last6 (id_last6="),  # the ID number's last six digits
    ("CG-2026", "(contract_no>"),               # a loan number's beginning (its unique index)
])
def test_each_kind_of_query_reads_an_index_range_on_sqlite(app, demo, q, index):
    """The plan, not the time: each key is read from its index (SQLite's LIKE alone never uses one)."""
    from sqlalchemy import text

    from app.models import User

    with app.app_context():
        conn = db.session.connection()
        if conn.dialect.name != "sqlite":
            pytest.skip("MariaDB chooses by its statistics: measured on a generated book (bench/)")
        user = db.session.get(User, demo["reviewer1"])
        stmt = search._select(user, search.parse({"q": q}, user)).limit(26)
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
        assert any("USING" in step and index in step for step in plan), plan


def test_the_borrowers_list_search_uses_the_same_keys(app, client, auth, demo):
    """/borrowers?q= goes through the search keys too: a typed % is a character, not "everyone"
    (it was a %…% LIKE that read every borrower), and the last six digits find the borrower."""
    feng = _borrower(app, "冯十二")
    auth.login("reviewer1")
    rows = client.get("/borrowers/", query_string={"q": "%"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "冯十二" not in rows and "张三" not in rows
    rows = client.get("/borrowers/", query_string={"q": feng.id_number[-6:]},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "冯十二" in rows and "张三" not in rows
