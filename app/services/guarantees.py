"""Guarantors as people (担保人): the guarantor keyed at data entry becomes a borrower record and a
``Guarantee`` ties him to the application, checked against his product's rules
(app/domain/guarantees.py); guarantees are released when the loan closes or the application is
rejected or withdrawn; the reviewer's and the borrower page's view of them.

Entry (``services/entry_checks.check``) asks ``entry_problems`` for the field errors, so a refused
guarantor shows beside his fields and nothing is written but the draft; the workflow's
``entry_complete`` (``services/applications._act``) calls ``link_from_entry`` in its transaction,
which checks again under a lock on the guarantor's row.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from app.domain import idcard
from app.domain.dates import business_date_of
from app.domain.guarantees import (ARREARS_MODES, GuarantorFacts, GuarantorRules, GuarantorRulesError, Standing, check_guarantee,
                                   in_arrears, standing)
from app.domain.money import AmountError, parse_amount
from app.domain.i18n import N_
from app.models import Application, Borrower, CollectionItem, Installment, Loan, Photo, Product, User
from app.models.credit import Guarantee
from app.models.types import Money
from app.extensions import db
from app.services import audit
from app.services.product_rules import store_rules, whole_number
from app.services.errors import ServiceError

CONSENT_ITEM = "guarantor_consent"   # 担保承诺书, a collection item of the products that take guarantors
CONSENT_ITEM_NAME = "担保承诺书"
ZERO = Decimal("0")

Errors = dict[str, tuple[str, dict[str, object]]]


class GuaranteeRefused(ServiceError):
    """The guarantor may not guarantee this loan (limit, arrears, consent); nothing was written."""

    def __init__(self, message: str, params: Mapping[str, object]) -> None:
        super().__init__("guarantee_refused", message, **dict(params))


def rules_of(product: Product | None) -> GuarantorRules:
    return GuarantorRules.from_dict(((product.credit_rules or {}) if product is not None else {}).get("guarantor"))


def facts_of(guarantor_id: int, *, excluding_application: int | None = None, locking: bool = False) -> GuarantorFacts:
    """His other active guarantees and his own active loans (what they owe in principal, the worst
    days past due). ``locking``: his guarantees read by a locking read, which sees what others
    committed since this transaction began (InnoDB's plain reads keep the transaction's snapshot)."""
    active = (Guarantee.guarantor_id == guarantor_id, Guarantee.status == "active",
              Guarantee.application_id != (excluding_application or 0))
    if locking:
        guaranteed = sum(db.session.scalars(select(Guarantee.amount).where(*active).with_for_update()), ZERO)
    else:
        guaranteed = db.session.scalar(
            select(type_coerce(func.coalesce(func.sum(Guarantee.amount), 0), Money)).where(*active)) or ZERO
    count, worst = db.session.execute(
        select(func.count(Loan.id), func.coalesce(func.max(Loan.days_past_due), 0))
        .where(Loan.borrower_id == guarantor_id, Loan.status.in_(("active", "written_off")))).one()
    owed = db.session.scalar(
        select(type_coerce(func.coalesce(func.sum(Installment.principal_due - Installment.principal_paid), 0), Money))
        .join(Loan, Loan.id == Installment.loan_id)
        .where(Loan.borrower_id == guarantor_id, Loan.status.in_(("active", "written_off")))) or ZERO
    return GuarantorFacts(Decimal(guaranteed), Decimal(owed), int(worst or 0), int(count or 0))


def consent_photo(app: Application) -> Photo | None:
    """The newest received (not purged) photo of the guarantor's consent in this application."""
    return db.session.scalar(
        select(Photo).join(CollectionItem, CollectionItem.id == Photo.collection_item_id)
        .where(Photo.application_id == app.id, CollectionItem.code == CONSENT_ITEM,
               Photo.received_at.is_not(None), Photo.purged_at.is_(None))
        .order_by(Photo.id.desc()).limit(1))


def _keyed_product(app: Application, values: Mapping[str, str]) -> Product | None:
    pid = values.get("product_id", "")
    return db.session.get(Product, int(pid)) if pid.isascii() and pid.isdecimal() else app.product


