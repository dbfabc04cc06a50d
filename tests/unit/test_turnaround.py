"""Turnaround figures (app/domain/turnaround.py): nearest-rank percentiles and the stays in each step."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import turnaround

times = st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=60)
ps = st.floats(min_value=0.01, max_value=100)


def test_known_percentiles():
    values = [15, 20, 35, 40, 50]
    assert turnaround.percentile(values, 50) == 35
    assert turnaround.percentile(values, 90) == 50
    assert turnaround.percentile(values, 30) == 20
    assert turnaround.percentile([7], 90) == 7
    assert turnaround.figures([3, 1, 2, 10]) == turnaround.StepFigures(4, 2, 10)
    assert turnaround.figures([]) is None
    with pytest.raises(ValueError):
        turnaround.percentile([], 50)
    with pytest.raises(ValueError):
        turnaround.percentile([1], 0)


@given(times, ps)
def test_the_percentile_is_the_smallest_observed_value_with_p_percent_at_or_below_it(values, p):
    result = turnaround.percentile(values, p)
    assert result in values
    at_or_below = sum(v <= result for v in values)
    assert at_or_below >= math.ceil(p / 100 * len(values)) or at_or_below == len(values)
    below = sum(v < result for v in values)
    assert below < p / 100 * len(values) or below == 0


@given(times, ps, ps)
def test_percentiles_grow_with_p_and_the_median_never_exceeds_the_90th(values, p, q):
    low, high = sorted((p, q))
    assert turnaround.percentile(values, low) <= turnaround.percentile(values, high)
    found = turnaround.figures(values)
    assert min(values) <= found.median <= found.p90 <= max(values)
    assert found.count == len(values)


T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_stays_of_an_application_returned_once_and_disbursed():
    moves = [
        (at(2), "uploading", "awaiting_director"),
        (at(5), "awaiting_director", "awaiting_entry"),
        (at(6), "awaiting_entry", "awaiting_l1"),
        (at(30), "awaiting_l1", "returned"),
        (at(40), "returned", "uploading"),
        (at(41), "uploading", "awaiting_director"),
        (at(42), "awaiting_director", "awaiting_entry"),
        (at(43), "awaiting_entry", "awaiting_l1"),
        (at(44), "awaiting_l1", "awaiting_disbursement"),
        (at(50), "awaiting_disbursement", "disbursed"),
    ]
    found = turnaround.stays(T0, moves)
    assert [(s.state, s.seconds(at(99)) / 3600) for s in found] == [
        ("uploading", 2), ("awaiting_director", 3), ("awaiting_entry", 1), ("awaiting_l1", 24),
        ("returned", 10), ("uploading", 1), ("awaiting_director", 1), ("awaiting_entry", 1),
        ("awaiting_l1", 1), ("awaiting_disbursement", 6)]
    assert all(s.ended is not None for s in found)


def test_an_application_still_waiting_has_one_open_stay():
    found = turnaround.stays(T0, [(at(3), "uploading", "awaiting_director")])
    assert found[-1] == turnaround.Stay("awaiting_director", at(3), None)
    assert found[-1].seconds(at(10)) == 7 * 3600
    assert turnaround.stays(T0, [])[0].state == "uploading"


@given(st.lists(st.sampled_from(turnaround.STEP_STATES + ("disbursed", "rejected")), max_size=12),
       st.lists(st.floats(min_value=0, max_value=500), min_size=12, max_size=12))
def test_stays_tile_the_time_from_capture_to_the_last_move(path, gaps):
    moves, state, clock = [], "uploading", T0
    for target, gap in zip(path, gaps):
        clock = clock + timedelta(hours=gap)
        moves.append((clock, state, target))
        state = target
    found = turnaround.stays(T0, moves)
    closed = [s for s in found if s.ended is not None]
    total = sum((s.seconds(clock) for s in closed), 0.0)
    waiting_moves = sum(1 for m in moves if m[1] in turnaround.STEP_STATES)
    assert len(closed) == waiting_moves
    if all(m[1] in turnaround.STEP_STATES for m in moves):
        assert abs(total - (clock - T0).total_seconds()) < 1e-3


def test_an_imported_application_has_no_stay_of_unknown_start():
    # The book import records only the disbursement: its wait before is not known, not zero.
    assert turnaround.stays(T0, [(at(0), "awaiting_disbursement", "disbursed")]) == []
