"""The flow reports (disbursements, collection, arrears, officers) and the dashboard's monthly
series, on a small book built here with the real replay (app.domain.repayment via loans.rebuild),
on SQLite and MariaDB."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain import idcard
from app.extensions import db
from app.models import (Application, Borrower, Installment, Loan, Office, Product, Repayment, User,
                        UserRole)
from app.services import loans as loan_service
from app.services import reporting, reports_flow

TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 2, 0, tzinfo=timezone.utc)
_serial = itertools.count(1)


@dataclass
class Plan:
    """One loan: its office key ("a" or "b"), borrower key, disbursement day, installments
    (due day, principal, interest) and repayments (paid on, amount, reversed?)."""

    office: str
    borrower: str
    disbursed_on: date
    installments: list[tuple[date, str, str]]
    repayments: list[tuple[date, str, bool]] = field(default_factory=list)


def _place() -> dict:
    """A branch BR under the head office with two offices TA and TB, one officer in each."""
    found = db.session.scalar(select(Office).where(Office.code == "BR"))
    if found is not None:
        return _places_of(found)
    hq = db.session.scalar(select(Office).where(Office.kind == "head_office"))
    branch = Office(code="BR", name="测试支行", parent=hq, kind="branch")
    ta = Office(code="TA", name="甲办事处", parent=branch, kind="office")
    tb = Office(code="TB", name="乙办事处", parent=branch, kind="office")
    db.session.add_all([branch, ta, tb])
    for username, office in (("officer_ta", ta), ("officer_tb", tb)):
        user = User(username=username, full_name=username, password_hash="x", office=office)
        user.role_rows = [UserRole(role="officer")]
        db.session.add(user)
    db.session.commit()
    return _places_of(branch)


def _places_of(branch: Office) -> dict:
    offices = {o.code: o for o in db.session.scalars(select(Office).where(Office.parent_id == branch.id))}
    officers = {u.office_id: u for u in db.session.scalars(select(User).where(User.username.like("officer_t%")))}
    return {"branch": branch, "a": (offices["TA"], officers[offices["TA"].id]),
            "b": (offices["TB"], officers[offices["TB"].id])}


def _build(plans: list[Plan]) -> list[Loan]:
    place = _place()
    product = db.session.scalar(select(Product).order_by(Product.id))
    cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
    borrowers: dict[str, Borrower] = {}
    made = []
    for plan in plans:
        office, officer = place[plan.office]
        borrower = borrowers.get(plan.borrower)
        if borrower is None:
            serial = next(_serial)
            number = idcard.parse(_id_number(serial), TODAY).number
            borrower = Borrower(name=f"测{plan.borrower}", id_number=number, sex="M", birth_date=date(1980, 1, 1),
                                phone=f"1380000{serial:04d}", village=f"{plan.borrower}村", office_id=office.id,
                                officer_id=officer.id)
            borrowers[plan.borrower] = borrower
        principal = sum((Decimal(p) for _d, p, _i in plan.installments), Decimal("0"))
        application = Application(borrower=borrower, product=product, officer_id=officer.id, office_id=office.id,
                                  amount=principal, term_months=len(plan.installments), state="disbursed")
        loan = Loan(application=application, borrower=borrower, product=product, officer_id=officer.id,
                    office_id=office.id, principal=principal, annual_rate=Decimal("0.096"),
                    repayment_method="equal_principal", penalty_rate=Decimal("0"),
                    term_months=len(plan.installments), disbursed_on=plan.disbursed_on,
                    maturity_date=plan.installments[-1][0], channel="cash", disbursed_by_id=cashier.id)
        loan.installments = [Installment(seq=n, due_date=d, principal_due=Decimal(p), interest_due=Decimal(i))
                             for n, (d, p, i) in enumerate(plan.installments, start=1)]
        for k, (on, amount, reversed_) in enumerate(plan.repayments):
            loan.repayments.append(Repayment(
                amount=Decimal(amount), paid_on=on, channel="cash", reference=f"R{next(_serial)}-{k}",
                recorded_by_id=cashier.id, reversed_by_id=cashier.id if reversed_ else None,
                reversed_at=NOW if reversed_ else None))
        db.session.add(loan)
        db.session.flush()
        loan_service.rebuild(loan, TODAY, loan_service.LoanSettings().class_days)
        made.append(loan)
    db.session.commit()
    return made


def _id_number(serial: int) -> str:
    from app.services.demo import demo_id_number
    return demo_id_number("513401", date(1980, 1, 1), 500 + serial)


def _report(name: str, **raw) -> dict:
    request = reporting.parse(name, {"office": "BR"} | raw, viewer=None, today=TODAY)
    return reporting.as_json(reporting.run(None, request))


# The book of the exact-figures tests (penalty rate 0, so every yuan paid is principal or interest).
FEB = [
    # A: due 10 Feb, paid in full two days before: on time 1,010.00.
    Plan("a", "b1", date(2026, 1, 10), [(date(2026, 2, 10), "1000.00", "10.00"), (date(2026, 3, 10), "1000.00", "5.00")],
         [(date(2026, 2, 8), "1010.00", False)]),
    # B: due 15 Feb (520.00), 300.00 paid late in February, the rest in March (after the period).
    Plan("a", "b2", date(2026, 1, 15), [(date(2026, 2, 15), "500.00", "20.00")],
         [(date(2026, 2, 20), "300.00", False), (date(2026, 3, 5), "220.00", False)]),
    # C: due 25 Feb (808.00): 400.00 before, 408.00 after; a reversed 100.00 counts for nothing.
    Plan("b", "b3", date(2026, 2, 1), [(date(2026, 2, 25), "800.00", "8.00")],
         [(date(2026, 2, 20), "400.00", False), (date(2026, 2, 21), "100.00", True),
          (date(2026, 2, 26), "408.00", False)]),
    # D: b1's second loan (a repeat), due 28 Feb (303.00), nothing paid.
    Plan("b", "b1", date(2026, 2, 10), [(date(2026, 2, 28), "300.00", "3.00")]),
]


def test_collection_splits_what_fell_due_into_on_time_late_and_unpaid(app, demo):
    with app.app_context():
        _build(FEB)
        report = _report("collection", **{"from": "2026-02-01", "to": "2026-02-28"})
        assert report["totals"] == {"installments": 4, "due": "2641.00", "on_time": "1410.00", "late": "708.00",
                                    "unpaid": "523.00", "rate": "80.20", "on_time_rate": "53.39"}
        by_office = {row["group"]: row for row in _report("collection", by="office", **{"from": "2026-02-01",
                                                                                       "to": "2026-02-28"})["rows"]}
        assert by_office["甲办事处"]["due"] == "1530.00" and by_office["甲办事处"]["late"] == "300.00"
        assert by_office["甲办事处"]["unpaid"] == "220.00"
        assert by_office["乙办事处"]["on_time"] == "400.00" and by_office["乙办事处"]["unpaid"] == "303.00"
        # B's March payment is late collection of March's report only if due in March: it is not.
        march = _report("collection", **{"from": "2026-03-01", "to": "2026-03-31"})["totals"]
        assert march["due"] == "1005.00" and march["on_time"] == "0.00" and march["unpaid"] == "1005.00"
        # Read up to 31 March, February's installments count B's 220.00 as late.
        longer = _report("collection", **{"from": "2026-02-01", "to": "2026-03-31"})["totals"]
        assert longer["late"] == "928.00" and longer["unpaid"] == "1308.00"


def test_disbursements_count_first_and_repeat_loans(app, demo):
    with app.app_context():
        _build(FEB)
        report = _report("disbursements", **{"from": "2026-01-01", "to": "2026-02-28"})
        assert report["totals"] == {"loans": 4, "amount": "3600.00", "average": "900.00", "first_loans": 3,
                                    "first_amount": "3300.00", "repeat_loans": 1, "repeat_amount": "300.00",
                                    "first_share": "75.00"}
        rows = {row["group"]: row for row in _report("disbursements", by="office",
                                                     **{"from": "2026-01-01", "to": "2026-02-28"})["rows"]}
        assert rows["甲办事处"]["loans"] == 2 and rows["甲办事处"]["amount"] == "2500.00"
        assert rows["乙办事处"]["repeat_loans"] == 1 and rows["乙办事处"]["amount"] == "1100.00"
        branch = _report("disbursements", by="branch", **{"from": "2026-01-01", "to": "2026-02-28"})["rows"]
        assert [(row["group"], row["loans"], row["amount"]) for row in branch] == [("测试支行", 4, "3600.00")]
        february = _report("disbursements", **{"from": "2026-02-01", "to": "2026-02-28"})["totals"]
        assert february["loans"] == 2 and february["repeat_loans"] == 1


def test_dashboard_monthly_series(app, demo):
    with app.app_context():
        _build(FEB)
        offices = frozenset(o.id for o in db.session.scalars(select(Office).where(Office.code.in_(["BR", "TA", "TB"]))))
        months = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
        assert reports_flow.disbursed_monthly(None, months, offices) == [
            {"month": date(2026, 1, 1), "loans": 2, "amount": Decimal("2500.00")},
            {"month": date(2026, 2, 1), "loans": 2, "amount": Decimal("1100.00")},
            {"month": date(2026, 3, 1), "loans": 0, "amount": Decimal("0.00")}]
        # February: 2,641.00 due, 2,118.00 of it collected by 28 February (B's March payment is not).
        assert reports_flow.collection_monthly(None, months, offices) == [
            {"month": date(2026, 1, 1), "due": Decimal("0.00"), "collected": Decimal("0.00"), "rate": Decimal("0.00")},
            {"month": date(2026, 2, 1), "due": Decimal("2641.00"), "collected": Decimal("2118.00"),
             "rate": Decimal("80.20")},
            {"month": date(2026, 3, 1), "due": Decimal("1005.00"), "collected": Decimal("0.00"),
             "rate": Decimal("0.00")}]


# --- invariants over random books ---------------------------------------------------------------

DAY0 = date(2026, 1, 1)


@st.composite
def _plans(draw) -> list[Plan]:
    plans = []
    for _ in range(draw(st.integers(1, 5))):
        start = DAY0 + timedelta(days=draw(st.integers(0, 60)))
        count = draw(st.integers(1, 3))
        installments = [(start + timedelta(days=30 * (n + 1)), f"{draw(st.integers(1, 200000)) / 100:.2f}",
                         f"{draw(st.integers(0, 5000)) / 100:.2f}") for n in range(count)]
        repayments = [(start + timedelta(days=draw(st.integers(0, 120))), f"{draw(st.integers(1, 100000)) / 100:.2f}",
                       draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))]
        plans.append(Plan(draw(st.sampled_from("ab")), draw(st.sampled_from(["x1", "x2", "x3"])), start,
                          installments, repayments))
    return plans


def _clear() -> None:
    for loan in db.session.scalars(select(Loan).join(Office).where(Office.code.in_(["TA", "TB"]))):
        for repayment in loan.repayments:
            db.session.delete(repayment)
        application, borrower = loan.application, loan.borrower
        db.session.delete(loan)
        db.session.flush()
        db.session.delete(application)
        db.session.flush()
    db.session.flush()
    for borrower in db.session.scalars(select(Borrower).join(Office, Office.id == Borrower.office_id)
                                       .where(Office.code.in_(["TA", "TB"]))):
        db.session.delete(borrower)
    db.session.commit()


def _expected_collection(loans: list[Loan], first: date, last: date) -> tuple[int, int, int]:
    """Due, on time and late in fen, from each repayment's allocation read in Python."""
    due = on_time = late = 0
    for loan in loans:
        by_seq = {i.seq: i for i in loan.installments if first <= i.due_date <= last}
        due += sum(int(i.principal_due * 100) + int(i.interest_due * 100) for i in by_seq.values())
        for r in loan.repayments:
            if r.reversed_at is not None or r.paid_on > last:
                continue
            for seq, component, fen in r.allocation.get("parts", []):
                if seq in by_seq and component in reports_flow.PAID_COMPONENTS:
                    if r.paid_on <= by_seq[seq].due_date:
                        on_time += fen
                    else:
                        late += fen
    return due, on_time, late


