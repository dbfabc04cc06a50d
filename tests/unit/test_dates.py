"""The business-date window (app/domain/dates.py): the same rule for web, phone and import."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from app.domain import dates

TODAY = date(2026, 11, 30)


def test_a_date_in_the_window_passes():
    assert dates.check_business_date(TODAY, today=TODAY) is None
    assert dates.check_business_date(TODAY - timedelta(days=30), today=TODAY) is None


def test_1900_the_future_and_before_the_approval_are_refused():
    assert "more than" in dates.check_business_date(date(1900, 1, 1), today=TODAY)[0]
    assert "future" in dates.check_business_date(TODAY + timedelta(days=1), today=TODAY)[0]
    message, params = dates.check_business_date(date(2026, 11, 20), today=TODAY, not_before=date(2026, 11, 25),
                                                not_before_what="the approval")
    assert "before" in message and params["date"] == "2026-11-25"
    assert dates.check_business_date(TODAY - timedelta(days=31), today=TODAY)[1]["days"] == 30
    assert dates.check_business_date(TODAY - timedelta(days=31), today=TODAY, max_back_days=60) is None


def test_parsing_takes_only_yyyy_mm_dd():
    assert dates.parse_business_date("2026-11-30", today=TODAY) == (TODAY, None)
    for text in ("20261130", "2026-W48-1", "30/11/2026", "", "2026-02-30"):
        value, problem = dates.parse_business_date(text, today=TODAY)
        assert value is None and "YYYY-MM-DD" in problem[0], text


def test_the_business_date_is_china_time():
    # 17:00 UTC on the 30th is already 01:00 on the 1st in Beijing.
    assert dates.business_today(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)) == date(2026, 12, 1)


def test_device_times_get_the_same_window_with_clock_slack():
    now = datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)
    assert dates.check_device_time(now + timedelta(minutes=9), now=now) is None
    assert "future" in dates.check_device_time(now + timedelta(minutes=11), now=now)[0]
    assert "days ago" in dates.check_device_time(now - timedelta(days=31), now=now)[0]
    assert dates.parse_device_time("2026-11-30T04:00:00") is None  # no time zone
    assert dates.parse_device_time("2026-11-30T12:00:00+08:00") == now


@given(st.dates(), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.integers(min_value=0, max_value=400), st.none() | st.dates())
def test_the_window_is_exactly_what_it_says(on, today, back, not_before):
    problem = dates.check_business_date(on, today=today, max_back_days=back, not_before=not_before)
    inside = on <= today and on >= today - timedelta(days=back) and (not_before is None or on >= not_before)
    assert (problem is None) == inside
