"""The reports' screens over HTTP: the index, one screen for every registered report, the htmx
results, the downloads (opened with openpyxl and csv), and the refusals - each a clear message,
never a 500, never another office's figures. A tiny report (tests/support/tiny_report.py) stands
for the screens' generic behaviour; the real reports are each shown and downloaded as registered."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import AuditLog, Loan
from app.services import reporting
from tests.support import tiny_report

HTMX = {"HX-Request": "true", "HX-Target": "report-results"}


@pytest.fixture()
def tiny(monkeypatch):
    tiny_report.register(monkeypatch, period=True)


@pytest.fixture()
def book(app, demo):
    with app.app_context():
        return tiny_report.add_loans(clock.business_today())


def test_the_menu_and_the_index_list_every_registered_report(client, auth, demo, tiny):
    auth.login("reviewer1")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports"' in home
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for spec in reporting.specs():
        assert f'href="/reports/{spec.name}"' in html


def test_a_role_without_the_loans_grant_sees_no_reports(client, auth, demo, tiny):
    auth.login("clerk1")
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)
    for path in ("/reports", "/reports/tiny", "/reports/tiny?format=xlsx"):
        r = client.get(path)
        assert r.status_code == 404 and "不存在或不在您的查看范围内" in r.get_data(as_text=True) or r.status_code == 404


def test_hq_sees_every_office_a_director_his_own_an_officer_his_own(app, client, auth, demo, book, tiny):
    counts = book
    assert counts == {"城关办事处": 2, "河口办事处": 1}
    auth.login("reviewer1")
    html = client.get("/reports/tiny").get_data(as_text=True)
    for office in counts:
        assert office in html
    assert f">{sum(counts.values())}<" in html.replace("<strong>", "").replace("</strong>", "")  # the totals row
    auth.post("/logout")
    auth.login("director1")  # 城关办事处
    html = client.get("/reports/tiny").get_data(as_text=True)
    assert "城关办事处" in html and "河口办事处" not in html.split('id="report-results"')[1]
    auth.post("/logout")
    auth.login("officer3")  # 河口: his own loans only
    with app.app_context():
        own = db.session.scalar(select(func.count(Loan.id)).where(Loan.officer_id == demo["officer3"]))
    html = client.get("/reports/tiny?list=1").get_data(as_text=True)
    assert html.count("<tr>") - 1 == max(own, 1)  # header + his rows (or the "nothing" row)


def test_filters_swap_only_the_results_for_htmx_and_stay_in_the_links(client, auth, demo, tiny):
    auth.login("reviewer1")
    r = client.get("/reports/tiny?office=CG&by=office", headers=HTMX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith("<section") and "<html" not in html
    assert "城关办事处" in html and "河口办事处" not in html
    assert "/reports/tiny?office=CG&amp;by=office&amp;format=xlsx" in html


def test_the_downloads_open_typed_with_the_filters_on_top_and_are_audited(app, client, auth, book, demo, tiny):
    auth.login("director1")
    r = client.get("/reports/tiny?list=1&office=CG&format=xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [tuple(row) for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "贷款" and values[1][0] == "截至日期" and ("机构", "CG") in [v[:2] for v in values]
    header = next(i for i, v in enumerate(values) if v[0] == "借款人")
    assert ws.freeze_panes == f"A{header + 2}"
    data = list(ws.iter_rows(min_row=header + 2))
    assert data, "the director's office has loans"
    assert data[0][1].is_date and data[0][2].data_type == "n" and data[0][2].number_format == "#,##0.00"
    r = client.get("/reports/tiny?list=1&format=csv")
    assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    lines = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert lines[0] == ["贷款"] and ["借款人"] == lines[lines.index([]) + 1][:1]
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "report.exported")
                                  .order_by(AuditLog.id)).all()
        assert [(a.actor_id, a.detail["report"], a.detail["format"], a.detail["personal"]) for a in rows] == [
            (demo["director1"], "tiny", "xlsx", True), (demo["director1"], "tiny", "csv", True)]
        assert rows[0].detail["filters"]["office"] == "CG" and rows[0].detail["rows"] == len(data) - 1  # - totals


REFUSALS = [
    ("/reports/tiny?from=2026-03-01&to=2026-02-01", 400, "期间的截止日期早于起始日期"),
    ("/reports/tiny?office=HK", 400, "在您的权限范围内没有该代码的机构"),
    ("/reports/tiny?office=NOPE", 400, "在您的权限范围内没有该代码的机构"),
    ("/reports/nonesuch", 404, "没有名为“nonesuch”的报表"),
    ("/reports/tiny?page=99", 400, "没有第 99 页"),
    ("/reports/tiny?page=-1", 400, "页码"),
    ("/reports/tiny?from=2015-01-01&to=2025-01-01", 400, "报表期间最长三年"),
    ("/reports/tiny?as_of=2026-13-01", 400, "必须是日期"),
    ("/reports/tiny?format=pdf", 400, "CSV 或 XLSX"),
    ("/reports/tiny?officer=999999", 400, "没有该客户经理"),
    ("/reports/tiny?by=village", 400, "不能按此方式分组"),
]


@pytest.mark.parametrize("path,status,said", REFUSALS)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_request_that_cannot_be_honoured_is_answered_in_words(client, auth, book, tiny, path, status, said, htmx):
    auth.login("director1")
    r = client.get(path, headers=HTMX if htmx else {})
    html = r.get_data(as_text=True)
    assert r.status_code == status and said in html, html[:3000]
    assert "河口办事处" not in html.split('id="report-results"')[-1]
    assert ("<html" in html) is not htmx


def test_a_director_cannot_reach_another_office_through_the_officer_filter(app, client, auth, demo, tiny):
    auth.login("director1")
    r = client.get(f"/reports/tiny?officer={demo['officer3']}")  # 河口's officer
    assert r.status_code == 400 and "没有该客户经理" in r.get_data(as_text=True)


def test_pages_of_a_long_list(app, client, auth, book, tiny, monkeypatch):
    monkeypatch.setattr(reporting, "PAGE_SIZE", 2)
    monkeypatch.setattr(reporting.page, "__defaults__", (2,))
    with app.app_context():
        total = db.session.scalar(select(func.count(Loan.id)))
    assert total >= 3
    auth.login("reviewer1")
    first = client.get("/reports/tiny?list=1").get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first and 'id="report-totals"' not in first
    last_page = -(-total // 2)
    last = client.get(f"/reports/tiny?list=1&page={last_page}").get_data(as_text=True)
    assert 'rel="next"' not in last and 'id="report-totals"' in last
    past = client.get(f"/reports/tiny?list=1&page={last_page + 1}")
    assert past.status_code == 400 and f"共 {last_page} 页" in past.get_data(as_text=True)


def _real_reports():
    return [spec for spec in reporting.specs() if spec.name != tiny_report.NAME]


@pytest.mark.parametrize("user", ["reviewer1", "director1", "officer1"])
def test_every_registered_report_shows_and_downloads(app, client, auth, book, user):
    auth.login(user)
    today = clock.business_today()
    for spec in _real_reports():
        query = f"?from={(today - timedelta(days=60)).isoformat()}&to={today.isoformat()}" if spec.period else ""
        r = client.get(f"/reports/{spec.name}{query}")
        assert r.status_code == 200, (spec.name, r.get_data(as_text=True)[:2000])
        assert 'id="report-table"' in r.get_data(as_text=True)
        for by in spec.by:
            sep = "&" if query else "?"
            assert client.get(f"/reports/{spec.name}{query}{sep}by={by}", headers=HTMX).status_code == 200, (spec.name, by)
        x = client.get(f"/reports/{spec.name}{query}{'&' if query else '?'}format=xlsx")
        assert x.status_code == 200, spec.name
        ws = load_workbook(io.BytesIO(x.data)).active
        assert ws.freeze_panes and ws.cell(1, 1).value
        c = client.get(f"/reports/{spec.name}{query}{'&' if query else '?'}format=csv")
        assert c.status_code == 200 and c.data.startswith(b"\xef\xbb\xbf"), spec.name


def test_the_loans_list_downloads_every_loan_in_reach_and_no_other(app, client, auth, book, demo):
    auth.login("director1")  # 城关: two loans; 河口's is not his
    page = client.get("/loans").get_data(as_text=True)
    assert 'href="/loans?format=xlsx"' in page and 'href="/loans?format=csv"' in page
    r = client.get("/loans?format=xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [tuple(v) for v in ws.iter_rows(values_only=True)]
    header = next(i for i, v in enumerate(values) if v[0] == "贷款编号")
    rows = values[header + 1:]
    assert len(rows) == 2 and all(v[2] == "城关办事处" for v in rows)
    assert {v[1] for v in rows} >= {"报表借款人2"} and "报表借款人1" not in {v[1] for v in rows}
    big = next(v for v in rows if v[1] == "报表借款人2")
    assert big[5] == 12345.5 and big[9] == 12345.5 and big[10] == 0 and big[11] == "正常"
    c = client.get("/loans?format=csv")
    assert c.data.startswith(b"\xef\xbb\xbf") and "报表借款人1" not in c.data.decode("utf-8-sig")
    with app.app_context():
        assert [a.detail["report"] for a in db.session.scalars(
            select(AuditLog).where(AuditLog.action == "report.exported"))] == ["loans", "loans"]
    auth.post("/logout")
    auth.login("clerk1")  # no loans grant
    assert client.get("/loans?format=csv").status_code == 404


def test_todays_report_says_whether_it_reads_the_opening_or_the_live_loans(app, client, auth, book):
    from app.services import jobs

    auth.login("reviewer1")
    for name in ("par", "classification", "officers"):
        page = client.get(f"/reports/{name}").get_data(as_text=True)
        assert "日终处理尚未运行" in page and "今日开始时的数据" not in page, name
    with app.app_context():
        jobs.run_daily(clock.business_today())
    for name in ("par", "classification", "officers"):
        page = client.get(f"/reports/{name}").get_data(as_text=True)
        assert "今日开始时的数据" in page and "日终处理尚未运行" not in page, name
    assert "今日开始时的数据" not in client.get(
        f"/reports/par?as_of={(clock.business_today() - timedelta(days=1)).isoformat()}").get_data(as_text=True)
