"""The books on screen: who may see and do what, bad input refused in Chinese with nothing written,
and a manual entry seen in the journal and the trial balance, then reversed by its mirror."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Account, AuditLog, JournalEntry, LedgerPeriod


def _entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(JournalEntry))


def _second_accountant(app) -> None:
    """A second accountant who signs in with the demo password (a reversal needs another person)."""
    from app.models import User, UserRole

    with app.app_context():
        first = db.session.scalar(select(User).where(User.username == "accountant1"))
        user = User(username="accountant2", full_name="第二会计", password_hash=first.password_hash,
                    office_id=first.office_id)
        user.role_rows = [UserRole(role="accountant")]
        db.session.add(user)
        db.session.commit()


def _entry(auth, summary, lines, day=None):
    data = {"date": (day or clock.business_today()).isoformat(), "summary": summary,
            "code": [c for c, _d, _c in lines], "debit": [d for _c, d, _x in lines], "credit": [c for _x, _d, c in lines]}
    return auth.post("/ledger/entries/new", data)


def test_who_sees_the_books_and_who_keeps_them(client, auth, demo):
    auth.login("officer1")
    assert client.get("/ledger/").status_code == 403
    assert 'href="/ledger/"' not in client.get("/").get_data(as_text=True)
    auth.post("/logout")
    auth.login("cashier1")
    assert client.get("/ledger/").status_code == 200
    assert client.get("/ledger/journal").status_code == 200
    assert client.get("/ledger/entries/new").status_code == 403
    assert _entry(auth, "x", [("1001", "1", ""), ("4001", "", "1")]).status_code == 403
    auth.post("/logout")
    auth.login("admin")
    assert client.get("/ledger/").status_code == 403  # the figures are not the administrator's
    page = client.get("/ledger/accounts")
    assert page.status_code == 200 and "1303" in page.get_data(as_text=True)
    assert auth.post("/ledger/accounts/add", {"code": "1003", "name": "存放中央银行款项", "kind": "asset",
                                              "side": "debit"}).status_code == 303
    assert auth.post("/ledger/close/day", {"day": "2020-01-01"}).status_code == 403
    auth.post("/logout")
    auth.login("auditor1")
    assert "1003" in client.get("/ledger/accounts").get_data(as_text=True)
    assert auth.post("/ledger/accounts/add", {"code": "1004", "name": "x", "kind": "asset",
                                              "side": "debit"}).status_code == 403


def test_bad_manual_entries_are_refused_in_chinese_with_nothing_written(app, client, auth, demo):
    auth.login("accountant1")
    before = _entries(app)
    response = _entry(auth, "不平的凭证", [("1001", "100", ""), ("4001", "", "99.99")])
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "借贷不平" in body or "不平衡" in body, body[body.find("entry-error"):][:300]
    assert 'value="99.99"' in body  # the typing is kept
    response = _entry(auth, "科目不存在", [("9999", "5", ""), ("4001", "", "5")])
    assert response.status_code == 422 and "9999" in response.get_data(as_text=True)
    response = _entry(auth, "金额错误", [("1001", "abc", ""), ("4001", "", "5")])
    assert response.status_code == 422
    response = _entry(auth, "", [("1001", "5", ""), ("4001", "", "5")])
    assert response.status_code == 422
    with app.app_context():
        previous = clock.business_today().replace(day=1) - timedelta(days=1)
        period = f"{previous.year:04d}-{previous.month:02d}"
        db.session.add(LedgerPeriod(period=period, status="closed", checks={}))
        db.session.commit()
    response = _entry(auth, "结账月份", [("1001", "5", ""), ("4001", "", "5")], day=previous)
    assert response.status_code == 422 and period in response.get_data(as_text=True)
    assert _entries(app) == before
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_manual_entry_shows_in_the_journal_and_the_trial_balance_then_is_reversed(app, client, auth, demo):
    auth.login("accountant1")
    today = clock.business_today().isoformat()
    response = _entry(auth, "收到股东投资款", [("1002", "1,234.50", ""), ("4001", "", "1234.50"), ("", "", "")])
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    journal = client.get(f"/ledger/journal?from={today}&to={today}").get_data(as_text=True)
    assert "收到股东投资款" in journal and "1,234.50" in journal
    partial = client.get(f"/ledger/?as_of={today}", headers={"HX-Request": "true", "HX-Target": "ledger-results"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in html and 'id="ledger-results"' in html
    assert "实收资本" in html and "1,234.50" in html and "flash-success" in html  # it balances
    csv = client.get(f"/ledger/?as_of={today}&format=csv")
    assert csv.status_code == 200 and "4001" in csv.get_data(as_text=True)
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    with app.app_context():
        entry_id = db.session.scalar(select(JournalEntry.id).where(JournalEntry.memo == "收到股东投资款"))
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "report.exported")) == 1
    count = _entries(app)
    refused = auth.post("/ledger/entries/reverse", {"entry_id": str(entry_id), "reason": "重复录入"},
                        follow_redirects=True)
    assert "第二人" in refused.get_data(as_text=True) and _entries(app) == count  # not by who posted it
    _second_accountant(app)
    auth.post("/logout")
    auth.login("accountant2")
    assert auth.post("/ledger/entries/reverse", {"entry_id": str(entry_id), "reason": ""}).status_code == 303
    assert _entries(app) == count  # no reason: refused
    assert auth.post("/ledger/entries/reverse", {"entry_id": str(entry_id), "reason": "重复录入"}).status_code == 303
    with app.app_context():
        mirror = db.session.scalar(select(JournalEntry).where(JournalEntry.reverses_id == entry_id))
        assert mirror is not None and "重复录入" in mirror.memo
    tb = client.get(f"/ledger/?as_of={today}").get_data(as_text=True)
    row = tb.split("<td>4001</td>", 1)[1].split("</tr>", 1)[0]
    # The mirror's debit; the credit beside the demo's opening capital (5,200,000.00); the balance back to that capital.
    assert ['>1,234.50</td>', '>5,201,234.50</td>', '>5,200,000.00</td>'] == re.findall(r'>[0-9,.]+</td>', row)
    vouchers = client.get(f"/ledger/vouchers?from={today}&to={today}&format=xlsx")
    assert vouchers.status_code == 200 and vouchers.mimetype.endswith("sheet")


def test_other_screens_refuse_bad_input_without_a_500(app, client, auth, demo):
    auth.login("accountant1")
    assert client.get("/ledger/?as_of=2026-02-30").status_code == 400
    assert client.get("/ledger/journal?from=2026-12-01&to=2026-01-01").status_code == 400
    assert client.get("/ledger/general-ledger?account=0000").status_code == 400
    assert client.get("/ledger/vouchers?from=x&format=csv").status_code == 400
    for path in ("/ledger/balance-sheet", "/ledger/income-statement", "/ledger/general-ledger?account=1001",
                 "/ledger/close", "/ledger/close?reconcile=1", "/ledger/accounts", "/ledger/vouchers",
                 "/ledger/entries/new"):
        assert client.get(path).status_code == 200, path
    response = auth.post("/ledger/rates", {"normal": "abc", "special_mention": "2", "substandard": "25",
                                           "doubtful": "50", "loss": "100"})
    assert response.status_code == 422 and 'id="err-rate-normal"' in response.get_data(as_text=True)
    assert auth.post("/ledger/close/month", {"period": "2026-13"}).status_code == 303
    assert auth.post("/ledger/close/day", {"day": clock.business_today().isoformat()}).status_code == 303
    assert auth.post("/ledger/accounts/add", {"code": "12", "name": "x", "kind": "asset", "side": "debit"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Account.id).where(Account.code == "12")) is None
        assert db.session.get(LedgerPeriod, "2026-13") is None


def test_the_chart_and_its_mapping_per_product_and_channel(app, client, auth, demo):
    from app.models import Product
    from app.services import ledger

    with app.app_context():
        product_id = db.session.scalar(select(Product.id).order_by(Product.id))
    auth.login("accountant1")
    assert auth.post("/ledger/accounts/add", {"code": "130301", "name": "贷款-农户", "kind": "asset",
                                              "side": "debit"}).status_code == 303
    assert auth.post("/ledger/mapping", {"role": "loan_principal", "product": str(product_id),
                                         "code": "130301"}).status_code == 303
    assert auth.post("/ledger/mapping", {"role": "channel:mobile_payment", "product": "",
                                         "code": "1001"}).status_code == 303
    with app.app_context():
        assert ledger.account_for("loan_principal", product_id).code == "130301"
        assert ledger.account_for("loan_principal", None).code == "1303"
        assert ledger.account_for("channel:mobile_payment").code == "1001"
    page = client.get("/ledger/accounts").get_data(as_text=True)
    assert "130301" in page.split('id="role-loan_principal"', 1)[1].split("</tr>", 1)[0]
    # Still mapped: not retired; an empty code for all products is refused.
    auth.post("/ledger/accounts/retire", {"code": "130301"})
    auth.post("/ledger/mapping", {"role": "loan_principal", "product": "", "code": ""})
    with app.app_context():
        assert db.session.scalar(select(Account.is_active).where(Account.code == "130301")) is True
        assert ledger.account_for("loan_principal", None).code == "1303"
    auth.post("/ledger/mapping", {"role": "loan_principal", "product": str(product_id), "code": ""})
    auth.post("/ledger/accounts/rename", {"code": "130301", "name": "农户贷款"})
    auth.post("/ledger/accounts/retire", {"code": "130301"})
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.code == "130301"))
        assert account.name == "农户贷款" and account.is_active is False
        assert ledger.account_for("loan_principal", product_id).code == "1303"
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("ledger.%"))))
        assert {"ledger.account_added", "ledger.mapping_changed", "ledger.account_renamed",
                "ledger.account_retired"} <= actions