def entry_problems(app: Application, values: Mapping[str, str], errors: Mapping[str, object]) -> Errors:
    """What the product's guarantor rules say about the keyed guarantor, as field errors. ``values``
    are ``check_entry``'s normalised values, ``errors`` its own (a field already wrong is left alone)."""
    out: Errors = {}
    if "product_id" in errors:
        return out
    product = _keyed_product(app, values)
    rules = rules_of(product)
    given = values.get("guarantor_id_number", "")
    if not given:
        if rules.required and not values.get("guarantor_name"):
            out["guarantor_name"] = (N_("This loan type needs a guarantor: key in the guarantor from the documents."), {})
        return out
    if any(k in errors for k in ("guarantor_id_number", "guarantor_name")):
        return out
    existing = db.session.scalar(select(Borrower).where(Borrower.id_number == given))
    if existing is not None and existing.name != values.get("guarantor_name"):
        out["guarantor_name"] = (N_("This ID number is registered as %(name)s; check the guarantor's name on his"
                                    " ID card."), {"name": existing.name})
    if rules.consent_photo and consent_photo(app) is None:
        out.setdefault("guarantor_name", (N_(
            "The guarantor's signed consent (担保承诺书) has not arrived among the photos; without it this loan type"
            " takes no guarantor. Return the application to the officer for the photo."), {}))
    if "amount" in errors or not values.get("amount"):
        return out
    facts = facts_of(existing.id, excluding_application=app.id) if existing is not None else GuarantorFacts(ZERO)
    problems = check_guarantee(rules, facts, Decimal(values["amount"]))
    for key, problem in zip(("guarantor_id_number", "guarantor_phone"), problems):
        out.setdefault(key, problem)
    return out


def link_from_entry(app: Application, user_id: int | None, *, now: datetime, ip: str = "") -> Guarantee | None:
    """At ``entry_complete``: the keyed guarantor found by ID number or registered (the
    application's office and officer), his guarantee of the loan amount with the consent photo.
    Checked again under a lock on his row; no commit (the transition's transaction)."""
    values = (app.entry_data or {}).get("values") or {}
    number = values.get("guarantor_id_number", "")
    current = db.session.scalars(select(Guarantee).where(Guarantee.application_id == app.id,
                                                         Guarantee.status == "active")).all()
    if not number:
        for g in current:  # the guarantor was taken off at a new entry
            _release_rows([g.id], app.id, user_id, "entry_changed", ip)
        return None
    rules = rules_of(app.product)
    amount = Decimal(values.get("amount") or app.amount)
    guarantor = _find_or_register(app, values, user_id, now, ip)
    facts = facts_of(guarantor.id, excluding_application=app.id, locking=True)
    problems = check_guarantee(rules, facts, amount)
    photo = consent_photo(app)
    if rules.consent_photo and photo is None:
        problems.insert(0, (N_("The guarantor's signed consent (担保承诺书) has not arrived among the photos; without"
                               " it this loan type takes no guarantor. Return the application to the officer for"
                               " the photo."), {}))
    if problems:
        raise GuaranteeRefused(*problems[0])
    for g in current:
        if g.guarantor_id != guarantor.id:
            _release_rows([g.id], app.id, user_id, "entry_changed", ip)
    row = db.session.scalar(select(Guarantee).where(Guarantee.application_id == app.id,
                                                    Guarantee.guarantor_id == guarantor.id))
    if row is None:
        row = Guarantee(application_id=app.id, guarantor_id=guarantor.id, created_by_id=user_id, created_at=now)
        db.session.add(row)
    row.amount, row.status = amount, "active"
    row.consent_photo_id = photo.id if photo is not None else None
    db.session.flush()
    audit.record("guarantee_given", actor_id=user_id, object_type="application", object_id=app.id, ip=ip,
                 guarantor_id=guarantor.id, id_number=idcard.mask(guarantor.id_number), amount=f"{amount:.2f}",
                 consent_photo_id=row.consent_photo_id, total=f"{facts.guaranteed + amount:.2f}",
                 limit=None if rules.limit is None else f"{rules.limit:.2f}", in_arrears=in_arrears(rules, facts))
    return row


