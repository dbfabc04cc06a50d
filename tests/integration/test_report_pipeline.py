"""Report 7, ``pipeline`` (app/services/reports_pipeline.py): stages now and time per step, checked
against a small timeline built in the test, on SQLite and MariaDB."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from app import clock
from app.domain import turnaround
from app.extensions import db
from app.models import Application, Borrower, Product, User
from app.models.applications import Transition
from app.services import reporting

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)   # 12:00 in Beijing
TODAY = date(2026, 11, 20)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _application(officer: str, captured: datetime, moves: list[tuple[float, str, str]], *,
                 event_last: str | None = None) -> Application:
    """An application captured at ``captured`` and moved at ``captured + hours`` each time."""
    who = _user(officer)
    borrower = db.session.scalars(select(Borrower)).first()
    product = db.session.scalars(select(Product)).first()
    state = moves[-1][2] if moves else "uploading"
    app = Application(borrower_id=borrower.id, product_id=product.id, officer_id=who.id, office_id=who.office_id,
                      amount=Decimal("5000"), term_months=6, state=state, captured_at=captured, created_at=captured)
    db.session.add(app)
    db.session.flush()
    for hours, from_state, to_state in moves:
        event = "disburse" if to_state == "disbursed" else "move"
        db.session.add(Transition(application_id=app.id, event=event, from_state=from_state, to_state=to_state,
                                  at=captured + timedelta(hours=hours)))
    db.session.flush()
    return app


def _at(month: int, day: int, hour: int = 1) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=timezone.utc)


@pytest.fixture()
def book(app, demo, monkeypatch):
    """Five applications (A, B, E in 城关 by officer1; C, D in 河口 by officer3); the demo's own
    applications set aside (withdrawn, no history, created now)."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with app.app_context():
        db.session.execute(delete(Transition))
        db.session.execute(update(Application).values(state="withdrawn", created_at=NOW, captured_at=NOW))
        # A: through every step to disbursement: 2 + 3 + 1 + 24 + 6 = 36 h.
        _application("officer1", _at(11, 2), [
            (2, "uploading", "awaiting_director"), (5, "awaiting_director", "awaiting_entry"),
            (6, "awaiting_entry", "awaiting_l1"), (30, "awaiting_l1", "awaiting_disbursement"),
            (36, "awaiting_disbursement", "disbursed")])
        # B: returned by L1 after 6 h, 10 h with the officer, back with the director since Nov 3 22:00.
        _application("officer1", _at(11, 3), [
            (1, "uploading", "awaiting_director"), (3, "awaiting_director", "awaiting_entry"),
            (4, "awaiting_entry", "awaiting_l1"), (10, "awaiting_l1", "returned"),
            (20, "returned", "uploading"), (21, "uploading", "awaiting_director")])
        # C: uploaded in 4 h, with the director since Nov 10 05:00.
        _application("officer3", _at(11, 10), [(4, "uploading", "awaiting_director")])
        # D: imported with its loan: no history before the disbursement.
        _application("officer3", _at(11, 5), [(0, "awaiting_disbursement", "disbursed")])
        # E: uploaded on Oct 30 (1 h), rejected by the director 47 h later (Nov 1, 09:00 in Beijing).
        _application("officer1", _at(10, 30), [(1, "uploading", "awaiting_director"),
                                                (48, "awaiting_director", "rejected")])
        db.session.commit()
    return demo


def _run(viewer_name: str | None, **raw: str):
    viewer = None if viewer_name is None else _user(viewer_name)
    request = reporting.parse("pipeline", raw, viewer=viewer, today=TODAY)
    return reporting.run(viewer, request)


