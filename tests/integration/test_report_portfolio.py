"""The portfolio reports (par, classification, upcoming), the snapshots they read for a past day,
and the dashboard's two figures, against small books built here, on the real database."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app import clock
from app.domain import portfolio as dpd_rules
from app.extensions import db
from app.models import Loan, LoanSnapshot, Office, PortfolioSnapshot
from app.services import jobs, reporting, reports_portfolio, snapshots
from app.services import loans as loan_service
from app.services import portfolio as portfolio_card
from tests.support import book

# One loan at each edge of the buckets: (days past due, outstanding principal in fen).
EDGES = ((0, 100_000), (1, 200_000), (7, 300_000), (8, 400_000), (30, 500_000), (31, 600_000),
         (60, 700_000), (61, 800_000), (90, 900_000), (91, 1_000_000), (180, 1_100_000), (181, 1_200_000))


def _today() -> date:
    return clock.business_today()


def _edge_book(today: date) -> None:
    book.set_demo_loan_aside()
    for k, (dpd, fen) in enumerate(EDGES):
        book.late_loan(("officer1", "officer2", "officer3")[k % 3], ("XYD", "LBD")[k % 2], fen, dpd, today)
    db.session.commit()


def _report(name: str, viewer=None, **raw) -> dict:
    request = reporting.parse(name, {k: str(v) for k, v in raw.items()}, viewer=viewer, today=_today())
    return reporting.as_json(reporting.run(viewer, request))


def _notes(name: str, viewer=None, **raw) -> list[str]:
    request = reporting.parse(name, {k: str(v) for k, v in raw.items()}, viewer=viewer, today=_today())
    return reporting.run(viewer, request).notes


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _over(days: int) -> int:
    return sum(fen for dpd, fen in EDGES if dpd > days)


def test_par_is_the_principal_of_loans_more_than_n_days_past_due(app, demo):
    with app.app_context():
        today = _today()
        _edge_book(today)
        totals = _report("par")["totals"]
        assert totals["loans"] == len(EDGES)
        assert totals["outstanding_principal"] == _yuan(sum(fen for _d, fen in EDGES))
        assert totals["par1_principal"] == _yuan(_over(0))
        assert totals["par7_principal"] == _yuan(_over(7))   # 8 days and over: not the loan 7 days late
        assert totals["par30_principal"] == _yuan(_over(30))
        assert totals["par60_principal"] == _yuan(_over(60))
        assert totals["par90_principal"] == _yuan(_over(90))
        assert totals["par180_principal"] == _yuan(_over(180))
        assert totals["par30_loans"] == sum(1 for d, _f in EDGES if d > 30)
        assert totals["age_1_30_principal"] == _yuan(200_000 + 300_000 + 400_000 + 500_000)
        assert totals["age_181__principal"] == _yuan(1_200_000)
        whole = sum(fen for _d, fen in EDGES)
        assert totals["par30_share"] == f"{Decimal(_over(30) * 100) / whole:.2f}"


def test_the_loans_page_par_card_follows_the_same_definition(app, demo):
    """It counted n *or more* days: a loan exactly 30 days late was in PAR30."""
    with app.app_context():
        today = _today()
        _edge_book(today)
        card = portfolio_card.par(book.user("reviewer1"))
        assert card["par1_amount"] == Decimal(_yuan(_over(0)))
        assert card["par30_amount"] == Decimal(_yuan(_over(30)))
        assert card["par90_amount"] == Decimal(_yuan(_over(90)))


@pytest.mark.parametrize("by", ["office", "branch", "officer", "product"])
def test_every_breakdown_adds_up_to_the_total(app, demo, by):
    with app.app_context():
        _edge_book(_today())
        report = _report("par", by=by)
        assert len(report["rows"]) >= 2
        for key, total in report["totals"].items():
            if key.endswith("_principal") or key == "loans" or key.endswith("_loans"):
                summed = sum(Decimal(str(row[key])) for row in report["rows"])
                assert summed == Decimal(str(total)), key


def test_a_director_sees_his_offices_and_an_officer_his_loans(app, demo):
    with app.app_context():
        _edge_book(_today())
        mine = [fen for k, (_d, fen) in enumerate(EDGES) if k % 3 == 0]
        his_office = [fen for k, (_d, fen) in enumerate(EDGES) if k % 3 in (0, 1)]
        assert _report("par", book.user("officer1"))["totals"]["outstanding_principal"] == _yuan(sum(mine))
        assert _report("par", book.user("director1"))["totals"]["outstanding_principal"] == _yuan(sum(his_office))
        positions = reports_portfolio.monthly_positions(book.user("director2"), [_today()])
        assert positions[0]["loans"] == sum(1 for k in range(len(EDGES)) if k % 3 == 2)


def test_the_daily_job_keeps_the_day_as_the_ledger_rebuilds_it(app, demo):
    """The snapshot the job writes for a day equals the one rebuilt from schedules and repayments."""
    with app.app_context():
        book.set_demo_loan_aside()
        today = _today()
        day = today - timedelta(days=40)
        start = day - timedelta(days=200)
        made = [
            book.loan("officer1", "XYD", 1_200_000, start, installments=12, interest_fen=9_000,
                      payments=((start + timedelta(days=30), 109_000), (start + timedelta(days=61), 109_000))),
            book.loan("officer2", "XYD", 600_000, start + timedelta(days=20), installments=6, interest_fen=4_000,
                      payments=((start + timedelta(days=50), 104_000),)),
            book.loan("officer3", "LBD", 500_000, start + timedelta(days=100), installments=1, days=90),
            book.loan("officer3", "XYD", 300_000, day - timedelta(days=20), installments=3),
            # Repaid in full before the day: not on the books that morning.
            book.loan("officer1", "LBD", 200_000, start, installments=1, payments=((start + timedelta(days=10), 200_000),)),
        ]
        for loan in made:
            loan_service.rebuild(loan, day, jobs.DEFAULT_CLASS_DAYS)
        db.session.commit()
        jobs.run_daily(day)
        kept = _snapshot_rows(day)
        assert kept and sum(r[5] for r in kept) == 4
        snapshots.rebuild(day)
        db.session.commit()
        assert _snapshot_rows(day) == kept


def test_a_month_opening_keeps_one_row_per_loan(app, demo):
    with app.app_context():
        book.set_demo_loan_aside()
        opening = _today().replace(day=1) - timedelta(days=1)
        opening = opening.replace(day=1)
        book.loan("officer1", "XYD", 300_000, opening - timedelta(days=100), installments=3)
        book.loan("officer2", "XYD", 100_000, opening - timedelta(days=10), installments=1)
        db.session.commit()
        snapshots.rebuild(opening)
        db.session.commit()
        rows = db.session.execute(select(LoanSnapshot.classification, LoanSnapshot.days_past_due,
                                         LoanSnapshot.outstanding_principal_fen)
                                  .where(LoanSnapshot.day == opening).order_by(LoanSnapshot.loan_id)).all()
        # The first: its installments of 30 and 60 days are unpaid (70 days late: special mention).
        assert [tuple(r) for r in rows] == [("special_mention", 70, 300_000), ("normal", 0, 100_000)]


def _loan_rows(day: date) -> list[tuple]:
    s = LoanSnapshot
    return [tuple(r) for r in db.session.execute(
        select(s.loan_id, s.office_id, s.officer_id, s.product_id, s.classification, s.days_past_due,
               s.outstanding_principal_fen).where(s.day == day).order_by(s.loan_id))]


def test_a_month_opening_written_by_the_job_is_the_one_rebuilt_and_joins_its_transaction(app, demo):
    """On a month's first day the job's per-loan figures go through a temporary table: the rows are
    the ones rebuilt from the ledger, a second run replaces them, and a rollback leaves none (the
    temporary table must not commit the job's transaction on MariaDB)."""
    with app.app_context():
        book.set_demo_loan_aside()
        opening = (_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        start = opening - timedelta(days=150)
        made = [
            book.loan("officer1", "XYD", 1_200_000, start, installments=12, interest_fen=9_000,
                      payments=((start + timedelta(days=31), 109_000),)),
            book.loan("officer2", "LBD", 600_000, start + timedelta(days=20), installments=6, interest_fen=4_000),
            book.loan("officer3", "XYD", 300_000, opening - timedelta(days=10), installments=3),
        ]
        for loan in made:
            loan_service.rebuild(loan, opening, jobs.DEFAULT_CLASS_DAYS)
        db.session.commit()
        snapshots.write(opening)
        db.session.rollback()
        assert _snapshot_rows(opening) == [] and _loan_rows(opening) == []
        for _ in range(2):
            written = snapshots.write(opening)
            db.session.commit()
        kept, loans_kept = _snapshot_rows(opening), _loan_rows(opening)
        assert written["loan_rows"] == len(loans_kept) == 3 and sum(r[5] for r in kept) == 3
        assert sum(r[6] for r in loans_kept) == sum(r[6] for r in kept) > 0
        snapshots.rebuild(opening)
        db.session.commit()
        assert _snapshot_rows(opening) == kept and _loan_rows(opening) == loans_kept


def _snapshot_rows(day: date) -> list[tuple]:
    s = PortfolioSnapshot
    return [tuple(r) for r in db.session.execute(
        select(s.office_id, s.officer_id, s.product_id, s.classification, s.dpd_bucket, s.loans,
               s.outstanding_principal_fen, s.overdue_principal_fen, s.overdue_interest_fen,
               s.penalty_outstanding_fen).where(s.day == day)
        .order_by(s.office_id, s.officer_id, s.product_id, s.classification, s.dpd_bucket))]


def test_a_past_day_reads_what_the_report_said_that_day(app, demo):
    """Today's live figures, kept by the daily job, are tomorrow's figures as of today — even after
    a repayment changes the live book."""
    with app.app_context():
        today = _today()
        _edge_book(today)
        said = reports_portfolio.buckets(None, today, group="office", today=today)
        snapshots.write(today)
        db.session.commit()
        late = db.session.scalar(select(Loan).where(Loan.days_past_due == 181))
        book.loan("officer1", "XYD", 50_000, today - timedelta(days=3))  # and a new loan
        late.installments[0].principal_paid = Decimal("1000.00")
        db.session.commit()
        assert sorted(reports_portfolio.buckets(None, today, group="office", today=today)) != sorted(said)
        later = reports_portfolio.buckets(None, today, group="office", today=today + timedelta(days=1))
        assert sorted(later) == sorted(said)


def test_today_reads_its_opening_once_the_daily_job_has_run(app, demo):
    """Until the daily job has run for today, today's figures are computed live (a repayment taken
    today changes them); once it has, every "as of today" aggregate reads the opening it kept — a
    repayment or a loan of today counts from tomorrow's figures — and is what the live fallback
    said when the job ran (one definition)."""
    from app.models import JobRun

    with app.app_context():
        today = _today()
        _edge_book(today)
        reviewer = book.user("reviewer1")
        before = _report("par")
        assert before["totals"]["outstanding_principal"] == _yuan(sum(f for _d, f in EDGES))
        assert snapshots.LIVE_NOTE in _notes("par")
        assert portfolio_card.par(reviewer)["opening"] is False
        jobs.run_daily(today)
        assert sorted(reports_portfolio.buckets(None, today, group="office")) == sorted(
            reports_portfolio.buckets(None, today, group="office", live=True))
        opening = _report("par")
        assert opening["totals"] == before["totals"] and snapshots.OPENING_NOTE in _notes("par")
        card, classes = portfolio_card.par(reviewer), reports_portfolio.class_distribution(None)
        positions = reports_portfolio.monthly_positions(None, [today])
        classified = _report("classification")
        # Taken today: 1,000.00 repaid on the loan 181 days late, and a new loan.
        late = db.session.scalar(select(Loan).where(Loan.days_past_due == 181))
        late.installments[0].principal_paid = Decimal("1000.00")
        book.loan("officer1", "XYD", 50_000, today)
        db.session.commit()
        live = reports_portfolio.buckets(None, today, live=True)
        assert sum(p for *_k, p in live) == sum(f for _d, f in EDGES) - 100_000 + 50_000
        assert _report("par")["totals"] == before["totals"]
        assert portfolio_card.par(reviewer) == card and card["opening"] is True
        assert card["par90_amount"] == Decimal(_yuan(_over(90)))
        assert reports_portfolio.class_distribution(None) == classes
        assert reports_portfolio.monthly_positions(None, [today]) == positions
        assert positions[0]["outstanding"] == Decimal(_yuan(sum(f for _d, f in EDGES)))
        assert _report("classification")["totals"]["loans"] == classified["totals"]["loans"] == len(EDGES)
        # Tomorrow reads the same day's figures: what the report said today.
        assert sorted(reports_portfolio.buckets(None, today, today=today + timedelta(days=1))) == sorted(
            reports_portfolio.buckets(None, today))
        # Without the day's run (its record gone), today is live again, today's repayment and loan in.
        db.session.execute(delete(JobRun).where(JobRun.for_date == today))
        db.session.commit()
        again = _report("par")
        assert snapshots.LIVE_NOTE in _notes("par")
        assert again["totals"]["outstanding_principal"] == _yuan(sum(f for _d, f in EDGES) - 100_000 + 50_000)
        assert again["totals"]["loans"] == len(EDGES) + 1
        assert portfolio_card.par(reviewer)["outstanding"] == Decimal(again["totals"]["outstanding_principal"])


def test_a_past_day_without_figures_names_the_nearest_one(app, demo):
    with app.app_context():
        book.set_demo_loan_aside()
        book.clear()  # the demo's month openings too
        today = _today()
        book.late_loan("officer1", "XYD", 100_000, 0, today)
        db.session.commit()
        with pytest.raises(reporting.ReportRequestError) as refused:
            _report("par", as_of=(today - timedelta(days=3)).isoformat())
        assert refused.value.code == "no_snapshot" and "nearest" not in refused.value.params
        snapshots.write(today - timedelta(days=10))
        db.session.commit()
        with pytest.raises(reporting.ReportRequestError) as refused:
            _report("par", as_of=(today - timedelta(days=3)).isoformat())
        assert refused.value.params["nearest"] == (today - timedelta(days=10)).isoformat()
        assert _report("par", as_of=(today - timedelta(days=10)).isoformat())["totals"]["loans"] == 1


def test_the_dashboard_figures(app, demo):
    with app.app_context():
        today = _today()
        _edge_book(today)
        opening = today.replace(day=1)
        snapshots.write(opening) if opening != today else None
        db.session.commit()
        months = [opening - timedelta(days=400), opening, today]
        positions = reports_portfolio.monthly_positions(None, months)
        assert [p["day"] for p in positions] == months
        assert positions[0]["recorded"] is False and positions[0]["loans"] == 0
        now = positions[-1]
        assert now["loans"] == len(EDGES) and now["par30_principal"] == Decimal(_yuan(_over(30)))
        assert now["outstanding"] == Decimal(_yuan(sum(f for _d, f in EDGES)))
        classes = reports_portfolio.class_distribution(None)
        assert [c["classification"] for c in classes] == ["normal", "special_mention", "substandard", "doubtful", "loss"]
        assert sum(c["loans"] for c in classes) == len(EDGES)
        assert [c["loans"] for c in classes] == [1, 8, 2, 1, 0]  # 0 days; 1–90; 91 and 180; 181
        office = db.session.scalar(select(Office.id).where(Office.code == "HK"))
        assert sum(c["loans"] for c in reports_portfolio.class_distribution(None, office_ids={office})) == 4


# --- reconciliation over random books ----------------------------------------------------------

LOANS = st.lists(st.tuples(st.sampled_from(["officer1", "officer2", "officer3"]), st.sampled_from(["XYD", "LBD"]),
                           st.integers(1, 5_000_000), st.integers(0, 400)), min_size=1, max_size=12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LOANS)
def test_random_books_reconcile(app, demo, loans):
    with app.app_context():
        try:
            book.set_demo_loan_aside()
            today = _today()
            for officer, code, fen, dpd in loans:
                book.late_loan(officer, code, fen, dpd, today)
            db.session.commit()
            live = _report("par")
            totals = live["totals"]
            assert Decimal(totals["outstanding_principal"]) == Decimal(sum(f for *_x, f, _d in loans)) / 100
            # PAR buckets nested; ageing adds up to PAR1; PAR1 plus current is the whole.
            chain = [Decimal(totals[f"par{d}_principal"]) for d in dpd_rules.PAR_DAYS]
            assert chain == sorted(chain, reverse=True)
            ageing = sum(Decimal(totals[f"{k}_principal"]) for k in reports_portfolio.AGE_KEYS)
            assert ageing == chain[0]
            for by in ("office", "branch", "officer", "product"):
                rows = _report("par", by=by)["rows"]
                for key in ("loans", "outstanding_principal", "par1_principal", "par30_principal", "par90_principal"):
                    assert sum(Decimal(str(r[key])) for r in rows) == Decimal(str(totals[key])), (by, key)
            # Kept today, read tomorrow: the same figures.
            snapshots.write(today)
            db.session.commit()
            kept = reports_portfolio.buckets(None, today, today=today + timedelta(days=1))
            assert sorted(kept) == sorted(reports_portfolio.buckets(None, today, today=today))
        finally:
            book.clear()


# --- classification and its migration matrix --------------------------------------------------


def _classification_book(today: date) -> date:
    """Four loans around the last month's opening; returns that opening."""
    book.set_demo_loan_aside()
    opening = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    made = [
        # normal at the opening, its first installment unpaid since: special mention today
        book.loan("officer1", "XYD", 300_000, opening - timedelta(days=20), installments=3),
        # normal at both dates
        book.loan("officer2", "XYD", 200_000, opening - timedelta(days=20), installments=1, days=140),
        # repaid in full after the opening: off the books today
        book.loan("officer3", "LBD", 100_000, opening - timedelta(days=20), installments=1,
                  payments=((opening + timedelta(days=5), 100_000),)),
        # disbursed after the opening
        book.loan("officer3", "XYD", 50_000, opening + timedelta(days=5), installments=1, days=90),
    ]
    db.session.commit()
    snapshots.rebuild(opening)
    for loan in made:
        loan_service.rebuild(loan, today, jobs.DEFAULT_CLASS_DAYS)
    db.session.commit()
    return opening


def test_classification_counts_balances_and_the_migration_between_two_dates(app, demo):
    with app.app_context():
        today = _today()
        opening = _classification_book(today)
        report = _report("classification", **{"from": opening.isoformat()})
        rows = {r["classification"]: r for r in report["rows"]}
        normal, watch, new = rows["Normal"], rows["Special mention"], rows["Disbursed since From"]
        assert (normal["loans"], normal["outstanding_principal"]) == (2, "2500.00")
        assert (watch["loans"], watch["outstanding_principal"]) == (1, "3000.00")
        assert normal["loans_share"] == "66.67" and watch["principal_share"] == "54.55"
        assert normal["from_loans"] == 3
        assert (normal["to_normal"], normal["to_special_mention"], normal["to_left"]) == (1, 1, 1)
        assert new["to_normal"] == 1 and new["loans"] is None
        assert report["totals"]["loans"] == 3 and report["totals"]["to_left"] == 1
        # An officer sees only his loans' moves.
        mine = _report("classification", book.user("officer1"), **{"from": opening.isoformat()})
        assert {r["classification"]: r["to_special_mention"] for r in mine["rows"]}["Normal"] == 1
        assert mine["totals"]["from_loans"] == 1


def test_classification_between_days_without_loan_rows_says_so(app, demo):
    with app.app_context():
        today = _today()
        opening = _classification_book(today)
        snapshots.rebuild(opening + timedelta(days=3))
        db.session.commit()
        report = reporting.run(None, reporting.parse("classification", {"from": opening.isoformat(),
                                                                        "to": (opening + timedelta(days=3)).isoformat()},
                                                     viewer=None, today=today))
        assert any("opening of a month" in note for note in report.notes)
        assert "to_normal" not in reporting.as_json(report)["rows"][0]
        assert reporting.as_json(report)["totals"]["loans"] == 3


# --- upcoming dues --------------------------------------------------------------------------------


def test_upcoming_dues_in_the_next_7_30_and_90_days(app, demo):
    with app.app_context():
        today = _today()
        book.set_demo_loan_aside()
        book.loan("officer1", "XYD", 300_000, today - timedelta(days=25), installments=3, interest_fen=1_000)
        book.loan("officer3", "XYD", 100_000, today - timedelta(days=50), installments=1, days=40)  # already late
        db.session.commit()
        week = _report("upcoming", days=7)["totals"]
        assert (week["installments"], week["principal"], week["interest"], week["amount"]) == (1, "1000.00", "10.00", "1010.00")
        assert _report("upcoming", days=30)["totals"]["installments"] == 1
        quarter = _report("upcoming", days=90)
        assert quarter["totals"]["principal"] == "3000.00" and quarter["totals"]["interest"] == "30.00"
        for by in ("week", "month", "office", "branch", "officer", "product"):
            rows = _report("upcoming", days=90, by=by)["rows"]
            assert sum(Decimal(r["amount"]) for r in rows) == Decimal("3030.00"), by
        assert _report("upcoming", book.user("officer3"), days=90)["totals"]["installments"] == 0
        for bad in ({"days": "10"}, {"as_of": (today - timedelta(days=1)).isoformat()}):
            with pytest.raises(reporting.ReportRequestError):
                _report("upcoming", **bad)


# --- rebuilding past days: the command line and the demo --------------------------------------


def test_flask_report_snapshots_rebuilds_past_days_and_refuses_a_bad_range(app, demo):
    from app.models import AuditLog

    with app.app_context():
        today = _today()
        _classification_book(today)
        db.session.execute(PortfolioSnapshot.__table__.delete())
        db.session.commit()
    runner = app.test_cli_runner()
    first, last = today - timedelta(days=6), today - timedelta(days=4)
    refused = runner.invoke(args=["report", "snapshots", "--from", last.isoformat(), "--to", first.isoformat()])
    assert refused.exit_code == 2 and "The period ends before it starts" in refused.output
    with app.app_context():
        assert db.session.scalar(select(PortfolioSnapshot.id)) is None  # nothing written
    done = runner.invoke(args=["report", "snapshots", "--from", first.isoformat(), "--to", last.isoformat()])
    assert done.exit_code == 0, done.output
    with app.app_context():
        kept = db.session.scalars(select(PortfolioSnapshot.day).distinct().order_by(PortfolioSnapshot.day)).all()
        assert kept == [first, first + timedelta(days=1), last]
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "snapshots.rebuilt"))
        assert audit is not None
        # What the report says of such a day is what the ledger held that morning.
        assert _report("par", as_of=last.isoformat())["totals"]["loans"] == 3


@pytest.mark.demo_history
def test_the_demo_keeps_the_last_twelve_month_openings(app, demo):
    with app.app_context():
        today = _today()
        months = snapshots.month_openings(today)
        assert len(months) == 12 and months[-1] == today.replace(day=1)
        positions = reports_portfolio.monthly_positions(book.user("director1"), months)
        disbursed = db.session.scalar(select(Loan.disbursed_on))
        # A month opening before the demo's first loan kept no row (and no daily run saw it).
        assert [(p["recorded"], p["loans"]) for p in positions] == [
            (True, 1) if disbursed < day else (False, 0) for day in months]
        assert positions[-1]["outstanding"] > 0
