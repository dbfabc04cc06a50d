"""Registering a borrower: every field checked, the ID number decoded, one row or none."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import idcard
from app.domain.i18n import N_
from app.domain.names import check_name
from app.domain.phone import PhoneError, normalise_mobile
from app.extensions import db
from app.models import Application, Borrower, User
from app.services import audit

FIELDS = ("name", "id_number", "phone", "village", "address")
# field -> (N_ message, params)
Errors = dict[str, tuple[str, dict]]


@dataclass
class RegisterResult:
    borrower: Borrower | None
    errors: Errors = field(default_factory=dict)


def validate(form: dict[str, str], today: date) -> tuple[dict, Errors]:
    errors: Errors = {}
    clean: dict = {}
    name, problem = check_name(form.get("name", ""))
    if not name:
        errors["name"] = (N_("Enter the borrower's name as on the ID card."), {})
    elif problem:
        errors["name"] = problem
    clean["name"] = name
    try:
        info = idcard.parse(form.get("id_number", ""), today)
        clean.update(id_number=info.number, sex=info.sex, birth_date=info.birth_date)
    except idcard.IdNumberError as e:
        errors["id_number"] = (e.message, dict(e.params))
    phone = form.get("phone", "").strip()
    if phone:
        try:
            phone = normalise_mobile(phone)
        except PhoneError as e:
            errors["phone"] = (e.message, e.params)
    clean["phone"] = phone
    for key, limit in (("village", 100), ("address", 200)):
        value = form.get(key, "").strip()
        if len(value) > limit:
            errors[key] = (N_("At most %(limit)s characters."), {"limit": limit})
        clean[key] = value
    return clean, errors


def register(form: dict[str, str], *, officer: User, today: date, ip: str = "") -> RegisterResult:
    clean, errors = validate(form, today)
    if "id_number" in clean and db.session.scalar(
        select(Borrower.id).where(Borrower.id_number == clean["id_number"])
    ):
        errors["id_number"] = (N_("A borrower with this ID number is already registered."), {})
    if errors:
        return RegisterResult(None, errors)
    borrower = Borrower(**clean, office_id=officer.office_id, officer_id=officer.id)
    db.session.add(borrower)
    try:
        db.session.flush()
    except IntegrityError:
        # Registered by someone else between our check and our insert.
        db.session.rollback()
        return RegisterResult(None, {"id_number": (N_("A borrower with this ID number is already registered."), {})})
    audit.record(
        "borrower_registered", actor_id=officer.id, object_type="borrower", object_id=borrower.id, ip=ip,
        id_number=idcard.mask(borrower.id_number),
    )
    db.session.commit()
    return RegisterResult(borrower)


# --- finding borrowers ---------------------------------------------------------------------

SEARCH_LIMIT = 50


def search(user: User, q: str = "") -> list[Borrower]:
    """The borrowers in the user's reach that the search box finds for ``q`` (app/services/search.py:
    a name or village by its beginning, the full ID number or its last six digits, a mobile…), read
    from the search keys' indexes; a ``%``-contains match would read every borrower."""
    from app.services import search as search_service

    request = search_service.parse({"q": q}, user)
    query = select(Borrower).where(*search_service.conditions(user, request))
    return list(db.session.scalars(query.order_by(Borrower.name, Borrower.id).limit(SEARCH_LIMIT)))


def applications_of(user: User, borrower: Borrower) -> list[Application]:
    """The borrower's applications in the user's reach, the newest first."""
    from app.services.scope import scoped

    return list(db.session.scalars(
        scoped(user, Application).where(Application.borrower_id == borrower.id)
        .order_by(Application.created_at.desc())
    ))


# --- the borrower page: "can we lend to this person again" ----------------------------------

# A past delay longer than this many days weighs against a new loan (the products' special-review
# rule on past arrears uses the same order of days).
LONG_DELAY_DAYS = 30


@dataclass(frozen=True)
class LoanSummary:
    loan: object
    outstanding: object     # Decimal: everything still owed (the loan page's figure)
    principal_balance: object
    days_past_due: int
    on_time: int            # installments fallen due that were paid by their due date
    fallen_due: int
    longest_delay: int


@dataclass
class Story:
    loans: list[LoanSummary]
    visits: list
    photos: int
    on_time_rate: object    # Decimal percent, or None before any installment fell due
    longest_delay: int
    verdict: str            # "yes", "caution" or "no"
    reasons: list[tuple[str, dict]]  # N_ messages and their params
    survey: list[tuple[str, str]] = field(default_factory=list)  # (N_ label, value) of the newest entry
    guarantors: list[tuple[int, str, str]] = field(default_factory=list)  # (application id, name, masked ID)
    groups: list = field(default_factory=list)  # services.groups.BorrowerGroup: his joint-liability groups


