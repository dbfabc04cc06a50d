"""The dashboard's chart geometry (app/domain/charts.py): ticks, scales, line and bar shapes."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import charts

amounts = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)
maybe = st.one_of(st.none(), amounts)


def test_ticks_are_round_steps_from_zero_to_the_first_at_or_above_the_largest():
    assert charts.nice_ticks(Decimal("1234567.89")) == [0, 500000, 1000000, 1500000]
    assert charts.nice_ticks(Decimal("7.3")) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(Decimal("100")) == [0, 25, 50, 75, 100]
    assert charts.nice_ticks(0) == [0, 1]


@given(amounts)
def test_ticks_cover_the_largest_value_with_at_most_four_steps(largest):
    ticks = charts.nice_ticks(largest)
    assert ticks[0] == 0
    assert ticks[-1] >= largest
    assert 2 <= len(ticks) <= 5
    step = ticks[1] - ticks[0]
    assert all(b - a == step for a, b in zip(ticks, ticks[1:]))
    # No tick wasted: the one before last is still below the largest value.
    assert len(ticks) == 2 or ticks[-2] < largest
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in {1, 2, Decimal("2.5"), 5}


def test_negative_or_float_values_are_refused():
    with pytest.raises(ValueError):
        charts.line_chart([Decimal(-1)], ["1"])
    with pytest.raises(TypeError):
        charts.bar_chart([1.5], ["1"])
    with pytest.raises(ValueError):
        charts.bar_chart([1, 2], ["1"])


def test_a_line_over_twelve_months_with_a_gap():
    values = [None, None] + [Decimal(v) for v in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]
    chart = charts.line_chart(values, [f"{m}" for m in range(1, 13)])
    assert len(chart.points) == 10
    assert chart.path.count("M") == 1 and chart.path.count("L") == 9
    # The zero line is the plot's bottom, the top tick its top; the largest value touches the top.
    assert chart.ticks[0].y == chart.plot_bottom
    assert chart.ticks[-1].y == chart.plot_top
    assert chart.points[-1].y == chart.plot_top
    # The latest month always has its label, and labels do not crowd a 320-unit plot.
    assert chart.xlabels[-1].text == "12"
    assert len(chart.xlabels) <= 6


def test_a_gap_in_the_middle_starts_a_new_segment():
    chart = charts.line_chart([1, None, 3], ["a", "b", "c"])
    assert chart.path.count("M") == 2 and "L" not in chart.path


@given(st.lists(maybe, min_size=1, max_size=24))
def test_every_shape_stays_inside_the_plot_and_keeps_the_order_of_values(values):
    labels = [str(i) for i in range(len(values))]
    line = charts.line_chart(values, labels)
    bars = charts.bar_chart(values, labels)
    present = [v for v in values if v is not None]
    assert [p.value for p in line.points] == present
    assert [b.value for b in bars.bars] == present
    for point in line.points:
        assert line.plot_left <= point.x <= line.plot_right
        assert line.plot_top <= point.y <= line.plot_bottom
    for bar in bars.bars:
        assert bars.plot_left <= bar.x and bar.x + bar.width <= bars.plot_right + 0.1
        assert bar.height >= 0 and abs(bar.y + bar.height - bars.plot_bottom) <= 0.1
    # A larger value is never drawn lower (y grows downwards).
    ordered = sorted(line.points, key=lambda p: p.value)
    assert all(a.y >= b.y for a, b in zip(ordered, ordered[1:]))
    xs = [p.x for p in line.points]
    assert xs == sorted(xs)


@given(st.lists(st.tuples(st.text(max_size=3), amounts, st.decimals(min_value=0, max_value=100, places=2)),
                max_size=6))
def test_share_bars_give_the_largest_share_the_full_width(rows):
    bars = charts.share_bars(rows)
    assert [b.share for b in bars] == [Decimal(r[2]) for r in rows]
    if bars and max(b.share for b in bars) > 0:
        assert max(b.width for b in bars) == 100.0
    assert all(0 <= b.width <= 100 for b in bars)


def test_money_axes_switch_to_ten_thousand_yuan():
    assert charts.money_unit(Decimal("9999.99")) == 1
    assert charts.money_unit(10000) == 10000
