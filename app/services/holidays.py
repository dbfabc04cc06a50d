"""Holidays and worked weekends (调休): the calendar due dates move by, for products that say so.

A product with ``holiday_shift`` on has each due date that falls on a holiday, or on a Saturday or
Sunday not listed as worked, moved to the next working day when the loan is disbursed
(``loans.schedule_for`` passes ``working_days()`` to the schedule engine). Loans already
disbursed keep their dates: a holiday added later changes no existing installment.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.i18n import N_
from app.domain.schedule import WorkingDays
from app.extensions import db
from app.models import Holiday
from app.services import audit
from app.services.errors import ServiceError

_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
MAX_LINES = 400


class HolidayError(ServiceError):
    """``fields`` maps "day", "name" or "lines" to an N_ message naming the field or the line."""

    def __init__(self, fields: dict[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__("invalid_holiday", N_("Some details need correcting."), fields=fields)
        self.errors = fields


def all_days() -> list[Holiday]:
    return list(db.session.scalars(select(Holiday).order_by(Holiday.day)))


def working_days() -> WorkingDays:
    """The whole configured calendar, for the schedule engine."""
    rows = db.session.execute(select(Holiday.day, Holiday.working)).all()
    return WorkingDays(frozenset(d for d, w in rows if not w), frozenset(d for d, w in rows if w))


def _parse_day(text: str) -> date | None:
    match = _DATE.fullmatch(text.strip().replace("/", "-").replace(".", "-"))
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _check(day: date, working: bool, line: int | None = None) -> tuple[str, dict[str, Any]] | None:
    params: dict[str, Any] = {"date": day.isoformat(), "line": line}
    if not 2000 <= day.year <= 2999:
        return (N_("Line %(line)s: %(date)s: the year must be from 2000 to 2999.") if line else
                N_("%(date)s: the year must be from 2000 to 2999."), params)
    if working and day.weekday() < 5:
        return (N_("Line %(line)s: %(date)s is a weekday: only a Saturday or Sunday can be listed as a worked weekend day.")
                if line else
                N_("%(date)s is a weekday: only a Saturday or Sunday can be listed as a worked weekend day."), params)
    return None


def add(values: Mapping[str, str], *, actor_id: int | None, ip: str = "") -> Holiday:
    """One date: a holiday, or (``working``) a weekend day worked instead. Audited."""
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    working = (values.get("working") or "") in ("1", "on")
    day = _parse_day(values.get("day") or "")
    if day is None:
        errors["day"] = (N_("Date: enter a date as YYYY-MM-DD, e.g. 2026-10-01."), {})
    else:
        problem = _check(day, working)
        if problem:
            errors["day"] = problem
        elif db.session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
            errors["day"] = (N_("%(date)s is already in the list."), {"date": day.isoformat()})
    name = " ".join((values.get("name") or "").split())
    if len(name) > 50:
        errors["name"] = (N_("Name: at most %(max)s characters."), {"max": 50})
    if errors:
        raise HolidayError(errors)
    row = Holiday(day=day, name=name, working=working)
    db.session.add(row)
    try:
        db.session.flush()
        audit.record("holiday.create", actor_id=actor_id, object_type="setting", object_id=row.id, ip=ip,
                     after={"day": day.isoformat(), "name": name, "working": working})
        db.session.commit()
    except IntegrityError:  # the same date added by someone else at the same moment
        db.session.rollback()
        raise HolidayError({"day": (N_("%(date)s is already in the list."), {"date": day.isoformat()})}) from None
    return row


def add_many(text: str, *, working: bool, actor_id: int | None, ip: str = "") -> tuple[int, int]:
    """Pasted lines "YYYY-MM-DD [name]"; all or nothing. Returns (added, already listed)."""
    problems: list[tuple[str, dict[str, Any]]] = []
    wanted: dict[date, str] = {}
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise HolidayError({"lines": (N_("Dates: paste one date per line, e.g. 2026-10-01 国庆节."), {})})
    if len(lines) > MAX_LINES:
        raise HolidayError({"lines": (N_("Dates: at most %(max)s lines at once."), {"max": MAX_LINES})})
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        first, _sep, rest = line.strip().replace("，", ",").replace(",", " ", 1).replace("\t", " ").partition(" ")
        day = _parse_day(first)
        if day is None:
            problems.append((N_("Line %(line)s: %(text)s is not a date (YYYY-MM-DD)."), {"line": n, "text": first}))
            continue
        problem = _check(day, working, n)
        if problem:
            problems.append(problem)
            continue
        name = " ".join(rest.split())
        if len(name) > 50:
            problems.append((N_("Line %(line)s: the name has more than %(max)s characters."), {"line": n, "max": 50}))
            continue
        wanted[day] = name
    if problems:
        raise HolidayError({"lines": problems[0], **{f"line{i}": p for i, p in enumerate(problems[1:], 2)}})
    existing = set(db.session.scalars(select(Holiday.day).where(Holiday.day.in_(list(wanted)))))
    new = [Holiday(day=d, name=nm, working=working) for d, nm in sorted(wanted.items()) if d not in existing]
    db.session.add_all(new)
    if new:
        audit.record("holiday.create_many", actor_id=actor_id, object_type="setting", ip=ip,
                     after={"days": [h.day.isoformat() for h in new], "working": working})
    try:
        db.session.commit()
    except IntegrityError:  # some of the dates added by someone else at the same moment: paste again
        db.session.rollback()
        raise HolidayError({"lines": (N_("Dates: someone else added some of these dates just now; paste them again."), {})}) from None
    return len(new), len(existing)


def remove(holiday_id: int, *, actor_id: int | None, ip: str = "") -> Holiday | None:
    row = db.session.get(Holiday, holiday_id)
    if row is None:
        return None
    audit.record("holiday.delete", actor_id=actor_id, object_type="setting", object_id=row.id, ip=ip,
                 before={"day": row.day.isoformat(), "name": row.name, "working": row.working})
    db.session.delete(row)
    db.session.commit()
    return row
