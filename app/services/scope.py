"""The one place that decides what a user may see: which borrowers, applications and loans
(his reach) and which kinds of data about them (his role's grants).

Every query for those goes through ``scoped()`` or ``get_scoped()`` (``application()``,
``borrower()``, ``loan()`` for one record), post-loan tasks through ``scoped_tasks()``, a phone's
records through ``own_clause()`` / ``owns()``; every view asks ``may()`` (or ``require()``) before
it shows a kind of data, and passes ``grants(user)`` to its template as ``may`` and
``abilities(user)`` as ``can`` (what the user may do, from ``ACTIONS``), so a template only ever
tests a flag, never a role. No other module writes an ``office_id`` or ``officer_id`` condition of
reach. docs/ARCHITECTURE.md ("Who sees what") has the same table in words.

Reach: an officer reaches his own customers, a director his office's and those of every office
under it (a branch director every office of his branch, however deep: ``director_offices()``),
headquarters roles every office. Grants: least privilege — each role gets what its work needs and nothing more. The
administrator runs users, products and devices: he has no workflow duty that needs a borrower's
photos, full ID number or application data; he may open a borrower's page (masked) to read who
viewed that borrower's data, as the internal auditor may.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.services.errors import NotFound
from app.extensions import db
from app.domain import offices as office_rules
from app.models import (HQ_ROLES, ROLES, Application, Borrower, FollowUpTask, Loan, LoanSnapshot, Office,
                        PortfolioSnapshot, User, UserRole)
from app.models.credit import LiabilityGroup
from app.models.reports import MonthlyFigures

Scoped = TypeVar("Scoped", Application, Borrower, Loan, PortfolioSnapshot, LoanSnapshot, MonthlyFigures,
                 LiabilityGroup)
Owned = TypeVar("Owned", Application, Borrower, FollowUpTask, Loan, LiabilityGroup)
ALL_ROLES = frozenset(ROLES)

# The kinds of data a role may be granted.
BORROWERS = "borrowers"        # borrower list and page: name, masked ID number, phone, address
APPLICATIONS = "applications"  # application page, entered data, routing, timeline
PHOTOS = "photos"              # ID-card and other photos, screenshots, the photo ZIP
FULL_ID = "full_id"            # the full ID number where the work needs it (see FULL_ID_WHERE)
LOANS = "loans"                # loan accounts, schedules, repayments, the printed note
TASKS = "tasks"                # post-loan tasks, visit reports and photos, officers' GPS trails
ADMIN = "admin"                # users, devices, products, settings
VIEW_LOG = "view_log"          # who viewed whose identity data
AUDIT_LOG = "audit_log"        # the audit log viewer (/admin/audit): every audited act, identity views
LEDGER = "ledger"              # the books: journal, ledgers, trial balance, statements, vouchers

KINDS = (BORROWERS, APPLICATIONS, PHOTOS, FULL_ID, LOANS, TASKS, ADMIN, VIEW_LOG, AUDIT_LOG, LEDGER)

_WORKFLOW = frozenset({BORROWERS, APPLICATIONS, PHOTOS, LOANS})
GRANTS: dict[str, frozenset[str]] = {
    # His own customers; the full ID number goes to his enrolled phone (returning customers offline).
    "officer": _WORKFLOW | {TASKS, FULL_ID},
    # His office's: preliminary review reads the photos; follows up his officers' tasks and trails;
    # signs the contract for the lender.
    "director": _WORKFLOW | {TASKS, FULL_ID},
    # Keys the data in from the photos, the full ID number included.
    "clerk": frozenset({BORROWERS, APPLICATIONS, PHOTOS, FULL_ID}),
    # Review the documents; past loans are part of the borrower's history.
    "reviewer1": _WORKFLOW,
    "reviewer2": _WORKFLOW,
    "special_reviewer": _WORKFLOW,
    # Disburses and takes repayments: the loan and the borrower's name; the full ID number only on
    # the contract he prints; no photos.
    "cashier": frozenset({BORROWERS, APPLICATIONS, LOANS, FULL_ID, LEDGER}),
    # Keeps the books: the ledger and the loans behind its figures (names, masked ID numbers).
    "accountant": frozenset({BORROWERS, LOANS, LEDGER}),
    "admin": frozenset({ADMIN, BORROWERS, VIEW_LOG, AUDIT_LOG}),
    # Internal audit, read-only: everything masked, no photos, the view log, the audit log.
    "auditor": frozenset({BORROWERS, APPLICATIONS, LOANS, TASKS, VIEW_LOG, AUDIT_LOG, LEDGER}),
}

# Where a granted full ID number is shown; every screen elsewhere shows it masked. "contract" is
# the printed loan contract the borrower signs (/loans/<id>/note), "entry" the clerk's form,
# "phone" the officer's own customers on his enrolled phone (/api/v1/bootstrap).
FULL_ID_WHERE: dict[str, tuple[str, ...]] = {
    "officer": ("phone", "contract"),
    "director": ("contract",),
    "clerk": ("entry",),
    "cashier": ("contract",),
}

# The report snapshots (app/models/reports.py) are loans' figures: reached as loans are.
_MODEL_KIND = {Borrower: BORROWERS, Application: APPLICATIONS, Loan: LOANS,
               PortfolioSnapshot: LOANS, LoanSnapshot: LOANS, MonthlyFigures: LOANS,
               # A joint-liability group is reached as its members' applications are (its office,
               # its officer): the officer his own groups, a director his offices', HQ every one.
               LiabilityGroup: APPLICATIONS}

# What a role may do, beyond seeing: the routes declare these roles (``roles_required``), the
# templates test the flags ``can.<action>`` (``abilities()``), so both read this one table.
ACTIONS: dict[str, tuple[str, ...]] = {
    "capture": ("officer",),                       # the phone app (/m/)
    "register_borrower": ("officer", "director"),  # /borrowers/new
    "handle_money": ("cashier",),                  # disburse, take and reverse repayments, undo
    "enter_data": ("clerk",),                      # the data-entry screen, screenshots, OCR
    "walk_own_trail": ("officer",),                # his own GPS trail of the day
    "reassign_tasks": ("director",),               # hand an office's task to another officer
    "see_office_phones": ("director",),            # /phones/: his officers' phones, a SIM change held
    # Manual journal entries and their reversal, the day and month close, the chart of accounts
    # and its mapping, the provisioning rates.
    "keep_books": ("accountant",),
    # The chart of accounts and its role mapping per product (the administrator sets the books up;
    # the figures stay the ledger roles').
    "edit_chart": ("accountant", "admin"),
    # Write-off (核销) of a lost loan: proposed at headquarters by the credit reviewers or the
    # accountant (month-end provisioning shows the losses), decided by a senior reviewer who did
    # not propose it (app/services/write_off.py). Money recovered afterwards is the cashier's.
    "request_write_off": ("reviewer1", "reviewer2", "special_reviewer", "accountant"),
    "approve_write_off": ("reviewer2", "special_reviewer"),
    # Restructuring and extension (重组/展期): asked by the loan's officer, his director or a
    # first-level reviewer; decided level by level by the reviewers (app/services/restructuring.py).
    "request_restructure": ("officer", "director", "reviewer1"),
    "decide_restructure": ("reviewer1", "reviewer2", "special_reviewer"),
    # A credit-bureau query (征信, app/services/bureau.py) with the borrower's signed authorisation on
    # file: made at headquarters by the first-level reviewer (pre-loan review, post-loan management)
    # and the special reviewer (a guarantor's eligibility, the cases sent to him). The report file
    # it returns (the full ID number, every debt and repayment of the person) is opened by the credit
    # reviewers who decide on it, nobody else; the queries and the key figures read from the report
    # (the bureau box) are seen by them and by the internal auditor, who sees no photo and no full
    # ID number anywhere else either. Every showing of either is traced (identity_access).
    "query_bureau": ("reviewer1", "special_reviewer"),
    "read_bureau_reports": ("reviewer1", "reviewer2", "special_reviewer"),
    "see_bureau_figures": ("reviewer1", "reviewer2", "special_reviewer", "auditor"),
    # A borrower's access request (PIPL art. 45): everything held about him, as one file, handed
    # to him by the administrator (audited, and recorded as a view of his full ID number).
    "export_borrower_data": ("admin",),
    "print_contract": tuple(role for role, places in FULL_ID_WHERE.items() if "contract" in places),
    # Whole-village pre-credit (整村授信, app/services/villages.py): village profiles and campaigns
    # by the directors (their offices) and headquarters' reviewers; the white list approved by a
    # senior reviewer.
    "manage_villages": ("director", "reviewer1", "reviewer2", "special_reviewer"),
    "approve_whitelist": ("reviewer2", "special_reviewer"),
    # Dissolving a joint-liability group that cannot go on as one (too few members left): the director
    # of the group's office, or a first-level reviewer at headquarters (app/services/groups.dissolve).
    "dissolve_group": ("director", "reviewer1"),
}


class OutOfScope(NotFound, LookupError):
    """Raised for an object that does not exist or that the user may not see (same answer)."""


def may(user: User, kind: str) -> bool:
    """Whether one of the user's roles is granted this kind of data."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return any(kind in GRANTS.get(role, ()) for role in user.roles)


