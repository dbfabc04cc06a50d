"""Report 7, ``pipeline``: applications by stage now, and how long each step of the workflow takes.

For each step (``app.domain.turnaround.STEPS``: captured → uploaded → director → data entry → L1 →
L2 → special → disbursed, and back with the officer): how many applications wait in it at the
end of the as-of day (today: now) and the median of how long they have waited so far; how many
stays in it ended in the period, and their median and 90th-percentile time in hours; and, end to
end, the time from capture to disbursement of the applications disbursed in the period. By
office or by month (the business month the stay ended in), or the whole reach.

Set-based: the time a stay began is the previous transition's moment, read with a window
function (LAG) in the one query; the percentiles are computed here over the period's stays
(``turnaround.percentile``, nearest rank). The state at the end of a past day is the one the last
transition before it left; today's is the applications' live state.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, type_coerce

from app import clock
from app.domain import turnaround
from app.domain.dates import BEIJING, business_date_of
from app.domain.i18n import N_
from app.extensions import db
from app.models import Application, Office, User
from app.models.applications import Transition
from app.models.types import UTCDateTime
from app.services import reporting
from app.services.reporting import Column, Report, ReportRequest, ReportSpec

BY = ("office", "month")
TERMINAL = ("disbursed", "rejected", "withdrawn")

# Written out, so that each is a string the translators see: (waiting now, median wait so far,
# stays ended, median, 90th percentile) per step.
STEP_COLUMNS: dict[str, tuple[str, str, str, str, str]] = {
    "uploading": (N_("Uploading: waiting now"), N_("Uploading: median wait so far (h)"),
                  N_("Uploading: done"), N_("Uploading: median (h)"), N_("Uploading: 90th percentile (h)")),
    "awaiting_director": (N_("Director: waiting now"), N_("Director: median wait so far (h)"),
                          N_("Director: done"), N_("Director: median (h)"), N_("Director: 90th percentile (h)")),
    "awaiting_entry": (N_("Data entry: waiting now"), N_("Data entry: median wait so far (h)"),
                       N_("Data entry: done"), N_("Data entry: median (h)"), N_("Data entry: 90th percentile (h)")),
    "awaiting_l1": (N_("L1: waiting now"), N_("L1: median wait so far (h)"),
                    N_("L1: done"), N_("L1: median (h)"), N_("L1: 90th percentile (h)")),
    "awaiting_l2": (N_("L2: waiting now"), N_("L2: median wait so far (h)"),
                    N_("L2: done"), N_("L2: median (h)"), N_("L2: 90th percentile (h)")),
    "awaiting_special": (N_("Special: waiting now"), N_("Special: median wait so far (h)"),
                         N_("Special: done"), N_("Special: median (h)"), N_("Special: 90th percentile (h)")),
    "awaiting_disbursement": (N_("Disbursement: waiting now"), N_("Disbursement: median wait so far (h)"),
                              N_("Disbursement: done"), N_("Disbursement: median (h)"),
                              N_("Disbursement: 90th percentile (h)")),
    "returned": (N_("Returned: waiting now"), N_("Returned: median wait so far (h)"),
                 N_("Returned: done"), N_("Returned: median (h)"), N_("Returned: 90th percentile (h)")),
}
NOTES = [
    N_("A step is an application's stay in one stage, from the moment it arrived to the moment it "
       "left; times are in hours. Each stay counts, also a second one after a return."),
    N_("Done, median and 90th percentile: the stays that ended in the period (nearest-rank "
       "percentiles). Waiting now: the applications in the stage at the end of the as-of day "
       "(today: now), and the median of how long they have waited so far."),
    N_("Captured to disbursed: the applications disbursed in the period, from the capture on the "
       "phone. Loans imported from a book have no history here and are left out."),
    N_("By month: the month a stay ended; applications waiting now are counted in the totals only."),
]


def _columns(by: str | None) -> list[Column]:
    group = {"office": N_("Office"), "month": N_("Month")}.get(by or "", N_("Applications"))
    columns = [Column("group", group, "text")]
    for state in turnaround.STEP_STATES:
        waiting, wait_median, done, median, p90 = STEP_COLUMNS[state]
        columns += [Column(f"{state}_waiting", waiting, "int"), Column(f"{state}_wait_median", wait_median, "hours"),
                    Column(f"{state}_done", done, "int"), Column(f"{state}_median", median, "hours"),
                    Column(f"{state}_p90", p90, "hours")]
    columns += [Column("total_done", N_("Captured to disbursed: applications"), "int"),
                Column("total_median", N_("Captured to disbursed: median (h)"), "hours"),
                Column("total_p90", N_("Captured to disbursed: 90th percentile (h)"), "hours")]
    return columns


def _utc_start(day: date) -> datetime:
    """The first moment of a business day, in UTC."""
    return datetime.combine(day, time(0), BEIJING).astimezone(timezone.utc)


def _hours(seconds: float | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(seconds) / 3600).quantize(Decimal("0.1"))


class _Figures:
    """The times gathered for one group (or the totals)."""

    def __init__(self) -> None:
        self.done: dict[str, list[float]] = defaultdict(list)
        self.waiting: dict[str, list[float]] = defaultdict(list)
        self.total: list[float] = []

    def row(self, label: str, *, with_waiting: bool = True) -> dict[str, Any]:
        row: dict[str, Any] = {"group": label}
        for state in turnaround.STEP_STATES:
            waited = turnaround.figures(self.waiting[state]) if with_waiting else None
            done = turnaround.figures(self.done[state])
            row[f"{state}_waiting"] = (waited.count if waited else 0) if with_waiting else None
            row[f"{state}_wait_median"] = _hours(waited.median) if waited else None
            row[f"{state}_done"] = done.count if done else 0
            row[f"{state}_median"] = _hours(done.median) if done else None
            row[f"{state}_p90"] = _hours(done.p90) if done else None
        total = turnaround.figures(self.total)
        row["total_done"] = total.count if total else 0
        row["total_median"] = _hours(total.median) if total else None
        row["total_p90"] = _hours(total.p90) if total else None
        return row


def _ended_stays(conditions: list, start: datetime, end: datetime) -> Iterable[tuple[int, str, datetime, datetime]]:
    """(office, state, started, ended) of every stay that ended in [start, end) and whose start is
    known: the previous transition of the same application, or for the first, its capture."""
    previous = func.lag(Transition.at).over(partition_by=Transition.application_id, order_by=Transition.id)
    first_id = func.min(Transition.id).over(partition_by=Transition.application_id)
    moves = (
        select(Transition.id, Transition.from_state, Transition.at.label("ended"),
               Application.office_id,
               type_coerce(func.coalesce(previous, Application.captured_at, Application.created_at),
                           UTCDateTime).label("started"),
               first_id.label("first_id"))
        .join(Application, Application.id == Transition.application_id)
        # Only the applications that moved in the period: the window reads their whole timeline.
        .where(*conditions, Transition.application_id.in_(
            select(Transition.application_id).where(Transition.at >= start, Transition.at < end)))
        .subquery()
    )
    query = (
        select(moves.c.office_id, moves.c.from_state, moves.c.started, moves.c.ended)
        .where(moves.c.ended >= start, moves.c.ended < end,
               moves.c.from_state.in_(turnaround.STEP_STATES),
               # The first move of an application ends a known stay only out of uploading.
               (moves.c.id != moves.c.first_id) | (moves.c.from_state == "uploading"))
    )
    return db.session.execute(query.execution_options(yield_per=5000)).tuples()


def _disbursed(conditions: list, start: datetime, end: datetime) -> Iterable[tuple[int, datetime, datetime]]:
    """(office, captured, disbursed) of the disbursements in [start, end) of applications whose
    history starts with their capture (their first move is out of uploading)."""
    first = (select(Transition.application_id, func.min(Transition.id).label("first_id"))
             .group_by(Transition.application_id).subquery())
    opening = Transition.__table__.alias("opening")
    query = (
        select(Application.office_id, func.coalesce(Application.captured_at, Application.created_at), Transition.at)
        .join(Application, Application.id == Transition.application_id)
        .join(first, first.c.application_id == Application.id)
        .join(opening, and_(opening.c.id == first.c.first_id, opening.c.from_state == "uploading"))
        .where(Transition.event == "disburse", Transition.at >= start, Transition.at < end, *conditions)
    )
    for office_id, captured, disbursed in db.session.execute(query).tuples():
        yield office_id, _aware(captured), disbursed


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _waiting(conditions: list, as_of: date, today: date, now: datetime) -> Iterable[tuple[int, str, float]]:
    """(office, state, seconds waited so far) of every application waiting at the end of ``as_of``:
    today the live state, since its last transition; a past day the state the last transition
    before the day's end left it in."""
    cutoff = now if as_of >= today else _utc_start(as_of + timedelta(days=1))
    moves = select(Transition.application_id, func.max(Transition.id).label("last_id")).where(Transition.at < cutoff)
    if as_of >= today:
        waiting_ids = select(Application.id).where(Application.state.in_(turnaround.STEP_STATES))
        moves = moves.where(Transition.application_id.in_(waiting_ids))
    last = moves.group_by(Transition.application_id).subquery()
    moved = Transition.__table__.alias("moved")
    since = func.coalesce(moved.c.at, Application.captured_at, Application.created_at)
    if as_of >= today:
        # Today: the live state (indexed); only the applications waiting now are read.
        state = Application.state
        conditions = [*conditions, Application.state.in_(turnaround.STEP_STATES)]
    else:
        state = func.coalesce(moved.c.to_state, "uploading")
    query = (
        select(Application.office_id, state, since)
        .outerjoin(last, last.c.application_id == Application.id)
        .outerjoin(moved, moved.c.id == last.c.last_id)
        .where(Application.created_at < cutoff, *conditions)
    )
    for office_id, current, started in db.session.execute(query.execution_options(yield_per=5000)).tuples():
        if current in turnaround.STEP_STATES and started is not None:
            yield office_id, current, max((cutoff - _aware(started)).total_seconds(), 0.0)


