"""HQ data entry: save what the clerk keyed in, and complete it into first-level review."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app.domain.dates import business_today
from app.domain.entry import EntryCheck, check_entry
from app.domain.findings import Finding, OcrReading, compare
from app.domain.manifest import ProductSpec
from app.domain.i18n import N_
from app.domain.workflow import Event, Refusal, TransitionRefused
from app.extensions import db
from app.models import Application, OcrRun, Product, User
from app.services import applications as app_service
from app.services import audit


def product_limits() -> dict[int, ProductSpec]:
    """The active products' amount and term limits (the photo list does not matter here)."""
    products = db.session.scalars(select(Product).where(Product.is_active.is_(True))).all()
    return {
        p.id: ProductSpec(p.id, p.name, p.min_amount, p.max_amount, p.min_term_months, p.max_term_months, ())
        for p in products
    }


def initial_values(app: Application) -> dict[str, str]:
    """What the form starts from: the saved entry, else part of what the officer captured.

    What the clerk must read off the documents — name, ID number, amount in figures and in
    capitals, the IOU's date (``findings.COMPARED``) — starts empty, so that the comparison after
    completion means something; so do the household and the guarantor.
    """
    saved = (app.entry_data or {}).get("values")
    if saved:
        return dict(saved)
    b = app.borrower
    return {
        "address": b.address, "phone": b.phone,
        "product_id": str(app.product_id), "term_months": str(app.term_months), "purpose": app.purpose,
    }


def check(app: Application, values: dict[str, object], today: date) -> EntryCheck:
    return check_entry(values, products=product_limits(), today=today)


def _ocr_readings(app: Application) -> list[OcrReading]:
    """The finished OCR runs of this application's received photos and screenshots."""
    from app.services import ocr as ocr_service

    sources: dict[str, str] = {}
    for p in app.photos:
        if p.received_at is not None:
            sources.setdefault(p.sha256, f"{p.item.name} ({p.sequence})" if p.item is not None else f"({p.sequence})")
    for shot in app.screenshots:
        sources.setdefault(shot.sha256, shot.label or f"#{shot.id}")
    if not sources:
        return []
    runs = db.session.scalars(
        select(OcrRun).where(OcrRun.sha256.in_(list(sources)), OcrRun.status == "done").order_by(OcrRun.id)
    ).all()
    return [OcrReading(sources[run.sha256], ocr_service.proposals(run)) for run in runs]


def findings(app: Application, values: dict[str, str]) -> list[Finding]:
    """How the keyed values differ from the officer's capture and from OCR of the photos."""
    capture = {"name": app.borrower.name, "id_number": app.borrower.id_number, "amount": f"{app.amount:.2f}"}
    return compare(values, capture, _ocr_readings(app))


def _blocks(values: dict[str, str]) -> bool:
    """Whether the keyed loan type (else the application's) refuses completion on a finding."""
    product_id = values.get("product_id", "")
    product = db.session.get(Product, int(product_id)) if product_id.isascii() and product_id.isdigit() else None
    return bool(product.entry_mismatch_blocks) if product is not None else False


def _refused_for(result: EntryCheck, found: list[Finding]) -> EntryCheck:
    """The check with each differing field marked, saying from what but not the other value."""
    errors = dict(result.errors)
    for f in found:
        errors.setdefault(f.field, (N_("This differs from what the loan officer captured or from what OCR read on the"
                                       " photos. Read the document again; if it says this, return the application."), {}))
    return EntryCheck(result.values, errors, result.derived)


def save(
    app: Application,
    raw: dict[str, object],
    user: User,
    *,
    complete: bool,
    expected_version: int,
    now: datetime,
    ip: str = "",
) -> EntryCheck:
    """Save the entry; with ``complete`` and no problem, also move the application to L1.

    A completion refused for errors still saves what was typed (nothing is lost), then
    returns the check so the form can show every problem. Raises Conflict when someone else
    changed the application since the form was loaded, TransitionRefused when this user may
    not enter it.
    """
    if app.version != expected_version:
        raise app_service.conflict(app)
    result = check(app, raw, business_today(now))  # China's date, not UTC's: 00:00-08:00 differ
    found: list[Finding] = []
    if complete and result.ok:
        # Compared before the keyed terms replace the captured ones.
        found = findings(app, result.values)
        if found and _blocks(result.values):
            result = _refused_for(result, found)
    # A draft keeps what was typed where it does not check out, so nothing typed is lost.
    kept = {k: (result.values[k] if k not in result.errors else str(raw.get(k, "")).strip()) for k in result.values}
    if complete and result.ok:
        _apply_to_application(app, result, user, ip)
    app.entry_data = {"values": kept, "saved_by": user.id, "saved_at": now.isoformat(), "complete": complete and result.ok,
                      "findings": [f.to_dict() for f in found] if complete and result.ok else []}
    audit.record(
        "entry_saved", actor_id=user.id, object_type="application", object_id=app.id, ip=ip,
        complete=complete and result.ok, problems=sorted(result.errors),
        findings=sorted({f"{f.source}:{f.field}" for f in found}),
    )
    if complete and result.ok:
        app_id = app.id
        try:
            app_service.act(app_id, Event.ENTRY_COMPLETE, user, now=now, expected_version=expected_version, ip=ip)
        except StaleDataError:
            # Someone else saved between our version check and the write.
            db.session.rollback()
            raise app_service.conflict(db.session.get(Application, app_id)) from None
        except Exception:
            db.session.rollback()
            raise
    else:
        app_service.commit_or_conflict(app)
    return result


def _apply_to_application(app: Application, result: EntryCheck, user: User, ip: str) -> None:
    """The keyed-in loan terms become the application's; changes to the capture are audited."""
    v = result.values
    before = {"amount": f"{app.amount:.2f}", "term_months": str(app.term_months), "purpose": app.purpose,
              "product_id": str(app.product_id), "phone": app.borrower.phone, "address": app.borrower.address}
    app.amount = Decimal(v["amount"])
    app.term_months = int(v["term_months"])
    app.purpose = v["purpose"]
    app.product_id = int(v["product_id"])
    app.borrower.phone = v["phone"] or app.borrower.phone
    app.borrower.address = v["address"]
    after = {"amount": v["amount"], "term_months": v["term_months"], "purpose": v["purpose"],
             "product_id": v["product_id"], "phone": app.borrower.phone, "address": app.borrower.address}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        audit.record("entry_changed_capture", actor_id=user.id, object_type="application", object_id=app.id,
                     ip=ip, changes=changed)


def incomplete_refusal(app: Application, today: date) -> Refusal | None:
    """Why the stored entry cannot complete yet, or None. The workflow event is checked against
    the stored data, so no path around the form can skip the checks."""
    values = (app.entry_data or {}).get("values")
    if not values:
        return Refusal("entry_incomplete", N_("Key in the data entry form before completing it."), {})
    result = check(app, values, today)
    if not result.ok:
        return Refusal("entry_incomplete", N_("The data entry form has %(count)s problem(s); correct them first."),
                       {"count": len(result.errors)})
    found = findings(app, result.values) if _blocks(result.values) else []
    if found:
        return Refusal("entry_incomplete", N_("The data entry form has %(count)s problem(s); correct them first."),
                       {"count": len({f.field for f in found})})
    return None


def refuse_if_incomplete(app: Application, today: date) -> None:
    refusal = incomplete_refusal(app, today)
    if refusal is not None:
        raise TransitionRefused(refusal)