def require(user: User, kind: str) -> None:
    """Refuse, as for an object outside scope, a kind of data the user's roles are not granted."""
    if not may(user, kind):
        raise OutOfScope(kind)


def full_id_on(user: User, where: str) -> bool:
    """Whether the user may see the full ID number on this document or screen."""
    return any(where in FULL_ID_WHERE.get(role, ()) for role in user.roles)


def roles_with_full_id_on(where: str) -> tuple[str, ...]:
    """The roles that see the full ID number on this document or screen (for route declarations)."""
    return tuple(role for role, places in FULL_ID_WHERE.items() if where in places)


def grants(user: User) -> dict[str, bool]:
    """The template flags: ``may.photos``, ``may.view_log``…"""
    return {kind: may(user, kind) for kind in KINDS}


def can(user: User, action: str) -> bool:
    """Whether one of the user's roles may do this (see ``ACTIONS``)."""
    return user.has_role(*ACTIONS[action])


def abilities(user: User) -> dict[str, bool]:
    """The template flags: ``can.handle_money``, ``can.print_contract``…"""
    return {action: can(user, action) for action in ACTIONS}


def reaches_every_office(user: User, kind: str) -> bool:
    """Whether a headquarters role of the user is granted this kind (then every office's)."""
    return any(role in HQ_ROLES and kind in GRANTS.get(role, ()) for role in user.roles)


