"""Chart geometry for the server-rendered SVG charts: scales, ticks, line and bar shapes. Pure.

The dashboard draws its charts on the server as small SVG (no chart library, nothing fetched by
the phone): this module turns figures into coordinates, templates/partials/charts.html turns the
coordinates into markup. A chart has a fixed ``viewBox`` and is drawn at the width of its box, so
one drawing serves a 360 px phone and a desktop alike.

Values are ``Decimal`` (or ``int``) and never negative; ``None`` is a month with no figure (a gap
in a line, no bar). Ticks are exact ``Decimal`` steps of 1, 2, 2.5 or 5 times a power of ten,
from zero to the first tick at or above the largest value. Coordinates are rounded to one decimal
(a tenth of a user unit is below a pixel on any screen, and it keeps the markup short).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

Number = Decimal | int

# The plot inside the viewBox: room on the left for the y ticks' labels, below for the months.
WIDTH = 320
HEIGHT = 132
LEFT = 34
RIGHT = 6
TOP = 8
BOTTOM = 20
STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
# Money axes are shown in 10,000 yuan (万元) once the largest value reaches it.
TEN_THOUSAND = Decimal(10000)


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: float


@dataclass(frozen=True)
class XLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: Decimal
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: Decimal
    label: str


@dataclass(frozen=True)
class Chart:
    """One chart, ready to draw: ``kind`` "line" or "bar"."""

    kind: str
    width: int
    height: int
    ticks: tuple[Tick, ...]
    xlabels: tuple[XLabel, ...]
    points: tuple[Point, ...] = ()
    path: str = ""              # the line's SVG path ("M x y L x y …"; a gap starts a new "M")
    bars: tuple[Bar, ...] = ()
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class ShareBar:
    """One row of a horizontal bar chart of shares (the class distribution)."""

    label: str
    value: Decimal
    share: Decimal      # percent of the whole, as given
    width: float        # of ``full``: the longest bar is the largest share


def _r(value: float) -> float:
    return round(value, 1)


def _dec(value: Number) -> Decimal:
    if isinstance(value, float):
        raise TypeError("chart values are Decimal or int, never float")
    result = Decimal(value)
    if result < 0:
        raise ValueError("chart values cannot be negative")
    return result


def nice_step(largest: Number, count: int = 4) -> Decimal:
    """The tick step: the smallest of 1, 2, 2.5, 5 × 10^k at least ``largest / count``."""
    if count < 1:
        raise ValueError("at least one tick step")
    largest = _dec(largest)
    if largest == 0:
        return Decimal(1)
    raw = largest / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for multiple in STEPS:
        step = multiple * magnitude
        if step >= raw:
            return step.normalize()
    raise AssertionError("unreachable: 10 × magnitude exceeds raw")


def nice_ticks(largest: Number, count: int = 4) -> list[Decimal]:
    """0, step, 2 × step … up to the first tick at or above ``largest`` (at most ``count`` steps)."""
    step = nice_step(largest, count)
    steps = int((_dec(largest) / step).to_integral_value(rounding=ROUND_CEILING)) or 1
    return [(step * i).normalize() for i in range(steps + 1)]


def money_unit(largest: Number) -> Decimal:
    """The divisor money axes are shown in: 1 (yuan), or 10,000 (万元) from 10,000 yuan on."""
    return TEN_THOUSAND if _dec(largest) >= TEN_THOUSAND else Decimal(1)


def label_every(count: int, room: float, min_gap: float = 44.0) -> int:
    """Show every n-th x label so that labels stand at least ``min_gap`` apart in ``room``."""
    if count <= 1:
        return 1
    gap = room / count
    every = 1
    while gap * every < min_gap:
        every += 1
    return every


class _Frame:
    def __init__(self, values: Sequence[Number | None], width: int, height: int):
        self.values = [None if v is None else _dec(v) for v in values]
        largest = max((v for v in self.values if v is not None), default=Decimal(0))
        self.tick_values = nice_ticks(largest)
        self.top_value = self.tick_values[-1]
        self.width, self.height = width, height
        self.left, self.right = LEFT, width - RIGHT
        self.top, self.bottom = TOP, height - BOTTOM
        self.band = (self.right - self.left) / max(len(self.values), 1)

    def y(self, value: Decimal) -> float:
        return _r(self.bottom - float(value / self.top_value) * (self.bottom - self.top))

    def centre(self, index: int) -> float:
        return _r(self.left + self.band * (index + 0.5))

    def ticks(self) -> tuple[Tick, ...]:
        return tuple(Tick(value, self.y(value)) for value in self.tick_values)

    def xlabels(self, labels: Sequence[str]) -> tuple[XLabel, ...]:
        every = label_every(len(labels), self.right - self.left)
        last = len(labels) - 1
        # Counted back from the last month, so the latest month always has its label.
        return tuple(XLabel(self.centre(i), text) for i, text in enumerate(labels) if (last - i) % every == 0)


def _check(values: Sequence, labels: Sequence[str]) -> None:
    if len(values) != len(labels):
        raise ValueError("one label per value")


def line_chart(values: Sequence[Number | None], labels: Sequence[str], *,
               width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """A line through the values at the centre of each label's band; ``None`` leaves a gap."""
    _check(values, labels)
    frame = _Frame(values, width, height)
    points: list[Point] = []
    parts: list[str] = []
    previous_missing = True
    for index, value in enumerate(frame.values):
        if value is None:
            previous_missing = True
            continue
        point = Point(frame.centre(index), frame.y(value), value, labels[index])
        points.append(point)
        parts.append(f"{'M' if previous_missing else 'L'}{point.x:g} {point.y:g}")
        previous_missing = False
    return Chart("line", width, height, frame.ticks(), frame.xlabels(labels), points=tuple(points),
                 path=" ".join(parts))


def bar_chart(values: Sequence[Number | None], labels: Sequence[str], *,
              width: int = WIDTH, height: int = HEIGHT, fill: float = 0.7) -> Chart:
    """A bar per value, ``fill`` of its band wide, from the zero line up; ``None`` has no bar."""
    _check(values, labels)
    if not 0 < fill <= 1:
        raise ValueError("a bar fills part of its band")
    frame = _Frame(values, width, height)
    bar_width = _r(frame.band * fill)
    bars = []
    for index, value in enumerate(frame.values):
        if value is None:
            continue
        y = frame.y(value)
        bars.append(Bar(_r(frame.centre(index) - bar_width / 2), y, bar_width, _r(frame.bottom - y),
                        value, labels[index]))
    return Chart("bar", width, height, frame.ticks(), frame.xlabels(labels), bars=tuple(bars))


def share_bars(rows: Sequence[tuple[str, Number, Number]], full: float = 100.0) -> list[ShareBar]:
    """Horizontal bars of shares: ``rows`` are (label, value, share in percent); the largest share
    gets the ``full`` width, the others in proportion (a zero share no bar)."""
    shares = [_dec(share) for _label, _value, share in rows]
    largest = max(shares, default=Decimal(0))
    return [ShareBar(label, _dec(value), share,
                     _r(float(share / largest) * full) if largest else 0.0)
            for (label, value, _share), share in zip(rows, shares, strict=True)]
