"""The flow reports (disbursements, collection, arrears, officers) and the dashboard's monthly
series, on a small book built here with the real replay (app.domain.repayment via loans.rebuild),
on SQLite and MariaDB."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain import idcard
from app.extensions import db
from app.models import (Application, Borrower, Installment, Loan, Office, Product, Repayment, User,
                        UserRole)
from app.services import loans as loan_service
from app.models.reports import MonthlyFigures
from app.services import flows, reporting, reports_flow, snapshots

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
    return demo_id_number("513401", date(1980, 1, 1), 500 + serial % 499)  # three digits, however many examples


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


def test_flow_reports_keep_to_the_viewers_reach(app, demo):
    with app.app_context():
        _build(FEB)
        period = {"from": "2026-02-01", "to": "2026-02-28"}

        def due(username: str) -> str:
            viewer = db.session.scalar(select(User).where(User.username == username))
            request = reporting.parse("collection", period, viewer=viewer, today=TODAY)
            return reporting.as_json(reporting.run(viewer, request))["totals"]["due"]

        assert due("officer_ta") == "1530.00"  # his own loans A and B only
        assert due("director1") == "0.00"      # another office's director sees none of this branch
        viewer = db.session.scalar(select(User).where(User.username == "director1"))
        with pytest.raises(reporting.ReportRequestError):
            reporting.parse("collection", {"office": "BR"} | period, viewer=viewer, today=TODAY)
        months = reports_flow.collection_monthly(viewer, [date(2026, 2, 1)])
        assert months[0]["due"] == Decimal("0.00")
        officer_ta = db.session.scalar(select(User).where(User.username == "officer_ta"))
        assert reports_flow.disbursed_monthly(officer_ta, [date(2026, 1, 1), date(2026, 2, 1)]) == [
            {"month": date(2026, 1, 1), "loans": 2, "amount": Decimal("2500.00")},
            {"month": date(2026, 2, 1), "loans": 0, "amount": Decimal("0.00")}]


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


def test_a_closed_month_is_kept_on_the_first_and_read_from_what_was_kept(app, demo):
    with app.app_context():
        loans = _build(FEB)
        offices = frozenset(o.id for o in db.session.scalars(select(Office).where(Office.code.in_(["BR", "TA", "TB"]))))
        place = _place()
        feb = date(2026, 2, 1)
        db.session.execute(MonthlyFigures.__table__.delete())
        # The daily job's run on 1 March keeps February (twice: the second run replaces the first).
        for _ in range(2):
            assert snapshots.write(date(2026, 3, 1))["month_rows"] == 2
            db.session.commit()
        kept = {row.office_id: row for row in db.session.scalars(select(MonthlyFigures).where(MonthlyFigures.month == feb))}
        ta, tb = place["a"][0].id, place["b"][0].id
        assert set(kept) == {ta, tb}
        # A: 1,010.00 on time; B: 520.00 due, 300.00 late by 28 Feb; C: 808.00 due, 400.00 on time, 408.00 late;
        # D: 303.00 due, nothing paid. Paid out in February: C (808.00) and D (303.00), both office TB.
        assert (kept[ta].installments_due, kept[ta].due_fen, kept[ta].collected_on_time_fen,
                kept[ta].collected_late_fen, kept[ta].disbursed_loans, kept[ta].disbursed_fen) == (
            2, 153000, 101000, 30000, 0, 0)
        assert (kept[tb].installments_due, kept[tb].due_fen, kept[tb].collected_on_time_fen,
                kept[tb].collected_late_fen, kept[tb].disbursed_loans, kept[tb].disbursed_fen) == (
            2, 111100, 40000, 40800, 2, 110000)
        assert snapshots.write(date(2026, 3, 2))["month_rows"] == 0  # only on the first of a month
        _assert_kept_equals_live([feb])
        # Read from what was kept: a repayment recorded afterwards with a February date changes the
        # ledger (the collection report), not the closed month the series shows, until it is rebuilt.
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        late = loans[3]
        late.repayments.append(Repayment(amount=Decimal("303.00"), paid_on=date(2026, 2, 28), channel="cash",
                                         reference="R-late-entry", recorded_by_id=cashier.id))
        db.session.flush()
        loan_service.rebuild(late, TODAY, loan_service.LoanSettings().class_days)
        db.session.commit()
        months = [feb]
        assert reports_flow.collection_monthly(None, months, offices)[0]["collected"] == Decimal("2118.00")
        assert _report("collection", **{"from": "2026-02-01", "to": "2026-02-28"})["totals"]["rate"] == "91.67"
        snapshots.rebuild(date(2026, 3, 1))
        db.session.commit()
        assert reports_flow.collection_monthly(None, months, offices)[0] == {
            "month": feb, "due": Decimal("2641.00"), "collected": Decimal("2421.00"), "rate": Decimal("91.67")}
        assert reports_flow.disbursed_monthly(None, months, offices) == [
            {"month": feb, "loans": 2, "amount": Decimal("1100.00")}]


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
                if seq in by_seq and component in flows.PAID_COMPONENTS:
                    if r.paid_on <= by_seq[seq].due_date:
                        on_time += fen
                    else:
                        late += fen
    return due, on_time, late


def _fen(text: str) -> int:
    return int(Decimal(text) * 100)


def _assert_kept_equals_live(months: list[date]) -> None:
    """The kept figures of each month, summed by office, officer and product, are the live
    collection and disbursements reports of that month by the same breakdown (test offices)."""
    names = {by: {key: name for key, name in db.session.execute(select(model.id, label))}
             for by, model, label in (("office", Office, Office.name), ("officer", User, User.full_name),
                                      ("product", Product, Product.name))}
    for month in months:
        period = {"from": month.isoformat(), "to": flows.month_end(month).isoformat()}
        kept = db.session.scalars(select(MonthlyFigures).join(Office, Office.id == MonthlyFigures.office_id)
                                  .where(MonthlyFigures.month == month, Office.code.in_(["TA", "TB"]))).all()
        for by in ("office", "officer", "product"):
            sums: dict[str, list[int]] = {}
            for row in kept:
                into = sums.setdefault(names[by][getattr(row, f"{by}_id")], [0, 0, 0, 0, 0, 0])
                for index, value in enumerate((row.installments_due, row.due_fen, row.collected_on_time_fen,
                                               row.collected_late_fen, row.disbursed_loans, row.disbursed_fen)):
                    into[index] += value
            live: dict[str, list[int]] = {}
            for row in _report("collection", by=by, **period)["rows"]:
                live.setdefault(row["group"], [0, 0, 0, 0, 0, 0])[:4] = [
                    row["installments"], _fen(row["due"]), _fen(row["on_time"]), _fen(row["late"])]
            for row in _report("disbursements", by=by, **period)["rows"]:
                live.setdefault(row["group"], [0, 0, 0, 0, 0, 0])[4:] = [row["loans"], _fen(row["amount"])]
            nothing = [0, 0, 0, 0, 0, 0]
            assert {k: v for k, v in sums.items() if v != nothing} == \
                {k: v for k, v in live.items() if v != nothing}, (month, by)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(plans=_plans(), window=st.tuples(st.integers(0, 150), st.integers(0, 150)))
def test_collection_and_disbursements_reconcile_on_random_books(app, demo, monkeypatch, plans, window):
    from app import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
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
        # The dashboard's series is the collection report of each month: computed from the ledger
        # while a month is not kept, then read from the figures kept when it closed.
        offices = frozenset(o.id for o in db.session.scalars(select(Office).where(Office.code.in_(["BR", "TA", "TB"]))))
        months = [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
        db.session.execute(MonthlyFigures.__table__.delete().where(MonthlyFigures.month.in_(months)))
        db.session.commit()
        for kept in (False, True):
            if kept:
                for month in months:
                    snapshots.write_month(month)
                db.session.commit()
                _assert_kept_equals_live(months)
            collected = reports_flow.collection_monthly(None, months, offices)
            paid_out_monthly = reports_flow.disbursed_monthly(None, months, offices)
            for month, point, out in zip(months, collected, paid_out_monthly):
                end = flows.month_end(month)
                same = _report("collection", **{"from": month.isoformat(), "to": end.isoformat()})["totals"]
                assert (str(point["due"]), point["collected"], str(point["rate"])) == (
                    same["due"], Decimal(same["on_time"]) + Decimal(same["late"]), same["rate"])
                out_same = _report("disbursements", **{"from": month.isoformat(), "to": end.isoformat()})["totals"]
                assert (out["loans"], str(out["amount"])) == (out_same["loans"], out_same["amount"])
        # The arrears list: exactly the loans past due, and its totals are the sum of its rows.
        arrears = _report("arrears")
        assert arrears["totals"]["loans"] == len(arrears["rows"]) == sum(
            1 for loan in loans if loan.status == "active" and loan.days_past_due > 0)
        assert sum(_fen(r["overdue"]) for r in arrears["rows"]) == _fen(arrears["totals"]["overdue"])
        assert [r["days_past_due"] for r in arrears["rows"]] == sorted(
            (r["days_past_due"] for r in arrears["rows"]), reverse=True)
        officers = _report("officers", **{"from": first.isoformat(), "to": last.isoformat()})
        for key in ("loans", "outstanding", "par30_principal"):
            assert sum(_fen(str(r[key])) for r in officers["rows"]) == _fen(str(officers["totals"][key]))
        assert officers["totals"]["loans"] == sum(1 for loan in loans if loan.status == "active")


# --- arrears and officers (as of TODAY, on the app's clock) -------------------------------------

JUNE = [
    # E: nothing paid; 51 days past due on 30 June (since 10 May): 2,000.00 principal and 15.00 interest overdue.
    Plan("a", "e1", date(2026, 4, 10), [(date(2026, 5, 10), "1000.00", "10.00"), (date(2026, 6, 10), "1000.00", "5.00"),
                                        (date(2026, 7, 10), "1000.00", "5.00")]),
    # F: due 20 June (505.00), 100.00 paid on 25 June (the interest, then 95.00 of principal): 405.00 overdue.
    Plan("b", "f1", date(2026, 5, 20), [(date(2026, 6, 20), "500.00", "5.00")], [(date(2026, 6, 25), "100.00", False)]),
    # G: not yet due.
    Plan("a", "g1", date(2026, 6, 15), [(date(2026, 7, 15), "1000.00", "10.00")]),
]


def _at(day: date, hour_beijing: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour_beijing, tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


def _june_book(monkeypatch) -> dict[str, Loan]:
    from app import clock
    from app.models.tasks import FollowUpTask

    monkeypatch.setattr(clock, "now", lambda: NOW)
    e, f, g = _build(JUNE)
    officer_ta = e.officer_id
    db.session.add_all([
        FollowUpTask(loan_id=e.id, officer_id=officer_ta, kind="collection", due_date=date(2026, 5, 25), status="done",
                     on_site=True, flags=[], completed_at=_at(date(2026, 6, 1)),
                     outcome={"promise_date": "2026-06-15", "promise_amount": "500.00", "notes": "答应月中还"}),
        FollowUpTask(loan_id=e.id, officer_id=officer_ta, kind="escalation", due_date=date(2026, 6, 15), status="done",
                     on_site=False, flags=["far"], completed_at=_at(date(2026, 6, 20)),
                     outcome={"promise_date": None, "promise_amount": None, "notes": "不在家"}),
        # Due 25 June, still open on 30 June: overdue.
        FollowUpTask(loan_id=e.id, officer_id=officer_ta, kind="revisit", due_date=date(2026, 6, 25), status="open"),
        # Due 20 June, reported 29 June: a visit of the period, not overdue on 30 June.
        FollowUpTask(loan_id=g.id, officer_id=officer_ta, kind="revisit", due_date=date(2026, 6, 20), status="done",
                     on_site=True, flags=[], completed_at=_at(date(2026, 6, 29)), outcome={"notes": ""}),
        FollowUpTask(loan_id=f.id, officer_id=f.officer_id, kind="collection", due_date=date(2026, 7, 5), status="open"),
    ])
    db.session.commit()
    return {"e": e, "f": f, "g": g}


def test_arrears_list_is_streamed_with_last_visit_and_last_promise(app, demo, monkeypatch):
    from flask_babel import force_locale

    with app.app_context(), force_locale("zh"):
        book = _june_book(monkeypatch)
        report = reporting.run(None, reporting.parse("arrears", {"office": "BR"}, viewer=None, today=TODAY))
        assert not isinstance(report.rows, (list, tuple))  # a generator over a streamed query
        assert {c.key for c in report.columns if c.personal} == {"borrower", "mobile", "village", "visit_notes"}
        rows = list(report.rows)
        assert [(r["borrower"], r["days_past_due"]) for r in rows] == [("测e1", 51), ("测f1", 10)]
        e, f = rows
        assert (e["overdue_principal"], e["overdue_interest"], e["penalty"], e["overdue"]) == (
            Decimal("2000.00"), Decimal("15.00"), Decimal("0.00"), Decimal("2015.00"))
        assert e["outstanding_principal"] == Decimal("3000.00") and e["village"] == "e1村"
        assert e["last_visit"] == date(2026, 6, 20) and e["verdict"] == "不在现场（离家太远）"
        assert e["visit_notes"] == "不在家"
        # The promise is the latest one made, on an earlier visit than the last.
        assert (e["promise_date"], e["promise_amount"]) == (date(2026, 6, 15), Decimal("500.00"))
        assert (f["overdue"], f["last_visit"], f["promise_date"], f["verdict"]) == (Decimal("405.00"), None, None, "")
        assert report.totals == {"loans": 2, "overdue": Decimal("2420.00"), "outstanding_principal": Decimal("3405.00")}
        # An officer sees his own customers only.
        officer_ta = db.session.get(User, book["e"].officer_id)
        mine = reporting.run(officer_ta, reporting.parse("arrears", {}, viewer=officer_ta, today=TODAY))
        assert [r["borrower"] for r in mine.rows] == ["测e1"]
        # A past day: not the list to work from; said in words.
        with pytest.raises(reporting.ReportRequestError):
            reporting.run(None, reporting.parse("arrears", {"as_of": "2026-06-29"}, viewer=None, today=TODAY))


def test_officers_report_portfolio_applications_and_visits(app, demo, monkeypatch):
    with app.app_context():
        book = _june_book(monkeypatch)
        e = book["e"]
        product = db.session.get(Product, e.product_id)
        for state, at in (("awaiting_l1", datetime(2026, 5, 31, 16, 30, tzinfo=timezone.utc)),  # 1 June 00:30 in Beijing
                          ("rejected", _at(date(2026, 6, 5))), ("awaiting_disbursement", _at(date(2026, 6, 10))),
                          ("disbursed", datetime(2026, 5, 31, 15, 0, tzinfo=timezone.utc))):  # 31 May 23:00: before
            db.session.add(Application(borrower_id=e.borrower_id, product=product, officer_id=e.officer_id,
                                       office_id=e.office_id, amount=Decimal("1000"), term_months=3, state=state,
                                       captured_at=at))
        db.session.commit()
        report = _report("officers", **{"from": "2026-06-01", "to": "2026-06-30"})
        rows = {row["officer"]: row for row in report["rows"]}
        assert rows["officer_ta"] == {
            "officer": "officer_ta", "office": "甲办事处", "loans": 2, "outstanding": "4000.00",
            "par30_principal": "3000.00", "par30": "75.00", "captured": 3, "approved": 1, "rejected": 1,
            "approval_rate": "50.00", "visits": 3, "verified": 2, "flagged": 1, "tasks_overdue": 1}
        assert (rows["officer_tb"]["loans"], rows["officer_tb"]["outstanding"], rows["officer_tb"]["par30"],
                rows["officer_tb"]["tasks_overdue"]) == (1, "405.00", "0.00", 0)
        assert report["totals"]["loans"] == 3 and report["totals"]["outstanding"] == "4405.00"
        assert report["totals"]["visits"] == 3


def test_officers_report_reads_todays_opening_once_the_daily_job_has_run(app, demo, monkeypatch):
    """A repayment taken today changes the portfolio columns computed live, not today's opening."""
    from sqlalchemy import delete

    from app.models import JobRun
    from app.services import jobs

    with app.app_context():
        book = _june_book(monkeypatch)
        jobs.run_daily(TODAY)
        e = db.session.get(Loan, book["e"].id)
        e.installments[0].principal_paid = Decimal("1000.00")  # the first installment repaid today
        db.session.commit()

        def officer_ta() -> tuple:
            request = reporting.parse("officers", {"office": "BR", "from": "2026-06-01", "to": "2026-06-30"},
                                      viewer=None, today=TODAY)
            report = reporting.run(None, request)
            row = {r["officer"]: r for r in reporting.as_json(report)["rows"]}["officer_ta"]
            return (row["loans"], row["outstanding"], row["par30_principal"]), report.notes

        assert officer_ta() == ((2, "4000.00", "3000.00"), [reports_flow.OFFICERS_NOTE, snapshots.OPENING_NOTE])
        db.session.execute(delete(JobRun).where(JobRun.for_date == TODAY))  # as before the day's run
        db.session.commit()
        assert officer_ta() == ((2, "3000.00", "2000.00"), [reports_flow.OFFICERS_NOTE, snapshots.LIVE_NOTE])