def roles_granted(kind: str) -> tuple[str, ...]:
    return tuple(role for role, kinds in GRANTS.items() if kind in kinds)


def director_offices(user: User) -> frozenset[int]:
    """The offices a director reaches: his own and every office under it, however deep (an
    办事处's director his office; a branch's director every office of the branch). The one place
    the hierarchy enters reach: every condition below that names offices uses it."""
    if user.office_id is None:
        return frozenset()
    if user.office is not None and user.office.kind == office_rules.OFFICE:
        return frozenset({user.office_id})  # an office holds no offices: no query
    tree = dict(db.session.execute(select(Office.id, Office.parent_id)).tuples().all())
    return frozenset(office_rules.descendants(tree, user.office_id))


def scope_clause(user: User, model: type[Scoped]) -> ColumnElement[bool]:
    """Reach, role by role, of only the roles granted this model's kind of data: an HQ role every
    office, a director his office and the offices under it, an officer his own (an admin who is
    also an officer reaches his own customers, not every office's)."""
    kind = _MODEL_KIND[model]
    conditions: list[ColumnElement[bool]] = []
    for role in user.roles:
        if kind not in GRANTS.get(role, ()):
            continue
        if role in HQ_ROLES:
            return true()
        if role == "director":
            conditions.append(model.office_id.in_(sorted(director_offices(user))))
        elif role == "officer":
            conditions.append(model.officer_id == user.id)
    return or_(*conditions) if conditions else false()


