"""Staff accounts, as the administrator runs them: create, edit, enable/disable, force logout, reset
a password, transfer to another office, and move an officer's portfolio to another officer.

Every refusal is a ``StaffError`` naming the field (nothing written); every change is one commit
with one audit row carrying ``before``/``after`` of the fields that changed — never a password or
its hash. The role rules (segregation of duties, where each role works) are the pure table of
``app/domain/staff_roles.py``; the password rules ``app/domain/passwords.py``.

A temporary password (a new account, a reset) is random, shown once to the administrator, stored
only as its hash, and marks the account ``must_change_password``: until the user chooses his own,
every page leads to the password change (app/web/security.py) and the phone's API refuses
(``devices.authenticate``).

Portfolio: the officer's borrowers, open applications (not disbursed, rejected or withdrawn), active
loans and open post-loan tasks. Closed history keeps the office and officer it was booked under.
Nothing open is ever left pointing at an office with an officer who has left it: a transfer either
hands the portfolio to an officer of the old office or takes it along (office changed with him).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.domain import passwords
from app.domain.i18n import N_
from app.domain.names import check_name
from app.domain.phone import PhoneError, normalise_mobile
from app.domain.staff_roles import ROLES, role_problems
from app.domain.workflow import TERMINAL
from app.extensions import db
from app.models import Application, Borrower, FollowUpTask, Loan, Office, User, UserRole
from app.models.types import utcnow
from app.services import audit
from app.services.auth import end_sessions, hash_password
from app.services.errors import ServiceError

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,49}$")
CLOSED_STATES = tuple(sorted(s.value for s in TERMINAL))  # disbursed, rejected, withdrawn


class StaffError(ServiceError):
    """A refused change to a staff account (``fields``: which inputs and why)."""


def _refuse(fields: dict) -> None:
    if fields:
        raise StaffError("invalid_staff", N_("Nothing was saved: please correct the marked fields."), fields=fields)


# --- offices as this screen sees them (Office.closed_at comes with the offices screens) -----------


def is_head_office(office: Office) -> bool:
    return bool(office.is_hq) or getattr(office, "kind", "") == "head_office"


def is_open(office: Office) -> bool:
    return getattr(office, "closed_at", None) is None


def open_offices() -> list[Office]:
    """The offices an account may be placed in: open ones, the head office first."""
    rows = db.session.scalars(select(Office).order_by(Office.is_hq.desc(), Office.name)).all()
    return [o for o in rows if is_open(o)]


def _office(office_id: object, fields: dict, field: str = "office_id") -> Office | None:
    office = db.session.get(Office, office_id) if isinstance(office_id, int) else None
    if office is None:
        fields[field] = (N_("Choose an office."), {})
    elif not is_open(office):
        fields[field] = (N_("The office %(office)s is closed."), {"office": office.name})
        return None
    return office


# --- reading ----------------------------------------------------------------------------------


def staff_list() -> list[User]:
    """Every staff account, office by office, for the administrator."""
    return list(db.session.scalars(
        select(User).options(selectinload(User.office)).order_by(User.office_id, User.username)))


def officers_of(office_id: int, *, besides: int | None = None) -> list[User]:
    """The enabled loan officers of an office (those who may take over a portfolio there)."""
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(User.office_id == office_id, UserRole.role == "officer", User.is_enabled.is_(True))
             .order_by(User.full_name))
    return [u for u in db.session.scalars(query) if u.id != besides]


def all_officers(*, besides: int | None = None) -> list[User]:
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == "officer", User.is_enabled.is_(True))
             .options(selectinload(User.office)).order_by(User.office_id, User.full_name))
    return [u for u in db.session.scalars(query) if u.id != besides]


@dataclass(frozen=True)
class Portfolio:
    borrowers: int
    applications: int
    loans: int
    tasks: int

    @property
    def empty(self) -> bool:
        return not (self.borrowers or self.applications or self.loans or self.tasks)

    def as_dict(self) -> dict[str, int]:
        return {"borrowers": self.borrowers, "applications": self.applications, "loans": self.loans,
                "tasks": self.tasks}


def _open_applications(officer_id: int):
    return (Application.officer_id == officer_id) & Application.state.not_in(CLOSED_STATES)


def _active_loans(officer_id: int):
    return (Loan.officer_id == officer_id) & (Loan.status == "active")


def _open_tasks(officer_id: int):
    return (FollowUpTask.officer_id == officer_id) & (FollowUpTask.status == "open")


def portfolio(user: User) -> Portfolio:
    """What an officer has open: the counts the confirm pages show."""
    def count(model, clause) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(clause)) or 0

    return Portfolio(
        borrowers=count(Borrower, Borrower.officer_id == user.id),
        applications=count(Application, _open_applications(user.id)),
        loans=count(Loan, _active_loans(user.id)),
        tasks=count(FollowUpTask, _open_tasks(user.id)),
    )


def open_work(user: User) -> dict[str, int]:
    """What an officer leaves undone if he stops working: open applications, active loans, open tasks
    (his borrowers alone need nobody). Empty when there is nothing."""
    work = portfolio(user).as_dict()
    work.pop("borrowers")
    return work if any(work.values()) else {}


def disabled_with_open_work() -> set[int]:
    """Disabled accounts that still hold open applications, active loans or open tasks: someone must
    take them over (the staff list says so beside each)."""
    disabled = select(User.id).where(User.is_enabled.is_(False))
    held = set()
    for model, clause in ((Application, Application.state.not_in(CLOSED_STATES)), (Loan, Loan.status == "active"),
                          (FollowUpTask, FollowUpTask.status == "open")):
        held |= set(db.session.scalars(select(model.officer_id).where(clause, model.officer_id.in_(disabled))
                                       .distinct()))
    return held


# --- create and edit --------------------------------------------------------------------------


def _check_person(full_name: str, mobile: str, fields: dict) -> tuple[str, str]:
    name, problem = check_name(full_name)
    if problem:
        fields["full_name"] = problem
    phone = ""
    if mobile.strip():
        try:
            phone = normalise_mobile(mobile)
        except PhoneError as e:
            fields["mobile"] = (e.message, e.params)
    return name, phone


def _check_roles(roles: set[str], office: Office | None, fields: dict) -> None:
    problems = role_problems(roles, None if office is None else is_head_office(office))
    if office is None:
        problems = [p for p in problems if p[0] != "Choose an office."]
    if problems:
        fields["roles"] = problems[0]


def _enabled_admins(besides: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.is_enabled.is_(True), User.id != besides)) or 0


def _refuse_last_admin(user: User) -> None:
    if "admin" in user.roles and user.is_enabled and _enabled_admins(besides=user.id) == 0:
        message = N_("%(name)s is the last enabled administrator: make another administrator first.")
        raise StaffError("last_admin", message, fields={"roles": (message, {"name": user.full_name})},
                         name=user.full_name)


def create_user(*, full_name: str, username: str, mobile: str, office_id: object, roles: set[str],
                actor_id: int, method: str, ip: str = "") -> tuple[User, str]:
    """A new account and its one-time temporary password (shown once; only its hash is kept)."""
    fields: dict = {}
    name, phone = _check_person(full_name, mobile, fields)
    login = username.strip()
    if not USERNAME.match(login):
        fields["username"] = (N_("A login has 3 to 50 letters, digits, dots, dashes or underscores, "
                                 "starting with a letter or digit."), {})
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == login.lower())) is not None:
        fields["username"] = (N_("The login %(login)s is already taken."), {"login": login})
    office = _office(office_id, fields)
    _check_roles(roles, office, fields)
    _refuse(fields)
    assert office is not None
    temporary = passwords.temporary_password()
    user = User(username=login, full_name=name, phone=phone, office_id=office.id,
                password_hash=hash_password(temporary, method), must_change_password=True)
    user.role_rows = [UserRole(role=r) for r in ROLES if r in roles]
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor_id=actor_id, object_type="user", object_id=user.id, ip=ip,
                 after={"username": login, "full_name": name, "phone": phone, "office_id": office.id,
                        "roles": sorted(roles), "must_change_password": True})
    db.session.commit()
    return user, temporary


def update_user(user: User, *, full_name: str, mobile: str, roles: set[str], actor_id: int, ip: str = "") -> bool:
    """Name, mobile and roles (the office changes by ``transfer``). False: nothing changed."""
    fields: dict = {}
    name, phone = _check_person(full_name, mobile, fields)
    _check_roles(roles, user.office, fields)
    if "roles" not in fields and "officer" in user.roles and "officer" not in roles and not portfolio(user).empty:
        # His borrowers, loans and tasks would point at someone who is no longer an officer.
        fields["roles"] = (N_("%(name)s still has open work: hand it over to another officer before taking "
                              "away the officer role."), {"name": user.full_name})
    _refuse(fields)
    if "admin" not in roles:
        _refuse_last_admin(user)
    before, after = {}, {}
    if name != user.full_name:
        before["full_name"], after["full_name"] = user.full_name, name
        user.full_name = name
    if phone != user.phone:
        before["phone"], after["phone"] = user.phone, phone
        user.phone = phone
    if set(roles) != set(user.roles):
        before["roles"], after["roles"] = sorted(user.roles), sorted(roles)
        keep = [row for row in user.role_rows if row.role in roles]
        user.role_rows = keep + [UserRole(role=r) for r in ROLES if r in roles and r not in user.roles]
        # What he may do changed: his open sessions end (the next login carries the new roles).
        user.session_epoch += 1
        end_sessions(user.id, now=utcnow(), why="roles_changed")
    if not after:
        return False
    audit.record("user.updated", actor_id=actor_id, object_type="user", object_id=user.id, ip=ip,
                 before=before, after=after)
    db.session.commit()
    return True


def set_enabled(user: User, enabled: bool, *, actor_id: int, ip: str = "", now: datetime | None = None) -> bool:
    """Enable or disable (disabling ends every session). False: it already was so."""
    if user.is_enabled == enabled:
        return False
    if not enabled:
        if user.id == actor_id:
            raise StaffError("own_account", N_("You cannot disable your own account."))
        _refuse_last_admin(user)
    user.is_enabled = enabled
    if enabled:
        user.failed_logins = 0
        user.locked_until = None
    else:
        user.session_epoch += 1
        end_sessions(user.id, now=now or utcnow(), why="disabled")
    audit.record("user.enabled" if enabled else "user.disabled", actor_id=actor_id, object_type="user",
                 object_id=user.id, ip=ip, before={"is_enabled": not enabled}, after={"is_enabled": enabled})
    db.session.commit()
    return True


def force_logout(user: User, *, actor_id: int, ip: str = "", now: datetime | None = None) -> None:
    """End every session of the account, wherever it is logged in (the cookie's epoch too)."""
    user.session_epoch += 1
    end_sessions(user.id, now=now or utcnow(), why="forced_logout")
    audit.record("user.logged_out", actor_id=actor_id, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()


def reset_password(user: User, *, actor_id: int, method: str, ip: str = "", now: datetime | None = None) -> str:
    """A new one-time temporary password (returned to be shown once); every session ends, the lock
    is lifted, and the user must choose his own at the next login."""
    temporary = passwords.temporary_password()
    before = {"must_change_password": user.must_change_password}
    user.password_hash = hash_password(temporary, method)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_epoch += 1
    end_sessions(user.id, now=now or utcnow(), why="password_reset")
    audit.record("user.password_reset", actor_id=actor_id, object_type="user", object_id=user.id, ip=ip,
                 before=before, after={"must_change_password": True})
    db.session.commit()
    return temporary


# --- moving work --------------------------------------------------------------------------------


def _move(from_id: int, to: User) -> Portfolio:
    """Every open thing of ``from_id`` to the officer ``to``, at his office (no commit)."""
    moved = portfolio(db.session.get(User, from_id))
    db.session.execute(update(Borrower).where(Borrower.officer_id == from_id)
                       .values(officer_id=to.id, office_id=to.office_id).execution_options(synchronize_session=False))
    db.session.execute(update(Application).where(_open_applications(from_id))
                       .values(officer_id=to.id, office_id=to.office_id, version=Application.version + 1,
                               updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.execute(update(Loan).where(_active_loans(from_id)).values(officer_id=to.id, office_id=to.office_id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(FollowUpTask).where(_open_tasks(from_id)).values(officer_id=to.id)
                       .execution_options(synchronize_session=False))
    return moved


def _take_along(user: User, office: Office) -> Portfolio:
    """The officer keeps his portfolio: it moves to his new office with him (no commit). An open
    task he was given on someone else's loan (the loan stays) goes back to that loan's officer."""
    moved = portfolio(user)
    db.session.execute(update(Borrower).where(Borrower.officer_id == user.id).values(office_id=office.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Application).where(_open_applications(user.id))
                       .values(office_id=office.id, version=Application.version + 1, updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Loan).where(_active_loans(user.id)).values(office_id=office.id)
                       .execution_options(synchronize_session=False))
    others = db.session.scalars(select(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id)
                                .where(_open_tasks(user.id), Loan.officer_id != user.id)).all()
    for task in others:
        task.officer_id = task.loan.officer_id
    return moved


def _successor(office_id: int, to_officer_id: object, leaving: User, field: str) -> User:
    candidate = db.session.get(User, to_officer_id) if isinstance(to_officer_id, int) else None
    if (candidate is None or candidate.id == leaving.id or not candidate.is_enabled
            or "officer" not in candidate.roles or candidate.office_id != office_id):
        raise StaffError("bad_successor", N_("Choose an enabled loan officer of the office to take over."),
                         fields={field: (N_("Choose an enabled loan officer of the office to take over."), {})})
    return candidate


def check_transfer(user: User, office_id: object) -> Office:
    """The office the account may move to, or StaffError: closed, the same, or not fit for its roles."""
    fields: dict = {}
    office = _office(office_id, fields)
    if office is not None and office.id == user.office_id:
        fields["office_id"] = (N_("%(name)s already works at %(office)s."),
                               {"name": user.full_name, "office": office.name})
    if office is not None and "office_id" not in fields:
        problems = [p for p in role_problems(set(user.roles), is_head_office(office))]
        if problems:
            fields["office_id"] = problems[0]
    _refuse(fields)
    assert office is not None
    return office


def transfer(user: User, office_id: object, *, keep: bool, to_officer_id: object, actor_id: int,
             ip: str = "") -> Portfolio:
    """Move an account to another office. His open portfolio either goes with him (``keep``) or to
    ``to_officer_id``, an enabled officer of the office he leaves — in the same commit."""
    office = check_transfer(user, office_id)
    old_office_id = user.office_id
    work = portfolio(user)
    detail: dict = {"portfolio": work.as_dict()}
    if work.empty:
        detail["portfolio_mode"] = "none"
    elif keep:
        _take_along(user, office)
        detail["portfolio_mode"] = "kept"
    else:
        successor = _successor(old_office_id, to_officer_id, user, "to_officer_id")
        _move(user.id, successor)
        detail.update(portfolio_mode="reassigned", to_officer_id=successor.id)
    user.office_id = office.id
    audit.record("user.transferred", actor_id=actor_id, object_type="user", object_id=user.id, ip=ip,
                 before={"office_id": old_office_id}, after={"office_id": office.id}, **detail)
    db.session.commit()
    db.session.refresh(user)
    return work


def move_portfolio(from_user: User, to_officer_id: object, *, actor_id: int, ip: str = "") -> Portfolio:
    """Hand an officer's whole open portfolio to another enabled officer (at that officer's office)."""
    candidate = db.session.get(User, to_officer_id) if isinstance(to_officer_id, int) else None
    if candidate is None or candidate.id == from_user.id or not candidate.is_enabled or "officer" not in candidate.roles:
        raise StaffError("bad_successor", N_("Choose another enabled loan officer."),
                         fields={"to_officer_id": (N_("Choose another enabled loan officer."), {})})
    if not is_open(candidate.office):
        raise StaffError("bad_successor", N_("The office %(office)s is closed."), office=candidate.office.name)
    moved = _move(from_user.id, candidate)
    if moved.empty:
        db.session.rollback()
        raise StaffError("empty_portfolio", N_("%(name)s has nothing open to hand over."), name=from_user.full_name)
    audit.record("user.portfolio_moved", actor_id=actor_id, object_type="user", object_id=from_user.id, ip=ip,
                 before={"officer_id": from_user.id}, after={"officer_id": candidate.id},
                 portfolio=moved.as_dict())
    db.session.commit()
    return moved