def test_officers_report_reads_a_past_day_from_its_snapshot(app, demo, monkeypatch):
    from app.models.reports import PortfolioSnapshot

    with app.app_context():
        book = _june_book(monkeypatch)
        e = book["e"]
        for bucket, loans, fen in ((0, 1, 300000), (3, 1, 100000)):
            db.session.add(PortfolioSnapshot(day=date(2026, 6, 1), office_id=e.office_id, officer_id=e.officer_id,
                                             product_id=e.product_id, classification="normal", dpd_bucket=bucket,
                                             loans=loans, outstanding_principal_fen=fen, overdue_principal_fen=0,
                                             overdue_interest_fen=0, penalty_outstanding_fen=0))
        db.session.commit()
        report = _report("officers", as_of="2026-06-01", **{"from": "2026-06-01", "to": "2026-06-01"})
        row = {r["officer"]: r for r in report["rows"]}["officer_ta"]
        assert (row["loans"], row["outstanding"], row["par30_principal"], row["par30"]) == (2, "4000.00", "1000.00", "25.00")
        with pytest.raises(reporting.ReportRequestError) as refused:
            _report("officers", as_of="2026-06-03", **{"from": "2026-06-01", "to": "2026-06-03"})
        assert refused.value.params["nearest"] == "2026-06-01"
