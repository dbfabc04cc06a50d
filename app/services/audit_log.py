"""Reading the audit log (``audit_log``) and the identity-view trace (``identity_views``).

The administrator and the internal auditor (``scope.AUDIT_LOG``) filter by person (login or
name), object type and id, action and a range of Beijing dates; rows come newest first, a page at
a time by keyset (``id < cursor``, never OFFSET, so page 5 000 costs what page 1 costs), and the
same filter streams as CSV. The indexes that keep a page fast over millions of rows are in
migration 0014 (``bench/audit_viewer.py``, docs/MEASUREMENTS.md).

A date range becomes a range of ids first: the row with the smallest ``at`` from an hour before
the first day, and the one with the largest ``at`` up to an hour after the last, are found on the
``at`` index; ids and times rise together except between transactions that commit out of order,
which the hour of margin covers, and the exact ``at`` condition still applies. So a date filter
scans the primary key over that range only, whatever other filter the planner prefers.
"""
from __future__ import annotations

import csv
import json
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, or_, select

from app.domain import dates
from app.domain.i18n import N_
from app.extensions import db
from app.models import User
from app.models.audit import AuditLog, IdentityView
from app.services import audit

PER_PAGE = 50
SOURCES = ("log", "views")
# The object types the filter offers (audit.record's object_type values; "views" lists borrowers).
OBJECT_TYPES: dict[str, str] = {
    "application": N_("application"),
    "loan": N_("loan"),
    "borrower": N_("borrower"),
    "user": N_("staff account"),
    "device": N_("phone"),
    "office": N_("office"),
    "product": N_("loan product"),
    "setting": N_("setting"),
    "photo": N_("photo"),
    "screenshot": N_("screenshot"),
    "task": N_("post-loan task"),
    "job": N_("daily job"),
    "sms_message": N_("SMS message"),
    "import": N_("import"),
    "backup": N_("backup"),
    "retention": N_("retention purge"),
    "audit_log": N_("audit log"),
}
_ACTION = re.compile(r"[a-z0-9_.]{1,50}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MARGIN = timedelta(hours=1)

Problem = tuple[str, dict[str, object]]


@dataclass(frozen=True)
class Filter:
    source: str = "log"              # "log": audit_log; "views": identity views
    person: str = ""                 # login or (part of) the name, as typed
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    date_from: date | None = None    # Beijing dates, inclusive
    date_to: date | None = None
    actor_ids: tuple[int, ...] | None = None  # resolved from ``person``; None: no person filter

    def query_args(self) -> dict[str, str]:
        """The filter as the URL's query string (for the "more" link and the CSV link)."""
        args = {"source": self.source, "person": self.person, "object_type": self.object_type,
                "object_id": "" if self.object_id is None else str(self.object_id), "action": self.action,
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in args.items() if v and not (k == "source" and v == "log")}

    def described(self) -> dict[str, object]:
        """The filter as the audit row of an export records it."""
        return {k: v for k, v in self.query_args().items()}


@dataclass
class Parsed:
    filter: Filter
    problems: dict[str, Problem] = field(default_factory=dict)


def parse_filter(args) -> Parsed:
    """Check every field of the filter strictly; problems by field (N_ messages), nothing guessed."""
    problems: dict[str, Problem] = {}
    get = lambda name: (args.get(name) or "").strip()  # noqa: E731
    source = get("source") or "log"
    if source not in SOURCES:
        problems["source"] = (N_("Unknown list."), {})
        source = "log"
    person = get("person")[:50]
    object_type = get("object_type")
    if object_type and object_type not in OBJECT_TYPES:
        problems["object_type"] = (N_("Unknown object type: %(value)s."), {"value": object_type[:30]})
        object_type = ""
    raw_id, object_id = get("object_id"), None
    if raw_id:
        if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 12:
            object_id = int(raw_id)
        else:
            problems["object_id"] = (N_("The object number must be a whole number."), {})
    action = get("action")
    if action and not _ACTION.fullmatch(action):
        problems["action"] = (N_("An action is written in small letters, digits, dots and underscores (e.g. loan_disbursed)."), {})
        action = ""
    bounds: list[date | None] = []
    for name in ("from", "to"):
        raw = get(name)
        on = None
        if raw:
            try:
                on = date.fromisoformat(raw) if _DATE.fullmatch(raw) else None
            except ValueError:
                on = None
            if on is None:
                problems[name] = (N_("Enter the date as YYYY-MM-DD."), {})
        bounds.append(on)
    date_from, date_to = bounds
    if date_from and date_to and date_from > date_to:
        problems["to"] = (N_("The end date cannot be before the start date."), {})
    actor_ids = None
    if person:
        actor_ids = _people(person)
        if not actor_ids:
            problems["person"] = (N_("No staff member has this login or name: %(value)s."), {"value": person})
    return Parsed(Filter(source, person, object_type, object_id, action, date_from, date_to, actor_ids), problems)


def _people(text: str) -> tuple[int, ...]:
    """The users whose login is ``text`` or whose name contains it (at most 20)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return tuple(db.session.scalars(
        select(User.id).where(or_(User.username == text, User.full_name.like(pattern, escape="\\")))
        .order_by(User.id).limit(20)))


def _utc_start(on: date) -> datetime:
    return datetime.combine(on, time.min, dates.BEIJING).astimezone(timezone.utc)


@dataclass(frozen=True)
class Row:
    id: int
    at: datetime
    actor: str          # the person's name ("" for the system)
    login: str
    action: str
    object_type: str
    object_id: int | None
    ip: str
    changes: list[tuple[str, object, object]]  # (field, before, after)
    detail: list[tuple[str, object]]           # everything else, key: value


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: int | None  # the id to continue below; None: no more


def _id_bounds(model, f: Filter) -> tuple[int | None, int | None, bool]:
    """(lowest id, highest id, empty) of the date range, found on the ``at`` index (see module doc)."""
    lo = hi = None
    if f.date_from:
        lo = db.session.scalar(select(model.id).where(model.at >= _utc_start(f.date_from) - _MARGIN)
                               .order_by(model.at, model.id).limit(1))
        if lo is None:
            return None, None, True
    if f.date_to:
        hi = db.session.scalar(select(model.id).where(model.at < _utc_start(f.date_to + timedelta(days=1)) + _MARGIN)
                               .order_by(model.at.desc(), model.id.desc()).limit(1))
        if hi is None:
            return None, None, True
    return lo, hi, False


def _log_query(f: Filter) -> Select | None:
    lo, hi, empty = _id_bounds(AuditLog, f)
    if empty:
        return None
    q = select(AuditLog, User.full_name, User.username).outerjoin(User, User.id == AuditLog.actor_id)
    if f.actor_ids is not None:
        q = q.where(AuditLog.actor_id.in_(f.actor_ids))
    if f.object_type:
        q = q.where(AuditLog.object_type == f.object_type)
    if f.object_id is not None:
        q = q.where(AuditLog.object_id == f.object_id)
    if f.action:
        q = q.where(AuditLog.action == f.action)
    if lo is not None:
        q = q.where(AuditLog.id >= lo, AuditLog.at >= _utc_start(f.date_from))
    if hi is not None:
        q = q.where(AuditLog.id <= hi, AuditLog.at < _utc_start(f.date_to + timedelta(days=1)))
    return q


def _views_query(f: Filter) -> Select | None:
    """Identity views as rows of the viewer: action ``identity.viewed``, object the borrower."""
    if f.action and f.action != "identity.viewed":
        return None
    if f.object_type and f.object_type != "borrower":
        return None
    lo, hi, empty = _id_bounds(IdentityView, f)
    if empty:
        return None
    q = select(IdentityView, User.full_name, User.username).join(User, User.id == IdentityView.viewer_id)
    if f.actor_ids is not None:
        q = q.where(IdentityView.viewer_id.in_(f.actor_ids))
    if f.object_id is not None:
        q = q.where(IdentityView.borrower_id == f.object_id)
    if lo is not None:
        q = q.where(IdentityView.id >= lo, IdentityView.at >= _utc_start(f.date_from))
    if hi is not None:
        q = q.where(IdentityView.id <= hi, IdentityView.at < _utc_start(f.date_to + timedelta(days=1)))
    return q


def _row(obj, name: str | None, login: str | None) -> Row:
    if isinstance(obj, IdentityView):
        detail: list[tuple[str, object]] = [("what", obj.what)]
        if obj.object_type:
            detail.append(("shown_on", f"{obj.object_type} {obj.object_id if obj.object_id is not None else ''}".strip()))
        return Row(obj.id, obj.at, name or "", login or "", "identity.viewed", "borrower", obj.borrower_id,
                   obj.ip, [], detail)
    raw = obj.detail if isinstance(obj.detail, dict) else {"detail": obj.detail}
    before, after = raw.get("before"), raw.get("after")
    changes: list[tuple[str, object, object]] = []
    rest = {k: v for k, v in raw.items() if k not in ("before", "after")}
    if isinstance(before, dict) or isinstance(after, dict):
        b = before if isinstance(before, dict) else {}
        a = after if isinstance(after, dict) else {}
        for key in dict.fromkeys([*b, *a]):
            changes.append((str(key), b.get(key, ""), a.get(key, "")))
    elif "before" in raw or "after" in raw:  # a single value changed (e.g. setting.changed)
        changes.append((str(raw.get("key", "value")), before if before is not None else "",
                        after if after is not None else ""))
        rest.pop("key", None)
    return Row(obj.id, obj.at, name or "", login or "", obj.action, obj.object_type, obj.object_id, obj.ip,
               changes, [(str(k), v) for k, v in rest.items()])


def page(f: Filter, *, before_id: int | None = None, per_page: int = PER_PAGE) -> Page:
    """One page, newest first, of rows with an id below ``before_id`` (the keyset cursor)."""
    model = IdentityView if f.source == "views" else AuditLog
    q = _views_query(f) if f.source == "views" else _log_query(f)
    if q is None:
        return Page([], None)
    if before_id is not None:
        q = q.where(model.id < before_id)
    result = db.session.execute(q.order_by(model.id.desc()).limit(per_page + 1)).all()
    rows = [_row(obj, name, login) for obj, name, login in result[:per_page]]
    return Page(rows, rows[-1].id if len(result) > per_page else None)


def iter_rows(f: Filter, *, batch: int = 1000) -> Iterator[Row]:
    """Every row of the filter, newest first, in keyset batches (memory stays one batch)."""
    cursor = None
    while True:
        p = page(f, before_id=cursor, per_page=batch)
        yield from p.rows
        if p.next_cursor is None:
            return
        cursor = p.next_cursor
        db.session.expunge_all()


# -- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = ("id", "time (Beijing)", "login", "name", "action", "object type", "object id", "IP", "changes", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (or a tab / CR) gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _render(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def csv_lines(f: Filter, header: tuple[str, ...] = CSV_COLUMNS) -> Iterator[str]:
    """The filter's rows as CSV text, a chunk at a time: UTF-8 BOM first (Excel), formula-safe cells."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow([safe_cell(h) for h in header])
    n = 0
    for row in iter_rows(f):
        local = row.at.astimezone(dates.BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        changes = "; ".join(f"{k}: {_render(b)} → {_render(a)}" for k, b, a in row.changes)
        detail = "; ".join(f"{k}: {_render(v)}" for k, v in row.detail)
        writer.writerow([safe_cell(x) for x in (row.id, local, row.login, row.actor, row.action, row.object_type,
                                                  "" if row.object_id is None else row.object_id, row.ip,
                                                  changes, detail)])
        n += 1
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def record_export(f: Filter, *, actor_id: int, ip: str = "") -> None:
    """The export itself is audited (who exported which filter), committed before the file streams."""
    audit.record("audit_log.exported", actor_id=actor_id, object_type="audit_log", ip=ip,
                 source=f.source, filter=f.described())
    db.session.commit()