def story(user: User, borrower: Borrower, applications: list[Application], today: date) -> Story:
    """The borrower's loans with balances, repayment behaviour, visits and the lending verdict —
    only the loans and visits in the user's reach and of the kinds his role is granted."""
    from app.models import FollowUpTask, Loan, Photo
    from app.services import scope, statement

    loans: list[LoanSummary] = []
    if scope.may(user, scope.LOANS):
        for loan in db.session.scalars(scope.scoped(user, Loan).where(Loan.borrower_id == borrower.id)
                                       .order_by(Loan.disbursed_on.desc(), Loan.id.desc())):
            st = statement.build(loan, max(today, loan.accrued_through or today))
            fallen = [s for s in st.schedule if s.due_date < st.as_of or s.paid_off_on is not None]
            loans.append(LoanSummary(loan, st.outstanding, st.principal_balance,
                                     max((s.days_late for s in st.schedule if s.state == "overdue"), default=0),
                                     sum(1 for s in fallen if s.state == "paid_on_time"), len(fallen),
                                     st.longest_delay))
    visits = []
    if scope.may(user, scope.TASKS):
        visits = list(db.session.scalars(
            scope.scoped_tasks(user).where(Loan.borrower_id == borrower.id, FollowUpTask.completed_at.is_not(None))
            .order_by(FollowUpTask.completed_at.desc()).limit(50)))
    photos = 0
    if scope.may(user, scope.PHOTOS) and applications:
        photos = db.session.scalar(select(func.count()).select_from(Photo).where(
            Photo.application_id.in_([a.id for a in applications]), Photo.received_at.is_not(None),
            Photo.purged_at.is_(None))) or 0
    fallen_due = sum(s.fallen_due for s in loans)
    on_time = sum(s.on_time for s in loans)
    rate = (Decimal(on_time) * 100 / fallen_due).quantize(Decimal("0.1")) if fallen_due else None
    longest = max((s.longest_delay for s in loans), default=0)
    verdict, reasons = _verdict(loans, applications, longest)
    survey: list[tuple[str, str]] = []
    guarantors: list[tuple[int, str, str]] = []
    if scope.may(user, scope.APPLICATIONS):
        from app.domain.entry import FIELDS as ENTRY_FIELDS

        entered = [a for a in applications if a.entry_data]
        if entered:
            data = entered[0].entry_data
            survey = [(f.label, str(data[f.key])) for f in ENTRY_FIELDS if f.group == "household" and data.get(f.key)]
        guarantors = [(a.id, a.entry_data["guarantor_name"], idcard.mask(a.entry_data.get("guarantor_id_number") or ""))
                      for a in entered if a.entry_data.get("guarantor_name")]
    groups = []
    if scope.may(user, scope.APPLICATIONS):
        from app.services import groups as group_service

        groups = group_service.of_borrower(user, applications)
    return Story(loans, visits, photos, rate, longest, verdict, reasons, survey, guarantors, groups)


def _verdict(loans: list[LoanSummary], applications: list[Application], longest: int):
    from app.domain.workflow import TERMINAL, State

    reasons: list[tuple[str, dict]] = []
    verdict = "yes"
    late_now = [s for s in loans if s.loan.status == "active" and s.days_past_due > 0]
    if late_now:
        verdict = "no"
        reasons.append((N_("A loan is %(days)s days past due now."), {"days": max(s.days_past_due for s in late_now)}))
    if any(s.loan.status == "written_off" for s in loans):
        verdict = "no"
        reasons.append((N_("A loan was written off."), {}))
    if longest > LONG_DELAY_DAYS:
        verdict = "no" if verdict == "no" else "caution"
        reasons.append((N_("An installment was once %(days)s days late."), {"days": longest}))
    active = [s for s in loans if s.loan.status == "active"]
    if active and verdict == "yes":
        verdict = "caution"
        reasons.append((N_("A loan is still being repaid (on schedule)."), {}))
    if any(State(a.state) not in TERMINAL for a in applications):
        reasons.append((N_("An application is in progress."), {}))
        verdict = "caution" if verdict == "yes" else verdict
    if verdict == "yes":
        reasons.append((N_("Every loan repaid without a long delay; nothing past due.") if loans
                        else N_("No loan history with us yet."), {}))
    return verdict, reasons
