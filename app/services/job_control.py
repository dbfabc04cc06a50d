"""The daily job's screen: its last runs, and "run now" for the administrator.

``jobs.run_daily`` is idempotent, and two runs of a day that has no row yet are told apart by the
unique (job, day) row: the second's commit fails and it stands back. That guard does not stop two
runs of a day that already ran (a second "run now" click, another administrator, a slow first run):
both would do all the work. So "run now" first takes a lease, the ``job_locks`` row, with a
conditional UPDATE committed on its own connection (the pattern of the SMS outbox's claim,
app/services/sms.py): only the process whose UPDATE changed the row runs; it releases the row when
done. A process that died while holding it is overtaken once the lease has run out.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, or_, select, update

from app.domain.i18n import N_
from app.extensions import db
from app.models import JobLock, JobRun
from app.services import audit, jobs
from app.services.errors import ServiceError

LEASE = timedelta(minutes=30)  # far above a run (docs/MEASUREMENTS.md: 44-65 s for a million loans)


class JobBusy(ServiceError, RuntimeError):
    """The job is running (another click, another administrator, cron with a lease)."""

    message = N_("The daily job is already running (started by %(holder)s). Wait until it has finished.")

    def __init__(self, holder: str) -> None:
        super().__init__("job_busy", JobBusy.message, holder=holder or "?")


@dataclass(frozen=True)
class Lease:
    held_by: str
    held_until: datetime


def holder_name(actor: str) -> str:
    """Who holds the lease, in words for the screen: the user, the host and the process."""
    return f"{actor}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:60]


def claim(job: str, holder: str, *, now: datetime) -> bool:
    """Take the job's lease if nobody holds it (or the holder's lease ran out); commits at once."""
    t = JobLock.__table__
    with db.engine.connect() as conn:
        conn.execute(insert(t).prefix_with("OR IGNORE", dialect="sqlite").prefix_with("IGNORE", dialect="mysql"),
                     {"job": job, "held_by": "", "held_until": None})
        # Committed apart: on MariaDB an ignored duplicate leaves a shared lock on the row, and two
        # claimers each holding one while asking for the UPDATE's exclusive lock deadlock (1213).
        conn.commit()
        claimed = conn.execute(
            update(t).where(t.c.job == job, or_(t.c.held_until.is_(None), t.c.held_until < now))
            .values(held_by=holder, held_until=now + LEASE)
        ).rowcount
        conn.commit()
    return claimed == 1


def release(job: str, holder: str) -> None:
    t = JobLock.__table__
    with db.engine.connect() as conn:
        conn.execute(update(t).where(t.c.job == job, t.c.held_by == holder).values(held_until=None))
        conn.commit()


def current_lease(job: str, *, now: datetime) -> Lease | None:
    # On a connection of its own, as the claim: the session may hold a snapshot older than the
    # claim another host just committed (MariaDB's repeatable read), and would name no holder.
    t = JobLock.__table__
    with db.engine.connect() as conn:
        row = conn.execute(select(t.c.held_by, t.c.held_until).where(t.c.job == job)).first()
    if row is None or row.held_until is None or row.held_until < now:
        return None
    return Lease(row.held_by, row.held_until)


def run_leased(day: date, *, holder: str, now: datetime, if_not_done: bool = False, **settings) -> dict:
    """``jobs.run_daily`` under the lease (the screen's run now, ``flask jobs daily``); raises
    JobBusy, having done nothing, when another run holds it.

    ``if_not_done`` (cron on every app host, the embedded default's first request): a day that
    already has its run is not run again; checked under the lease, so of several hosts started
    together one runs the day and the others find it done (or busy)."""
    if not claim(jobs.DAILY, holder, now=now):
        lease = current_lease(jobs.DAILY, now=now)
        raise JobBusy(lease.held_by if lease else "")
    try:
        if if_not_done:
            db.session.commit()  # end any earlier read: see the run another host just committed
            if jobs.has_run(day):
                return {"skipped": True, "already_done": True}
        return jobs.run_daily(day, **settings)
    finally:
        release(jobs.DAILY, holder)


def run_now(day: date, *, actor_id: int, actor: str, ip: str, now: datetime, **settings) -> dict:
    """Run the daily job for ``day`` at the administrator's request, audited with its result.
    Raises JobBusy when a run holds the lease."""
    db.session.commit()  # end this request's read, so the lease sees the latest state
    # The audit row is written in the job's own transaction: the run and its record commit together.
    audit.record("job.run_now", actor_id=actor_id, object_type="job", ip=ip, job=jobs.DAILY, day=day.isoformat())
    try:
        result = run_leased(day, holder=holder_name(actor), now=now, **settings)
    except JobBusy:
        db.session.rollback()  # nothing ran: no audit row either
        raise
    if result.get("skipped"):  # another process committed the day's first run at the same moment
        audit.record("job.run_now", actor_id=actor_id, object_type="job", ip=ip, job=jobs.DAILY,
                     day=day.isoformat(), result="skipped")
        db.session.commit()
    return result


def recent_runs(limit: int = 30) -> list[JobRun]:
    """The daily job's last runs, newest business day first."""
    return list(db.session.scalars(
        select(JobRun).where(JobRun.job == jobs.DAILY).order_by(JobRun.for_date.desc(), JobRun.id.desc()).limit(limit)
    ))
