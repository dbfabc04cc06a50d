"""The one clock: the moment now (aware, UTC) and the institution's business date.

Everything that needs "now" or "today" asks here, never the datetime module's own now or today:
a server runs on UTC, while the business date is China's (Asia/Shanghai), and from 00:00 to
08:00 Beijing time the two calendars differ. The pure conversions live in ``app.domain.dates``
(which is given a moment and never reads the clock); this module is the only reader of the
system clock, importable by services, web and api alike (no Flask, no database).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from app.domain import dates

BEIJING = dates.BEIJING


def now() -> datetime:
    """This moment, timezone-aware, in UTC (how times are stored)."""
    return datetime.now(timezone.utc)


def business_today(at: datetime | None = None) -> date:
    """The institution's date at ``at`` (default: now): China Standard Time, not the host's."""
    return dates.business_today(at or now())
