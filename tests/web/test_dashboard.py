"""The dashboard on the home page of directors and headquarters (app/services/dashboard.py,
templates/partials/dashboard.html): key figures, 12-month trends as SVG, the class distribution."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from app.services import dashboard


def _fixed(today: date):
    months = dashboard.month_starts(today)
    days = dashboard.position_days(today, months)
    positions = [{"day": d, "loans": 10 + i, "outstanding": Decimal(100000 + 5000 * i),
                  "par30_principal": Decimal(1000 * i), "par30_share": Decimal(i), "recorded": True}
                 for i, d in enumerate(days)]
    positions[0]["recorded"] = False  # no snapshot of the first month's close: a gap
    disbursed = [{"month": m, "loans": i, "amount": Decimal(2000 * i)} for i, m in enumerate(months)]
    collection = [{"month": m, "due": Decimal(1000), "collected": Decimal(900 + i), "rate": Decimal(90 + i) / 1}
                  for i, m in enumerate(months)]
    collection[3] = {"month": months[3], "due": Decimal(0), "collected": Decimal(0), "rate": Decimal(0)}
    classes = [{"classification": "normal", "loans": 18, "outstanding": Decimal("150000.00"), "share": Decimal("90.91")},
               {"classification": "substandard", "loans": 3, "outstanding": Decimal("15000.00"), "share": Decimal("9.09")}]
    return months, positions, disbursed, collection, classes


def test_the_months_run_from_eleven_months_back_to_this_month_read_at_each_close():
    today = date(2026, 12, 1)
    months = dashboard.month_starts(today)
    assert months[0] == date(2026, 1, 1) and months[-1] == date(2026, 12, 1) and len(months) == 12
    days = dashboard.position_days(today, months)
    assert days[0] == date(2026, 2, 1) and days[-2] == date(2026, 12, 1) and days[-1] == today
    assert dashboard.month_starts(date(2026, 3, 15))[0] == date(2025, 4, 1)


def test_assemble_turns_the_series_into_figures_and_charts():
    today = date(2026, 11, 20)
    months, positions, disbursed, collection, classes = _fixed(today)
    board = dashboard.assemble(today, months, positions, disbursed, collection, classes)
    assert board.current.outstanding == Decimal(155000) and board.current.par30_share == 11
    assert board.current.disbursed_amount == Decimal(22000)
    assert board.units == {"outstanding": 10000, "disbursed": 10000}
    # A month without a snapshot and a month with nothing due are gaps, not zeros.
    assert board.months[0].outstanding is None
    assert board.months[3].collection_rate is None
    assert len(board.charts["outstanding"].points) == 11
    # The current month is not over: no point for its collection rate (its figures are text).
    assert len(board.charts["collection"].points) == 10
    assert board.charts["collection"].points[-1].label == board.months[-2].label
    assert len(board.charts["disbursed"].bars) == 12
    # Every class in its order, the missing ones at zero; the largest share has the longest bar.
    assert [r.classification for r in board.classes] == ["normal", "special_mention", "substandard", "doubtful", "loss"]
    assert board.classes[0].width == 100.0 and board.classes[1].loans == 0 and board.class_loans == 21


def test_a_director_sees_his_figures_as_svg_and_text(client, auth, demo):
    auth.login("director1")
    html = client.get("/").get_data(as_text=True)
    assert 'id="dashboard"' in html
    for kpi in ("kpi-outstanding", "kpi-par30", "kpi-disbursed", "kpi-collection"):
        assert f'id="{kpi}"' in html
    assert html.count("<svg class=\"chart") == 5
    assert "五级分类" in html and "本月放款" in html
    # The queue stays the page's heading; the figures come as text too (a table per month).
    assert re.search(r"<h1>我的待办</h1>", html)
    assert html.count("<tr>") >= 12 + 5
    # Nothing from elsewhere, no script for the charts.
    assert "http" not in html.split('id="dashboard"')[1].split("</section>\n</section>")[0].replace(
        "http://www.w3.org", "")


def test_officers_and_administrators_keep_their_queue_only(client, auth, demo):
    for user in ("officer1", "admin", "clerk1"):
        auth.login(user)
        assert 'id="dashboard"' not in client.get("/").get_data(as_text=True), user
        client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                             client.get("/").get_data(as_text=True)).group(1)})


def test_headquarters_sees_every_office(client, auth, demo):
    auth.login("reviewer1")
    html = client.get("/").get_data(as_text=True)
    assert 'id="dashboard"' in html


def test_todays_position_is_the_opening_once_the_daily_job_has_run(app, client, auth, demo):
    """A repayment taken today moves today's outstanding before the day's run (live), not after it."""
    from app.services import jobs
    from tests.support import book

    def outstanding() -> str:
        html = client.get("/").get_data(as_text=True)
        return re.search(r'id="kpi-outstanding">.*?<p class="figure money">([^<]*)</p>', html, re.S).group(1)

    auth.login("reviewer1")
    live = outstanding()
    book.repay_late_demo_loan_today(app, "300", "R-live")
    assert outstanding() != live
    with app.app_context():
        jobs.run_daily(jobs.business_today())
    opening = outstanding()
    book.repay_late_demo_loan_today(app, "200", "R-opening")
    assert outstanding() == opening


def test_the_home_page_reads_no_collection_of_the_month_under_way(app, monkeypatch, demo):
    """The month under way is not kept: computing its collection from the ledger on every visit
    took seconds on a large book, so the dashboard asks only for closed months and links to the
    collection report for this month."""
    from app import clock
    from app.services import reports_flow
    from tests.support import book

    asked: list[list[date]] = []
    real = reports_flow.collection_monthly

    def spy(viewer, months, office_ids=None):
        asked.append(list(months))
        return real(viewer, months, office_ids=office_ids)

    monkeypatch.setattr(reports_flow, "collection_monthly", spy)
    with app.app_context():
        today = clock.business_today()
        board = dashboard.build(book.user("director1"), today)
    assert asked and all(month < today.replace(day=1) for month in asked[0]) and len(asked[0]) == 11
    assert board.current.due is None and board.current.collection_rate is None
