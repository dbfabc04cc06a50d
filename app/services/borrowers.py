"""Registering a borrower: every field checked, the ID number decoded, one row or none."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
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
    """The borrowers in the user's reach whose name, ID number or village contains ``q``."""
    from app.services.scope import scoped

    query = scoped(user, Borrower)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Borrower.name.like(like), Borrower.id_number.like(like), Borrower.village.like(like)))
    return list(db.session.scalars(query.order_by(Borrower.name, Borrower.id).limit(SEARCH_LIMIT)))


def applications_of(user: User, borrower: Borrower) -> list[Application]:
    """The borrower's applications in the user's reach, the newest first."""
    from app.services.scope import scoped

    return list(db.session.scalars(
        scoped(user, Application).where(Application.borrower_id == borrower.id)
        .order_by(Application.created_at.desc())
    ))