def test_the_pipeline_times_each_step_and_counts_who_waits_now(app, book):
    with app.app_context():
        report = _run(None, **{"from": "2026-11-01", "to": "2026-11-20"})
        [row] = list(report.rows)
        h = Decimal
        # Uploading: A 2, B 1 and 1 (twice), C 4 → median 1, 90th 4. E's upload ended in October.
        assert (row["uploading_done"], row["uploading_median"], row["uploading_p90"]) == (4, h("1.0"), h("4.0"))
        assert (row["awaiting_director_done"], row["awaiting_director_median"],
                row["awaiting_director_p90"]) == (3, h("3.0"), h("47.0"))
        assert (row["awaiting_entry_done"], row["awaiting_entry_median"]) == (2, h("1.0"))
        assert (row["awaiting_l1_done"], row["awaiting_l1_median"], row["awaiting_l1_p90"]) == (2, h("6.0"), h("24.0"))
        assert (row["returned_done"], row["returned_median"]) == (1, h("10.0"))
        # D's disbursement has no known start: only A's 6 h.
        assert (row["awaiting_disbursement_done"], row["awaiting_disbursement_median"]) == (1, h("6.0"))
        assert (row["awaiting_l2_done"], row["awaiting_l2_median"]) == (0, None)
        # Where they wait now: B (390 h) and C (239 h) with the director.
        assert (row["awaiting_director_waiting"], row["awaiting_director_wait_median"]) == (2, h("239.0"))
        assert row["awaiting_entry_waiting"] == 0 and row["returned_waiting"] == 0
        # End to end: A only (36 h); D was imported.
        assert (row["total_done"], row["total_median"], row["total_p90"]) == (1, h("36.0"), h("36.0"))
        assert report.totals["awaiting_director_done"] == 3
        json = reporting.as_json(report)
        assert json["report"] == "pipeline" and json["totals"]["total_median"] == "36.00"


def test_by_office_and_by_month(app, book):
    with app.app_context():
        by_office = {row["group"]: row for row in _run(None, by="office", **{"from": "2026-11-01"}).rows}
        assert set(by_office) == {"城关办事处", "河口办事处"}
        river = by_office["河口办事处"]
        assert (river["uploading_done"], river["uploading_median"]) == (1, Decimal("4.0"))
        assert (river["awaiting_director_waiting"], river["awaiting_director_wait_median"]) == (1, Decimal("239.0"))
        town = by_office["城关办事处"]
        assert town["uploading_done"] == 3 and town["awaiting_director_waiting"] == 1
        # The breakdown's counts add up to the totals.
        report = _run(None, by="office", **{"from": "2026-11-01"})
        rows = list(report.rows)
        for key in ("uploading_done", "awaiting_director_done", "awaiting_director_waiting", "total_done"):
            assert sum(r[key] for r in rows) == report.totals[key]

        by_month = _run(None, by="month", **{"from": "2026-10-01", "to": "2026-11-20"})
        months = {row["group"]: row for row in by_month.rows}
        assert set(months) == {"2026-10", "2026-11"}
        assert months["2026-10"]["uploading_done"] == 1 and months["2026-11"]["uploading_done"] == 4
        assert months["2026-11"]["awaiting_director_waiting"] is None  # waiting now: in the totals only
        assert by_month.totals["awaiting_director_waiting"] == 2


def test_as_of_a_past_day_reads_the_state_the_timeline_had_then(app, book):
    with app.app_context():
        # At the end of Nov 3 (16:00 UTC): A disbursed, B with the officer since 11:00, C and D not yet there.
        report = _run(None, as_of="2026-11-03")
        assert report.totals["returned_waiting"] == 1
        assert report.totals["returned_wait_median"] == Decimal("5.0")
        assert sum(report.totals[f"{s}_waiting"] for s in
                   ("uploading", "awaiting_director", "awaiting_entry", "awaiting_l1", "awaiting_l2",
                    "awaiting_special", "awaiting_disbursement", "returned")) == 1


def test_a_director_sees_only_his_office(app, book):
    with app.app_context():
        report = _run("director2", **{"from": "2026-11-01"})
        assert report.totals["uploading_done"] == 1
        assert report.totals["awaiting_director_waiting"] == 1
        assert report.totals["awaiting_director_done"] == 0
        with pytest.raises(reporting.ReportRequestError):
            _run("director2", office="CG")