def _find_or_register(app: Application, values: Mapping[str, str], user_id: int | None, now: datetime,
                      ip: str) -> Borrower:
    number = values["guarantor_id_number"]
    # The row locked (MariaDB; SQLite writes one at a time anyway): two entries with one guarantor
    # at once are checked against his limit one after the other.
    found = db.session.scalar(select(Borrower).where(Borrower.id_number == number).with_for_update())
    if found is not None:
        if found.name != values.get("guarantor_name"):
            raise GuaranteeRefused(N_("This ID number is registered as %(name)s; check the guarantor's name on his"
                                      " ID card."), {"name": found.name})
        return found
    info = idcard.parse(number, business_date_of(now))
    guarantor = Borrower(name=values["guarantor_name"], id_number=info.number, sex=info.sex,
                         birth_date=info.birth_date, phone=values.get("guarantor_phone", ""),
                         office_id=app.office_id, officer_id=app.officer_id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(guarantor)
    except IntegrityError:  # registered meanwhile by someone else
        return db.session.scalar(select(Borrower).where(Borrower.id_number == number).with_for_update())
    audit.record("borrower_registered", actor_id=user_id, object_type="borrower", object_id=guarantor.id, ip=ip,
                 id_number=idcard.mask(guarantor.id_number), as_guarantor_of=app.id)
    return guarantor


# --- release -----------------------------------------------------------------------------------


def _release_rows(ids: list[int], application_id: int, user_id: int | None, reason: str, ip: str = "") -> None:
    db.session.execute(update(Guarantee).where(Guarantee.id.in_(ids), Guarantee.status == "active")
                       .values(status="released"))
    audit.record("guarantees_released", actor_id=user_id, object_type="application", object_id=application_id,
                 ip=ip, guarantees=ids, reason=reason)


def release_for_application(application_id: int, user_id: int | None, reason: str, ip: str = "") -> int:
    """The application was rejected or withdrawn: its guarantees end (one UPDATE, audited when any did)."""
    ids = list(db.session.scalars(select(Guarantee.id).where(Guarantee.application_id == application_id,
                                                             Guarantee.status == "active")))
    if ids:
        _release_rows(ids, application_id, user_id, reason, ip)
    return len(ids)


def release_for_loan(loan: Loan, user_id: int | None) -> int:
    """The loan is repaid in full: its guarantees end, in the repayment's transaction."""
    return release_for_application(loan.application_id, user_id, "loan_closed")


def reopen_for_loan(loan: Loan, user_id: int | None) -> int:
    """A reversal reopened the loan: the guarantees its closing released hold again."""
    ids = list(db.session.scalars(select(Guarantee.id).where(Guarantee.application_id == loan.application_id,
                                                             Guarantee.status == "released")))
    if ids:
        db.session.execute(update(Guarantee).where(Guarantee.id.in_(ids)).values(status="active"))
        audit.record("guarantees_reopened", actor_id=user_id, object_type="application", object_id=loan.application_id,
                     guarantees=ids, reason="loan_reopened")
    return len(ids)


# --- what the pages show ---------------------------------------------------------------------


@dataclass(frozen=True)
class GuarantorView:
    guarantee: Guarantee
    guarantor: Borrower
    standing: Standing       # his total (this guarantee included while active) against the limit
    facts: GuarantorFacts
    consent_received: bool
    reachable: bool          # whether the viewer may open his borrower page


def for_application(user: User, app: Application) -> list[GuarantorView]:
    from app.services.scope import scope_clause

    rules = rules_of(app.product)
    rows = db.session.scalars(select(Guarantee).where(Guarantee.application_id == app.id)
                              .order_by(Guarantee.status, Guarantee.id)).all()
    reach = set(db.session.scalars(select(Borrower.id).where(
        Borrower.id.in_([g.guarantor_id for g in rows]), scope_clause(user, Borrower)))) if rows else set()
    out = []
    for g in rows:
        facts = facts_of(g.guarantor_id, excluding_application=app.id)
        amount = g.amount if g.status == "active" else ZERO
        out.append(GuarantorView(g, g.guarantor, standing(rules, facts, amount), facts,
                                 g.consent_photo_id is not None, g.guarantor_id in reach))
    return out


@dataclass(frozen=True)
class GivenView:
    guarantee: Guarantee
    application: Application
    loan: Loan | None
    late: bool              # the guaranteed loan is past due


@dataclass(frozen=True)
class GivenSummary:
    rows: list[GivenView]
    hidden: int             # guarantees for applications outside the viewer's reach (counted, not shown)
    total_active: Decimal
    in_arrears: bool        # the guarantor himself is late on his own loans
    facts: GuarantorFacts


def given_by(user: User, borrower: Borrower) -> GivenSummary:
    """The guarantees this person gave: those for applications in the viewer's reach in full, the
    others only counted."""
    from app.services.scope import scope_clause

    rows = db.session.execute(
        select(Guarantee, Application).join(Application, Application.id == Guarantee.application_id)
        .where(Guarantee.guarantor_id == borrower.id, scope_clause(user, Application))
        .order_by(Guarantee.status, Guarantee.id.desc())).all()
    total = db.session.scalar(select(func.count(Guarantee.id)).where(Guarantee.guarantor_id == borrower.id)) or 0
    loans = {loan.application_id: loan for loan in db.session.scalars(
        select(Loan).where(Loan.application_id.in_([a.id for _g, a in rows])))} if rows else {}
    facts = facts_of(borrower.id)
    shown = [GivenView(g, a, loans.get(a.id), (loans[a.id].days_past_due > 0) if a.id in loans else False)
             for g, a in rows]
    return GivenSummary(shown, total - len(shown), facts.guaranteed, in_arrears(GuarantorRules(), facts), facts)


# --- demo ------------------------------------------------------------------------------------

BUREAU_CONSENT_ITEM = ("bureau_consent", "征信授权书")
# The demo's guarantor rules: a consent photo, at most 100,000 yuan guaranteed per person, a
# guarantor late on his own loans refused.
DEMO_RULES = {"required": False, "consent_photo": True, "limit": "100000.00", "arrears": "refuse", "arrears_days": 1}


def seed_demo(products: list[Product]) -> None:
    """The demo's loan types take guarantors and bureau queries: the two signed forms as optional
    collection items (the officer photographs them when there is a guarantor / before a query),
    and the guarantor rules. Called by services/demo.load before the photos are drawn."""
    for product in products:
        order = max((i.sort_order for i in product.items), default=0)
        have = {i.code for i in product.items}
        for offset, (code, name) in enumerate(((CONSENT_ITEM, CONSENT_ITEM_NAME), BUREAU_CONSENT_ITEM), start=1):
            if code not in have:
                product.items.append(CollectionItem(code=code, name=name, required_count=0, max_count=2,
                                                    sort_order=order + offset))
        product.credit_rules = {**(product.credit_rules or {}), "guarantor": dict(DEMO_RULES)}


# --- the administrator's form for a product's guarantor rules -----------------------------------


class GuarantorRulesRefused(ServiceError):
    """The form's guarantor rules do not check out; nothing was saved."""

    def __init__(self, fields: Errors) -> None:
        super().__init__("guarantor_rules", N_("Correct the guarantor rules marked below."), fields=fields)


def stored_rules(product: Product) -> tuple[GuarantorRules, tuple[str, dict] | None]:
    """The product's rules, or the defaults and why when what is stored does not check out."""
    try:
        return rules_of(product), None
    except GuarantorRulesError as e:
        return GuarantorRules(), (e.message, e.params)


def form_values(rules: GuarantorRules) -> dict[str, object]:
    return {"required": rules.required, "consent_photo": rules.consent_photo,
            "limit": "" if rules.limit is None else f"{rules.limit:.2f}", "arrears": rules.arrears,
            "arrears_days": str(rules.arrears_days)}


def save_rules(product: Product, form: Mapping[str, str], *, actor_id: int, ip: str = "") -> bool:
    """Check the whole form, then store ``credit_rules["guarantor"]`` (audited before/after).
    Returns whether anything changed; raises GuarantorRulesRefused with every bad field."""
    errors: Errors = {}
    limit_text = (form.get("limit") or "").strip()
    limit = None
    if limit_text:
        try:
            limit = parse_amount(limit_text)
        except AmountError as e:
            errors["limit"] = (e.message, dict(e.params))
    days = whole_number({"arrears_days": (form.get("arrears_days") or "1")}, "arrears_days", 1, 3650,
                        N_("Days past due for arrears must be a whole number from 1 to 3650."), errors)
    if form.get("arrears", "flag") not in ARREARS_MODES:
        errors["arrears"] = (N_("A guarantor in arrears is either flagged or refused."), {})
    if errors:
        raise GuarantorRulesRefused(errors)
    data = {"required": bool(form.get("required")), "consent_photo": bool(form.get("consent_photo")),
            "limit": None if limit is None else f"{limit:.2f}", "arrears": form.get("arrears", "flag"),
            "arrears_days": days}
    try:
        rules = GuarantorRules.from_dict(data)
    except GuarantorRulesError as e:
        field = "limit" if "limit" in e.message else "arrears" if "flagged or refused" in e.message else "arrears_days"
        raise GuarantorRulesRefused({field: (e.message, e.params)}) from None
    return store_rules(product, "guarantor", rules.to_dict(), action="product_guarantor_rules_changed",
                       actor_id=actor_id, ip=ip)