def _fen(text: str) -> int:
    return int(Decimal(text) * 100)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plans=_plans(), window=st.tuples(st.integers(0, 150), st.integers(0, 150)))
def test_collection_and_disbursements_reconcile_on_random_books(app, demo, plans, window):
    with app.app_context():
        _clear()
        loans = _build(plans)
        first, last = sorted(DAY0 + timedelta(days=d) for d in window)
        period = {"from": first.isoformat(), "to": last.isoformat()}
        collection = _report("collection", **period)["totals"]
        due, on_time, late = _expected_collection(loans, first, last)
        assert (_fen(collection["due"]), _fen(collection["on_time"]), _fen(collection["late"])) == (due, on_time, late)
        assert _fen(collection["unpaid"]) == due - on_time - late >= 0
        for by in ("office", "branch", "officer", "product"):
            rows = _report("collection", by=by, **period)["rows"]
            for key in ("due", "on_time", "late", "unpaid"):
                assert sum(_fen(row[key]) for row in rows) == _fen(collection[key])
            assert all(_fen(row["unpaid"]) >= 0 for row in rows)
        disbursed = _report("disbursements", **period)["totals"]
        paid_out = [loan for loan in loans if first <= loan.disbursed_on <= last]
        assert disbursed["loans"] == len(paid_out)
        assert _fen(disbursed["amount"]) == sum(int(loan.principal * 100) for loan in paid_out)
        assert disbursed["first_loans"] + disbursed["repeat_loans"] == disbursed["loans"]
        for by in ("office", "branch", "officer", "product"):
            rows = _report("disbursements", by=by, **period)["rows"]
            assert sum(row["loans"] for row in rows) == disbursed["loans"]
            assert sum(_fen(row["amount"]) for row in rows) == _fen(disbursed["amount"])
            assert sum(row["first_loans"] for row in rows) == disbursed["first_loans"]
