"""The dashboard on the home page of directors and headquarters: the key figures of the portfolio in
their reach, each with its 12-month trend, and the five-category class distribution.

The figures come from the reports' own functions (``reports_portfolio.monthly_positions`` and
``class_distribution``, ``reports_flow.disbursed_monthly`` and ``collection_monthly``), so a figure
on the dashboard is the figure of the report with the same definition: the positions at each
month's close read the snapshots, the current month today's opening (kept by the day's run of the
daily job; computed live before it has run).

The twelve months are the current month (to date) and the eleven before it. A month's position is
its close, i.e. the opening of the next month; the current month's is today's. ``assemble`` turns
the four series into key figures and chart geometry (no query); ``build`` fetches them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain import charts
from app.domain.repayment import CLASS_LABELS, CLASSES
from app.models import User
from app.services import reporting, scope

MONTHS = 12


def shows_dashboard(user: User) -> bool:
    """Directors (their offices) and headquarters roles granted loans (every office)."""
    if not reporting.may_see_reports(user):
        return False
    return user.has_role("director") or scope.reaches_every_office(user, scope.LOANS)


def month_starts(today: date, count: int = MONTHS) -> list[date]:
    """The first day of the current month and of the ``count - 1`` months before, oldest first."""
    starts = []
    year, month = today.year, today.month
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def next_month(start: date) -> date:
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def position_days(today: date, months: Sequence[date]) -> list[date]:
    """The day each month's position is read: the next month's opening, today for the current."""
    return [min(next_month(month), today) for month in months]


@dataclass(frozen=True)
class Month:
    """One month's figures (None: no figure for that month, e.g. no snapshot of its close)."""

    month: date
    label: str
    outstanding: Decimal | None = None
    loans: int | None = None
    par30_principal: Decimal | None = None
    par30_share: Decimal | None = None
    disbursed_loans: int | None = None
    disbursed_amount: Decimal | None = None
    due: Decimal | None = None
    collected: Decimal | None = None
    collection_rate: Decimal | None = None


@dataclass(frozen=True)
class ClassRow:
    classification: str
    label: str          # N_()
    loans: int
    outstanding: Decimal
    share: Decimal
    width: float        # of 100: the bar's length


@dataclass
class Dashboard:
    today: date
    months: list[Month]
    classes: list[ClassRow]
    units: dict[str, Decimal]           # per money chart: 1 (yuan) or 10,000 (万) on its axis
    charts: dict[str, charts.Chart] = field(default_factory=dict)

    @property
    def current(self) -> Month:
        return self.months[-1]

    @property
    def previous(self) -> Month:
        return self.months[-2] if len(self.months) > 1 else Month(self.today, "")

    @property
    def class_loans(self) -> int:
        return sum(row.loans for row in self.classes)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _by(rows: Sequence[Mapping[str, Any]], key: str) -> dict[date, Mapping[str, Any]]:
    return {row[key]: row for row in rows}


def _scaled(values: Sequence[Decimal | None], unit: Decimal) -> list[Decimal | None]:
    return [None if v is None else v / unit for v in values]


def assemble(today: date, months: Sequence[date], positions: Sequence[Mapping[str, Any]],
             disbursed: Sequence[Mapping[str, Any]], collection: Sequence[Mapping[str, Any]],
             classes: Sequence[Mapping[str, Any]], *,
             month_label: Callable[[date], str] = lambda d: str(d.month)) -> Dashboard:
    """The dashboard from the four series and the class distribution (no query: fixed data in
    tests, the reports' functions in ``build``)."""
    at = _by(positions, "day")
    flows = _by(disbursed, "month")
    collected = _by(collection, "month")
    rows = []
    for month, day in zip(months, position_days(today, months), strict=True):
        pos, flow, col = at.get(day, {}), flows.get(month, {}), collected.get(month, {})
        if not pos.get("recorded", True):
            pos = {}  # no snapshot of that day: a gap, not a month with nothing
        rows.append(Month(
            month=month, label=month_label(month),
            outstanding=_dec(pos.get("outstanding")), loans=pos.get("loans"),
            par30_principal=_dec(pos.get("par30_principal")), par30_share=_dec(pos.get("par30_share")),
            disbursed_loans=flow.get("loans"), disbursed_amount=_dec(flow.get("amount")),
            due=_dec(col.get("due")), collected=_dec(col.get("collected")),
            # A month with nothing due has no collection rate (not 0 %, not 100 %).
            collection_rate=_dec(col.get("rate")) if col.get("due") else None,
        ))
    by_class = {row["classification"]: row for row in classes}
    bars = charts.share_bars([(name, by_class.get(name, {}).get("outstanding", 0),
                               by_class.get(name, {}).get("share", 0)) for name in CLASSES])
    class_rows = [ClassRow(name, CLASS_LABELS[name], int(by_class.get(name, {}).get("loans", 0)),
                           Decimal(bar.value), Decimal(bar.share), bar.width)
                  for name, bar in zip(CLASSES, bars, strict=True)]
    units = {"outstanding": charts.money_unit(max(m.outstanding or 0 for m in rows)),
             "disbursed": charts.money_unit(max(m.disbursed_amount or 0 for m in rows))}
    labels = [m.label for m in rows]
    board = Dashboard(today, rows, class_rows, units)
    board.charts = {
        "outstanding": charts.line_chart(_scaled([m.outstanding for m in rows], units["outstanding"]), labels),
        "par30": charts.line_chart([m.par30_share for m in rows], labels),
        "disbursed": charts.bar_chart(_scaled([m.disbursed_amount for m in rows], units["disbursed"]), labels),
        # The current month is not over: what falls due later this month is not yet collectable,
        # so its rate is no point of the trend (the page gives it as figures).
        "collection": charts.line_chart([m.collection_rate for m in rows[:-1]] + [None], labels),
    }
    return board


def build(viewer: User, today: date, *, office_ids: frozenset[int] | None = None,
          month_label: Callable[[date], str] = lambda d: str(d.month)) -> Dashboard:
    """The viewer's dashboard (his reach; ``office_ids`` narrows it to some of his offices)."""
    from app.services import reports_flow, reports_portfolio

    months = month_starts(today)
    ids = None if office_ids is None else sorted(office_ids)
    positions = reports_portfolio.monthly_positions(viewer, position_days(today, months), office_ids=ids)
    disbursed = reports_flow.disbursed_monthly(viewer, months, office_ids=ids)
    # Closed months only: they are kept (monthly_figures), while the month under way would be
    # read from the ledger on every visit to the home page (seconds on a large book); the page
    # links to the collection report for it instead.
    collection = reports_flow.collection_monthly(viewer, months[:-1], office_ids=ids)
    classes = reports_portfolio.class_distribution(viewer, office_ids=ids)
    return assemble(today, months, positions, disbursed, collection, classes, month_label=month_label)