def build(viewer: User | None, request: ReportRequest) -> Report:
    today = clock.business_today()
    date_from = request.date_from or request.as_of.replace(day=1)
    date_to = request.date_to or request.as_of
    start, end = _utc_start(date_from), _utc_start(date_to + timedelta(days=1))
    conditions = reporting.conditions(viewer, request, Application)
    groups: dict[Any, _Figures] = defaultdict(_Figures)
    whole = _Figures()

    def key(office_id: int, at: datetime | None) -> Any:
        if request.by == "office":
            return office_id
        if request.by == "month" and at is not None:
            return business_date_of(at).strftime("%Y-%m")
        return None

    for office_id, state, started, ended in _ended_stays(conditions, start, end):
        seconds = max((ended - _aware(started)).total_seconds(), 0.0)
        groups[key(office_id, ended)].done[state].append(seconds)
        whole.done[state].append(seconds)
    for office_id, captured, disbursed in _disbursed(conditions, start, end):
        seconds = max((disbursed - captured).total_seconds(), 0.0)
        groups[key(office_id, disbursed)].total.append(seconds)
        whole.total.append(seconds)
    for office_id, state, seconds in _waiting(conditions, request.as_of, today, clock.now()):
        whole.waiting[state].append(seconds)
        if request.by == "office":
            groups[office_id].waiting[state].append(seconds)

    rows: list[dict[str, Any]] = []
    if request.by == "office":
        names = dict(db.session.execute(select(Office.id, Office.name)
                                        .where(Office.id.in_([k for k in groups if k is not None])))
                     .tuples().all())
        for office_id in sorted(groups, key=lambda k: (names.get(k, ""), k)):
            rows.append(groups[office_id].row(names.get(office_id, str(office_id))))
    elif request.by == "month":
        for month in sorted(k for k in groups if k is not None):
            rows.append(groups[month].row(month, with_waiting=False))
    else:
        rows.append(whole.row(f"{date_from.isoformat()} – {date_to.isoformat()}"))
    totals = whole.row("")
    totals.pop("group")
    return Report("pipeline", N_("Pipeline and turnaround"), request, _columns(request.by), rows, totals,
                  notes=list(NOTES))


reporting.register(ReportSpec(
    "pipeline", N_("Pipeline and turnaround"), build, period=True, by=BY,
    description=N_("Applications by stage now, and the median and 90th-percentile time each step takes: "
                   "where applications wait.")))
