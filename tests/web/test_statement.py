"""The loan statement: the demo's late borrower's schedule vs actual, the repayment's allocation and
the balances after each event, checked against figures computed here from the schedule; print and
exports; reach."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import AuditLog, Borrower, Loan
from app.services import statement
from tests.conftest import Auth


def _late_loan(app) -> dict:
    """The demo's late borrower (冯十二): first installment paid on its due date, the second unpaid."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        i1, i2 = loan.installments[0], loan.installments[1]
        return {"id": loan.id, "principal": loan.principal, "rate": loan.penalty_rate,
                "i1": (i1.due_date, i1.principal_due, i1.interest_due), "i2": (i2.due_date, i2.principal_due, i2.interest_due),
                "contract_no": loan.contract_no, "id_number": loan.borrower.id_number}


def _expected(d: dict, today: date) -> dict:
    due2, p2, int2 = d["i2"]
    days = (today - due2).days  # penalty counted up to the day before today
    penalty = (p2 * days * d["rate"] / 360).quantize(Decimal("0.01"), ROUND_HALF_UP)
    principal_balance = d["principal"] - d["i1"][1]
    return {"principal_balance": principal_balance, "overdue": p2 + int2, "penalty": penalty,
            "outstanding": d["principal"] - d["i1"][1] + sum_interest_after_first(d) + penalty, "days": days}


def sum_interest_after_first(d: dict) -> Decimal:
    return d["interest_rest"]


def test_demo_late_borrower_statement_balances(app, client, auth, demo):
    d = _late_loan(app)
    with app.app_context():
        loan = db.session.get(Loan, d["id"])
        d["interest_rest"] = sum(i.interest_due for i in loan.installments[1:])
        today = clock.business_today()
        assert d["i2"][0] < today, "the demo's second installment is past due"
        st = statement.build(loan, today)
    exp = _expected(d, today)
    assert st.principal_balance == exp["principal_balance"]
    assert st.outstanding == exp["outstanding"]
    kinds = [e.kind for e in st.events]
    assert kinds[0] == "disbursed" and kinds[-1] == "as_of" and kinds.count("repayment") == 1
    repayment = next(e for e in st.events if e.kind == "repayment")
    assert (repayment.interest, repayment.principal, repayment.penalty) == (d["i1"][2], d["i1"][1], Decimal("0.00"))
    assert repayment.principal_balance == d["principal"] - d["i1"][1] and repayment.overdue == 0
    due2 = next(e for e in st.events if e.kind == "due" and e.seq == 2)
    assert due2.overdue == d["i2"][1] + d["i2"][2] and due2.penalty_owed == 0
    last = st.events[-1]
    assert (last.overdue, last.penalty_owed, last.amount) == (exp["overdue"], exp["penalty"], exp["outstanding"])
    assert [s.state for s in st.schedule[:2]] == ["paid_on_time", "overdue"] and st.schedule[1].days_late == exp["days"]
    assert st.on_time_rate == Decimal("50.0") and st.longest_delay == exp["days"]

    auth.login("director1")
    r = client.get(f"/loans/{d['id']}/statement")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "贷款对账单" in html and "print.css" in html
    assert f"{exp['outstanding']:,.2f}" in html and f"{exp['principal_balance']:,.2f}" in html
    assert d["id_number"] not in html  # masked
    # The loan page shows the same amount owed.
    assert f"{exp['outstanding']:,.2f}" in client.get(f"/loans/{d['id']}").get_data(as_text=True)


def test_statement_exports_are_audited_and_typed(app, client, auth, demo):
    d = _late_loan(app)
    auth.login("reviewer1")
    r = client.get(f"/loans/{d['id']}/statement?format=xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True).active
    values = [row for row in ws.iter_rows(values_only=True)]
    flat = [v for row in values for v in row if v is not None]
    assert "贷款对账单" in flat and d["contract_no"] in flat
    assert any(isinstance(v, (int, float)) and Decimal(str(v)) == d["principal"] for v in flat)
    r = client.get(f"/loans/{d['id']}/statement?format=csv")
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff") and "到期" in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert any(row and row[1:2] == ["放款"] for row in rows)
    with app.app_context():
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "report.exported")).all()
        assert len(audits) == 2
    r = client.get(f"/loans/{d['id']}/statement?format=pdf", follow_redirects=True)
    assert r.status_code == 200 and "CSV" in r.get_data(as_text=True)  # said in words, nothing written


def test_statement_is_scoped(app, client, auth, demo):
    d = _late_loan(app)
    auth.login("officer3")  # 河口's officer: not his customer
    assert client.get(f"/loans/{d['id']}/statement").status_code == 404
    assert client.get(f"/loans/{d['id']}/statement?format=csv").status_code == 404
    clerk = app.test_client()
    Auth(clerk).login("clerk1")  # no loans grant
    assert clerk.get(f"/loans/{d['id']}/statement").status_code == 404