def scoped(user: User, model: type[Scoped]) -> Select:
    return select(model).where(scope_clause(user, model))


def get_scoped(user: User, model: type[Scoped], object_id: int) -> Scoped:
    obj = db.session.scalar(scoped(user, model).where(model.id == object_id))
    if obj is None:
        raise OutOfScope(model.__name__, object_id)
    return obj


def application(user: User, application_id: int) -> Application:
    return get_scoped(user, Application, application_id)


def borrower(user: User, borrower_id: int) -> Borrower:
    return get_scoped(user, Borrower, borrower_id)


def loan(user: User, loan_id: int) -> Loan:
    return get_scoped(user, Loan, loan_id)


def group(user: User, key: str | int) -> LiabilityGroup:
    """A joint-liability group by id or UUID, within the user's reach."""
    text = str(key)
    column = LiabilityGroup.id if text.isdecimal() else LiabilityGroup.uuid
    value: object = int(text) if text.isdecimal() else text
    if text.isdecimal() and len(text) > 18:
        raise OutOfScope(LiabilityGroup.__name__, text)
    obj = db.session.scalar(scoped(user, LiabilityGroup).where(column == value))
    if obj is None:
        raise OutOfScope(LiabilityGroup.__name__, text)
    return obj


def office_reach(user: User, kind: str) -> frozenset[int] | None:
    """The offices whose figures of this kind the user sees: None for every office (HQ); a
    director's office and those under it; anyone else his own office."""
    if reaches_every_office(user, kind):
        return None
    if user.has_role("director") and kind in GRANTS["director"]:
        return director_offices(user)
    return frozenset({user.office_id})


# --- post-loan tasks and trails: the reach of the task's loan, with the tasks grant -----------


def task_clause(user: User) -> ColumnElement[bool]:
    """Tasks of the loans in the user's reach (the query joins Loan), only with the tasks grant."""
    return scope_clause(user, Loan) if may(user, TASKS) else false()


def scoped_tasks(user: User) -> Select:
    return select(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id).where(task_clause(user))


def may_see_trail(viewer: User, officer: User) -> bool:
    """An officer's GPS trail: the officer himself, the directors who reach his office (his office's,
    a branch's above it), headquarters roles
    granted post-loan work (the internal auditor); nobody else."""
    if viewer.id == officer.id or reaches_every_office(viewer, TASKS):
        return True
    return viewer.has_role("director") and officer.office_id in director_offices(viewer)


def may_be_assigned(officer: User, office_id: int) -> bool:
    """Whether a post-loan task of a loan of this office may go to this user."""
    return officer.office_id == office_id and officer.has_role("officer") and officer.is_enabled


def assignees(office_id: int | Collection[int]) -> Select:
    """The users ``may_be_assigned`` accepts for this office (or these offices), as a query: the
    active loan officers there."""
    ids = [office_id] if isinstance(office_id, int) else sorted(office_id)
    return (select(User).join(UserRole, UserRole.user_id == User.id)
            .where(User.office_id.in_(ids), UserRole.role == "officer", User.is_enabled.is_(True)))


# --- the officer's phone: his own records, whatever his other roles ---------------------------


def own_clause(officer: User | int, model: type[Owned]) -> ColumnElement[bool]:
    """A phone's reach: the records its officer (a user or his id) is responsible for, never his
    office's, even when he is also a director: a phone carries one officer's customers."""
    return model.officer_id == (officer if isinstance(officer, int) else officer.id)


def owns(officer: User | int, obj: Application | Borrower | FollowUpTask | Loan) -> bool:
    """Whether this record is the officer's own (``officer`` a user or his id)."""
    return obj.officer_id == (officer if isinstance(officer, int) else officer.id)
