"""Offices: the hierarchy head office → branches → offices (办事处), created, edited, moved and
closed by the administrator, every change audited with before/after.

The rules of the tree are pure (app/domain/offices.py); the reach that follows it is
app/services/scope.py. A closed office keeps its history (its loans, applications, staff records)
but drops out of every picker (``open_offices()``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import offices as rules
from app.domain.i18n import N_
from app.domain.workflow import TERMINAL
from app.extensions import db
from app.models import Application, FollowUpTask, Loan, Office, User
from app.services import audit
from app.services.errors import NotFound, ServiceError


class OfficeError(ServiceError, ValueError):
    """An office change refused: per-field messages in ``fields``, nothing written."""


@dataclass(frozen=True)
class OfficeForm:
    """What the administrator typed, as typed (the service checks it)."""
    code: str = ""
    name: str = ""
    kind: str = rules.OFFICE
    parent_id: str = ""
    address: str = ""
    lat: str = ""
    lon: str = ""

    @classmethod
    def of(cls, office: Office) -> OfficeForm:
        return cls(code=office.code, name=office.name, kind=office.kind,
                   parent_id=str(office.parent_id or ""), address=office.address or "",
                   lat="" if office.lat is None else repr(office.lat),
                   lon="" if office.lon is None else repr(office.lon))


@dataclass
class TreeRow:
    office: Office
    depth: int
    staff: int = 0
    open_applications: int = 0
    active_loans: int = 0
    children: list[int] = field(default_factory=list)


def office(office_id: int) -> Office:
    found = db.session.get(Office, office_id)
    if found is None:
        raise NotFound("office", office_id)
    return found


def head_office() -> Office | None:
    return db.session.scalar(select(Office).where(Office.kind == rules.HEAD_OFFICE).order_by(Office.id))


def parents() -> dict[int, int | None]:
    """The whole tree as office id → parent id (the offices table is small)."""
    return dict(db.session.execute(select(Office.id, Office.parent_id)).tuples().all())


def open_offices() -> list[Office]:
    """Offices a person or a record may be put in: every office not closed, by code."""
    return list(db.session.scalars(select(Office).where(Office.closed_at.is_(None)).order_by(Office.code)))


def possible_parents(kind: str, moving: Office | None = None) -> list[Office]:
    """Open offices an office of this kind may be placed under (never itself or its own offices)."""
    allowed = rules.PARENT_KINDS.get(kind, ())
    excluded = rules.descendants(parents(), moving.id) if moving is not None else set()
    return [o for o in open_offices() if o.kind in allowed and o.id not in excluded]


def _counts(query) -> dict[int, int]:
    return dict(db.session.execute(query).tuples().all())


def tree() -> list[TreeRow]:
    """Every office depth-first under its parent (by code), with its enabled staff, open
    applications and active loans."""
    offices = list(db.session.scalars(select(Office).order_by(Office.code)))
    staff = _counts(select(User.office_id, func.count()).where(User.is_enabled.is_(True)).group_by(User.office_id))
    apps = _counts(select(Application.office_id, func.count())
                   .where(Application.state.not_in([s.value for s in TERMINAL])).group_by(Application.office_id))
    loans = _counts(select(Loan.office_id, func.count()).where(Loan.status == "active").group_by(Loan.office_id))
    by_parent: dict[int | None, list[Office]] = {}
    known = {o.id for o in offices}
    for o in offices:
        by_parent.setdefault(o.parent_id if o.parent_id in known else None, []).append(o)
    rows: list[TreeRow] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for o in by_parent.get(parent, ()):
            if o.id in seen:
                continue
            seen.add(o.id)
            rows.append(TreeRow(o, depth, staff.get(o.id, 0), apps.get(o.id, 0), loans.get(o.id, 0),
                                [c.id for c in by_parent.get(o.id, ())]))
            walk(o.id, depth + 1)

    walk(None, 0)
    return rows


# --- checking what was typed -------------------------------------------------------------------


def _check(form: OfficeForm, *, office_id: int | None) -> tuple[dict, dict]:
    """The values to store and the problems, field → (N_ message, params)."""
    problems: dict[str, tuple[str, dict]] = {}
    code, name, address = form.code.strip(), " ".join(form.name.split()), form.address.strip()
    if not code:
        problems["code"] = (N_("Office code: enter a code, e.g. CG."), {})
    elif len(code) > rules.MAX_CODE or not code.isascii() or not all(c.isalnum() or c in "-_" for c in code):
        problems["code"] = (N_("Office code: up to %(max)s letters, digits, - or _."), {"max": rules.MAX_CODE})
    elif db.session.scalar(select(Office.id).where(func.lower(Office.code) == code.lower(),
                                                   Office.id != (office_id or 0))) is not None:
        problems["code"] = (N_("Office code: %(code)s is already used by another office."), {"code": code})
    if not name:
        problems["name"] = (N_("Office name: enter a name."), {})
    elif len(name) > rules.MAX_NAME:
        problems["name"] = (N_("Office name: at most %(max)s characters."), {"max": rules.MAX_NAME})
    if len(address) > rules.MAX_ADDRESS:
        problems["address"] = (N_("Address: at most %(max)s characters."), {"max": rules.MAX_ADDRESS})
    lat, lat_problem = rules.coordinate(form.lat, -90.0, 90.0)
    lon, lon_problem = rules.coordinate(form.lon, -180.0, 180.0)
    if lat_problem:
        problems["lat"] = ((N_("Latitude: enter a number in decimal degrees, e.g. 30.6586.") if lat_problem == "number"
                            else N_("Latitude must be between -90 and 90.")), {})
    if lon_problem:
        problems["lon"] = ((N_("Longitude: enter a number in decimal degrees, e.g. 104.0648.") if lon_problem == "number"
                            else N_("Longitude must be between -180 and 180.")), {})
    if not problems.get("lat") and not problems.get("lon") and (lat is None) != (lon is None):
        problems["lat" if lat is None else "lon"] = (N_("GPS: enter both latitude and longitude, or neither."), {})
    return {"code": code, "name": name, "address": address, "lat": lat, "lon": lon}, problems


def _parent(form: OfficeForm, kind: str) -> tuple[Office | None, tuple[str, dict] | None]:
    raw = form.parent_id.strip()
    parent = db.session.get(Office, int(raw)) if raw.isascii() and raw.isdigit() else None
    if raw and parent is None:
        return None, (N_("Parent office: no such office."), {})
    if parent is not None and parent.closed_at is not None:
        return None, (N_("Parent office: %(name)s is closed."), {"name": parent.name})
    problem = rules.parent_problem(kind, parent.kind if parent else None)
    if problem:
        return None, (N_("Parent office: %(problem)s"), {"problem": problem[0]})
    return parent, None


def _refuse(problems: dict) -> None:
    if problems:
        # The messages travel in ``fields`` (each with its own parameters); the first one leads.
        raise OfficeError("invalid_office", next(iter(problems.values()))[0], fields=problems)


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # the same code saved by someone else at the same moment
        db.session.rollback()
        message = N_("Office code: already used by another office.")
        raise OfficeError("invalid_office", message, fields={"code": (message, {})}) from None


# --- changes -----------------------------------------------------------------------------------


def create(form: OfficeForm, *, actor_id: int | None, ip: str = "") -> Office:
    """A new branch or office under an open parent of the right kind; audited. Raises OfficeError."""
    kind = form.kind if form.kind in rules.KINDS else ""
    values, problems = _check(form, office_id=None)
    if not kind:
        problems["kind"] = (N_("Kind: choose head office, branch or office."), {})
    elif kind == rules.HEAD_OFFICE and db.session.scalar(
            select(Office.id).where(Office.kind == rules.HEAD_OFFICE)) is not None:
        problems["kind"] = (N_("Kind: there is already a head office."), {})
    parent = None
    if kind:
        parent, problem = _parent(form, kind)
        if problem:
            problems["parent_id"] = problem
    _refuse(problems)
    new = Office(kind=kind, is_hq=kind == rules.HEAD_OFFICE, parent=parent, **values)
    db.session.add(new)
    db.session.flush()
    audit.record("office.created", actor_id=actor_id, object_type="office", object_id=new.id, ip=ip,
                 after={**values, "kind": kind, "parent_id": parent.id if parent else None})
    _commit()
    return new


def update(target: Office, form: OfficeForm, *, actor_id: int, ip: str = "") -> dict:
    """Rename, recode, address and GPS; audited with what changed. Returns the changed fields."""
    if target.closed_at is not None:
        raise OfficeError("office_closed", N_("%(name)s is closed and can no longer be changed."), name=target.name)
    values, problems = _check(form, office_id=target.id)
    _refuse(problems)
    before = {k: getattr(target, k) for k in values if getattr(target, k) != values[k]}
    after = {k: values[k] for k in before}
    if after:
        for k, v in after.items():
            setattr(target, k, v)
        audit.record("office.updated", actor_id=actor_id, object_type="office", object_id=target.id, ip=ip,
                     before=before, after=after)
        _commit()
    return after


def move(target: Office, parent_raw: str, *, actor_id: int, ip: str = "") -> None:
    """Place the office under another one: the kind rules hold and never a cycle; audited."""
    if target.closed_at is not None:
        raise OfficeError("office_closed", N_("%(name)s is closed and can no longer be changed."), name=target.name)
    raw = parent_raw.strip()
    cycle = rules.move_problem(parents(), target.id, int(raw)) if raw.isascii() and raw.isdigit() else None
    if cycle:
        problem: tuple[str, dict] | None = (N_("Parent office: %(problem)s"), {"problem": cycle[0]})
        parent = None
    else:
        parent, problem = _parent(OfficeForm(parent_id=raw), target.kind)
    if problem:
        _refuse({"parent_id": problem})
    if parent is None or parent.id == target.parent_id:
        return
    before = target.parent_id
    target.parent = parent
    audit.record("office.moved", actor_id=actor_id, object_type="office", object_id=target.id, ip=ip,
                 before={"parent_id": before}, after={"parent_id": parent.id})
    _commit()


def open_work(target: Office) -> list[tuple[str, dict]]:
    """What still keeps this office open, one message each naming the office and what is open
    (empty: it may close)."""
    counts = [
        (db.session.scalar(select(func.count()).select_from(User)
                           .where(User.office_id == target.id, User.is_enabled.is_(True))),
         N_("%(name)s cannot be closed: it still has %(n)s enabled staff account(s).")),
        (db.session.scalar(select(func.count()).select_from(Application)
                           .where(Application.office_id == target.id,
                                  Application.state.not_in([s.value for s in TERMINAL]))),
         N_("%(name)s cannot be closed: it still has %(n)s open application(s).")),
        (db.session.scalar(select(func.count()).select_from(Loan)
                           .where(Loan.office_id == target.id, Loan.status == "active")),
         N_("%(name)s cannot be closed: it still has %(n)s active loan(s).")),
        (db.session.scalar(select(func.count()).select_from(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id)
                           .where(Loan.office_id == target.id, FollowUpTask.status == "open")),
         N_("%(name)s cannot be closed: it still has %(n)s open post-loan task(s).")),
        (db.session.scalar(select(func.count()).select_from(Office)
                           .where(Office.parent_id == target.id, Office.closed_at.is_(None))),
         N_("%(name)s cannot be closed: %(n)s open office(s) are still under it.")),
    ]
    return [(message, {"name": target.name, "n": n}) for n, message in counts if n]


def close(target: Office, *, actor_id: int, now: datetime, ip: str = "") -> None:
    """Close an office with no open work left (each refusal names what is still open); audited."""
    if target.closed_at is not None:
        return
    if target.kind == rules.HEAD_OFFICE:
        raise OfficeError("office_open_work", N_("The head office cannot be closed."))
    still = open_work(target)
    if still:
        raise OfficeError("office_open_work", still[0][0], fields={f"open_{i}": p for i, p in enumerate(still)},
                          **still[0][1])
    target.closed_at = now
    audit.record("office.closed", actor_id=actor_id, object_type="office", object_id=target.id, ip=ip,
                 before={"closed_at": None}, after={"closed_at": now.isoformat()})
    _commit()