def test_the_report_screen_and_workbook_offer_the_month_breakdown(app, book, client, auth):
    auth.login("reviewer1")
    page = client.get("/reports/pipeline?by=month&from=2026-10-01")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "审批流程与时效" in html and "2026-10" in html
    # The breakdown's choice is named (the month is this report's own breakdown).
    assert re.search(r'<option value="month"[^>]*>月份</option>', html)
    workbook = client.get("/reports/pipeline?by=month&from=2026-10-01&format=csv")
    assert workbook.status_code == 200
    assert "按月" in workbook.get_data(as_text=True) or "月份" in workbook.get_data(as_text=True)


# --- the query against the pure definition, on random timelines -----------------------------------

STATES = list(turnaround.STEP_STATES) + ["disbursed", "rejected"]
timelines = st.lists(
    st.tuples(st.sampled_from(["officer1", "officer3"]),
              st.integers(min_value=0, max_value=40 * 24),               # capture: hours after Oct 10
              st.lists(st.tuples(st.integers(min_value=0, max_value=200), st.sampled_from(STATES)),
                       max_size=6),
              st.booleans()),                                            # imported (no history)
    min_size=1, max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timelines)
def test_the_query_counts_what_the_domain_definition_counts(app, book, books):
    """Random timelines: the report's counts, medians and 90th percentiles equal those of
    ``turnaround.stays`` over the same transitions, and the office breakdown adds up to the totals."""
    start = datetime(2026, 10, 10, tzinfo=timezone.utc)
    with app.app_context():
        db.session.execute(delete(Transition))
        db.session.execute(update(Application).values(state="withdrawn", created_at=NOW, captured_at=NOW))
        expected: dict[str, list[float]] = {s: [] for s in turnaround.STEP_STATES}
        waiting: dict[str, int] = {s: 0 for s in turnaround.STEP_STATES}
        # From Nov 1 to the end of Nov 20 in Beijing (no move is later than now).
        period = (datetime(2026, 11, 1, tzinfo=timezone.utc) - timedelta(hours=8),
                  datetime(2026, 11, 21, tzinfo=timezone.utc) - timedelta(hours=8))
        for officer, capture_hours, steps, imported in books:
            captured = start + timedelta(hours=capture_hours)
            moves, state, clock_at = [], "awaiting_disbursement" if imported else "uploading", 0
            for gap, target in steps:
                clock_at += gap
                if captured + timedelta(hours=clock_at) > NOW or state not in turnaround.STEP_STATES:
                    break
                moves.append((clock_at, state, target))
                state = target
            _application(officer, captured, moves)
            stays = turnaround.stays(captured, [(captured + timedelta(hours=h), a, b) for h, a, b in moves])
            for stay in stays:
                if stay.ended is not None and period[0] <= stay.ended < period[1]:
                    expected[stay.state].append(stay.seconds(NOW))
            if stays and stays[-1].ended is None:
                waiting[stays[-1].state] += 1
        db.session.commit()
        report = _run(None, **{"from": "2026-11-01"})
        by_office = list(_run(None, by="office", **{"from": "2026-11-01"}).rows)
        for state in turnaround.STEP_STATES:
            found = turnaround.figures(expected[state])
            assert report.totals[f"{state}_done"] == len(expected[state])
            if found:
                assert report.totals[f"{state}_median"] == (Decimal(found.median) / 3600).quantize(Decimal("0.1"))
                assert report.totals[f"{state}_p90"] == (Decimal(found.p90) / 3600).quantize(Decimal("0.1"))
            assert report.totals[f"{state}_waiting"] == waiting[state]
            assert sum(r[f"{state}_done"] for r in by_office) == report.totals[f"{state}_done"]
            assert sum(r[f"{state}_waiting"] for r in by_office) == report.totals[f"{state}_waiting"]
