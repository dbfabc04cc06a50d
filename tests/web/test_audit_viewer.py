"""The audit log viewer (issue 13 item "audit"): filters, keyset pages, escaping, CSV, refusals."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.models import AuditLog
from app.models.audit import IdentityView
from app.services import audit


def _add(app, rows: list[dict]) -> None:
    with app.app_context():
        db.session.execute(insert(AuditLog), [{"object_type": "", "object_id": None, "ip": "", "detail": {}, **r} for r in rows])
        db.session.commit()


def _ids_on(html: str) -> list[int]:
    import re
    return [int(x) for x in re.findall(r'class="audit-row" data-id="(\d+)"', html)]


@pytest.mark.parametrize("username", ["admin", "auditor1"])
def test_admin_and_auditor_read_the_log_newest_first(app, client, auth, demo, username):
    auth.login(username)
    html = client.get("/admin/audit/").get_data(as_text=True)
    ids = _ids_on(html)
    assert ids and ids == sorted(ids, reverse=True)
    assert "审计日志" in html  # the title, in Chinese
    menu = client.get("/admin/users" if username == "admin" else "/").get_data(as_text=True)
    assert 'href="/admin/audit/"' in menu  # the admin's menu of administration, the auditor's main menu


@pytest.mark.parametrize("username", ["officer1", "director1", "clerk1", "reviewer1", "cashier1"])
def test_other_roles_are_refused(app, client, auth, demo, username):
    auth.login(username)
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403
    assert 'href="/admin/audit/"' not in client.get("/").get_data(as_text=True)


def test_filters_by_person_object_action_and_beijing_dates(app, client, auth, demo):
    at = datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc)  # 2026-03-01 23:30 Beijing
    late = datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)  # 2026-03-02 00:30 Beijing
    _add(app, [
        {"at": at, "actor_id": demo["cashier1"], "action": "loan_disbursed", "object_type": "loan", "object_id": 777},
        {"at": late, "actor_id": demo["cashier1"], "action": "repayment_recorded", "object_type": "loan", "object_id": 777},
        {"at": late, "actor_id": demo["clerk1"], "action": "entry_saved", "object_type": "application", "object_id": 777},
    ])
    auth.login("auditor1")

    def rows(**args):
        r = client.get("/admin/audit/", query_string=args)
        assert r.status_code == 200, r.get_data(as_text=True)
        with app.app_context():
            return [(a.action, a.object_id) for a in (db.session.get(AuditLog, i) for i in _ids_on(r.get_data(as_text=True)))]

    assert rows(object_type="loan", object_id="777") == [("repayment_recorded", 777), ("loan_disbursed", 777)]
    assert rows(object_type="application", object_id="777") == [("entry_saved", 777)]
    assert rows(action="loan_disbursed", object_id="777") == [("loan_disbursed", 777)]
    assert rows(person="cashier1", object_id="777") == [("repayment_recorded", 777), ("loan_disbursed", 777)]
    # The Beijing date, not the UTC one: 23:30 on 1 March is the 1st, 00:30 on the 2nd the 2nd.
    assert rows(**{"from": "2026-03-01", "to": "2026-03-01"}) == [("loan_disbursed", 777)]
    assert rows(**{"from": "2026-03-02", "to": "2026-03-02"}) == [("entry_saved", 777), ("repayment_recorded", 777)]
    assert rows(**{"from": "2027-01-01"}) == []


def test_keyset_pages_follow_one_another_without_gap_or_repeat(app, client, auth, demo):
    _add(app, [{"at": datetime(2026, 1, 1, tzinfo=timezone.utc), "actor_id": demo["admin"], "action": "bulk.test",
                "object_type": "setting", "object_id": i} for i in range(123)])
    auth.login("admin")
    seen, url = [], "/admin/audit/?action=bulk.test"
    html = client.get(url).get_data(as_text=True)
    seen += _ids_on(html)
    while 'id="audit-more"' in html:
        import re
        nxt = re.search(r'id="audit-more" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert "before=" in nxt and "action=bulk.test" in nxt and "offset" not in nxt
        html = client.get(nxt, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<h1>" not in html  # the htmx answer is the rows alone
        seen += _ids_on(html)
    assert len(seen) == 123 and len(set(seen)) == 123 and seen == sorted(seen, reverse=True)


def test_before_after_as_a_table_and_every_value_escaped(app, client, auth, demo):
    with app.app_context():
        audit.record("product.changed", actor_id=demo["admin"], object_type="product", object_id=5,
                     before={"name": "<script>alert(1)</script>"}, after={"name": "<b>new</b>"},
                     note="<img src=x onerror=alert(2)>")
        db.session.commit()
    auth.login("admin")
    html = client.get("/admin/audit/?object_type=product&object_id=5").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>new</b>" not in html and "&lt;b&gt;new&lt;/b&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert 'class="audit-changes"' in html and "note:" in html


@pytest.mark.parametrize("args,field,message", [
    ({"from": "2026-02-30"}, "from", "日期格式为 年-月-日"),
    ({"to": "yesterday"}, "to", "日期格式为 年-月-日"),
    ({"object_type": "spaceship"}, "object_type", "未知的对象类型"),
    ({"object_id": "12a"}, "object_id", "对象编号必须是整数"),
    ({"action": "DROP TABLE"}, "action", "操作名"),
    ({"person": "nobody-here"}, "person", "没有登录名或姓名为"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "结束日期不能早于开始日期"),
])
def test_a_bad_filter_gets_a_chinese_message_not_a_500(app, client, auth, demo, args, field, message):
    auth.login("admin")
    r = client.get("/admin/audit/", query_string=args)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and message in html and f'id="err-{field}"' in html
    assert client.get("/admin/audit/export.csv", query_string=args).status_code == 422


def test_csv_export_has_a_bom_is_formula_safe_streams_the_filter_and_is_audited(app, client, auth, demo):
    _add(app, [{"at": datetime(2026, 1, 1, tzinfo=timezone.utc), "actor_id": demo["admin"], "action": "csv.test",
                "object_type": "setting", "object_id": 1, "detail": {"note": "=HYPERLINK(\"http://x\")", "n": "-1+2", "a": "@SUM(A1)"}}])
    auth.login("auditor1")
    r = client.get("/admin/audit/export.csv?action=csv.test")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][4] == "csv.test"
    detail = rows[1][9]
    assert detail.startswith("note: =HYPERLINK")  # inside a cell that starts with text: harmless
    from app.services.audit_log import safe_cell
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("张三") == "张三" and safe_cell(5) == "5"
    with app.app_context():
        exported = db.session.scalars(select(AuditLog).where(AuditLog.action == "audit_log.exported")).one()
        assert exported.actor_id == demo["auditor1"] and exported.detail["filter"] == {"action": "csv.test"}


def test_a_cell_of_the_csv_starting_with_a_formula_is_prefixed(app, client, auth, demo):
    _add(app, [{"at": datetime(2026, 1, 1, tzinfo=timezone.utc), "actor_id": demo["admin"], "action": "csv.test2",
                "object_type": "setting", "object_id": 1, "ip": "=cmd|' /C calc'!A0"}])
    auth.login("admin")
    body = client.get("/admin/audit/export.csv?action=csv.test2").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][7] == "'=cmd|' /C calc'!A0"


def test_identity_views_are_in_the_viewer(app, client, auth, demo):
    from app.models import Borrower
    with app.app_context():
        borrower_id = db.session.scalars(select(Borrower.id)).first()
        db.session.execute(insert(IdentityView), [{"at": datetime(2026, 2, 1, tzinfo=timezone.utc), "viewer_id": demo["clerk1"],
                                                   "borrower_id": borrower_id, "what": "id_number,id_photo",
                                                   "object_type": "application", "object_id": 9, "ip": "10.0.0.9"}])
        db.session.commit()
    auth.login("auditor1")
    html = client.get("/admin/audit/", query_string={"source": "views", "person": "clerk1",
                                                     "object_type": "borrower", "object_id": borrower_id}).get_data(as_text=True)
    assert "identity.viewed" in html and "id_number,id_photo" in html and "10.0.0.9" in html
    body = client.get("/admin/audit/export.csv", query_string={"source": "views", "person": "clerk1"}).get_data().decode("utf-8-sig")
    assert "identity.viewed" in body
    html = client.get("/admin/audit/", query_string={"source": "views", "object_type": "loan"}).get_data(as_text=True)
    assert 'class="audit-row"' not in html
