"""Business dates and device times: one window for every date a person types or a phone sends.

A business date (disbursement, repayment, the date written on an IOU, …) is the institution's
local date, Asia/Shanghai. Keyed on the web, sent by a phone or read from an import, it must be:

- a real date written ``YYYY-MM-DD``;
- not in the future (today, China time, is the latest);
- not before the event it follows (the approval of the application, the disbursement of the loan);
- not more than ``max_back_days`` before today (the ``BACKDATE_MAX_DAYS`` setting, 30 by
  default): anything older is a typing slip (1900-01-01) or a correction that needs more than a
  clerk's keystroke.

``check_business_date`` answers the problem as an ``N_`` message with its parameters, or None;
``parse_business_date`` parses first. Times from a phone's clock (``check_device_time``) get the
same window around the server's clock, with a few minutes' slack for clocks that drift.
Pure: no Flask, no database; the caller passes today.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from app.domain.i18n import N_

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_BACKDATE_MAX_DAYS = 30
# Phones' clocks drift; a time a few minutes "in the future" is not an error.
CLOCK_SLACK = timedelta(minutes=10)

Problem = tuple[str, dict[str, object]]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def business_today(now: datetime) -> date:
    """The institution's date at ``now`` (an aware datetime): China Standard Time."""
    return now.astimezone(BEIJING).date()


def business_date_of(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def check_business_date(
    on: date,
    *,
    today: date,
    max_back_days: int = DEFAULT_BACKDATE_MAX_DAYS,
    not_before: date | None = None,
    not_before_what: str = "",
    allow_future_days: int = 0,
) -> Problem | None:
    """None when ``on`` lies in the window; otherwise why not.

    ``not_before`` is the date of the event this one follows, named by ``not_before_what`` (an
    ``N_`` label such as "the approval"). ``allow_future_days`` > 0 is for dates that look ahead
    (a promise to pay), which are then bounded by that many days instead of by today."""
    if allow_future_days > 0:
        if on > today + timedelta(days=allow_future_days):
            return N_("The date can be at most %(days)s days ahead (until %(date)s)."), {
                "days": allow_future_days, "date": (today + timedelta(days=allow_future_days)).isoformat()}
    elif on > today:
        return N_("The date cannot be in the future."), {}
    if not_before is not None and on < not_before:
        return N_("The date cannot be before %(what)s (%(date)s)."), {"what": not_before_what, "date": not_before.isoformat()}
    earliest = today - timedelta(days=max_back_days)
    if on < earliest:
        return N_("The date cannot be more than %(days)s days back (the earliest is %(date)s)."), {
            "days": max_back_days, "date": earliest.isoformat()}
    return None


def parse_business_date(text: str, **window) -> tuple[date | None, Problem | None]:
    """(the date, None) or (None or the date, the problem): parse ``YYYY-MM-DD``, then check the window."""
    # Only YYYY-MM-DD: fromisoformat alone also takes 20261130 and 2026-W48-1.
    text = text.strip() if isinstance(text, str) else ""
    try:
        on = date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
    except ValueError:
        on = None
    if on is None:
        return None, (N_("Enter the date as YYYY-MM-DD."), {})
    return on, check_business_date(on, **window)


def parse_device_time(text: str) -> datetime | None:
    """An ISO 8601 time with a time zone (what phones send), in UTC; None when it is not one."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else None


def check_device_time(at: datetime, *, now: datetime, max_back_days: int = DEFAULT_BACKDATE_MAX_DAYS) -> Problem | None:
    """A time from a phone's clock: not ahead of the server by more than the slack, not older than the window."""
    if at > now + CLOCK_SLACK:
        return N_("The time is in the future; check the phone's clock."), {}
    if at < now - timedelta(days=max_back_days):
        return N_("The time is more than %(days)s days ago; check the phone's clock."), {"days": max_back_days}
    return None
