"""Moments inside today's business day, for tests that write "today's" records: a fixed offset back
from the clock ("30 minutes ago") falls on yesterday in the first half hour after midnight in Beijing."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from app.domain.dates import BEIJING


def moments_today(now: datetime, count: int) -> list[datetime]:
    """``count`` distinct moments, oldest first, between the start of ``now``'s business day and
    ``now`` (the newest one minute before it, or nearer when the day is younger than that)."""
    start = datetime.combine(now.astimezone(BEIJING).date(), time(0), BEIJING)
    span = min(now - start, timedelta(minutes=count + 1))
    return [now - span * (count - i) / (count + 1) for i in range(count)]
