"""Whether a data entry checks out: the form's checks, the findings against capture and OCR, and
whether the stored entry may complete.

Shared by ``services/entry`` (saving what the clerk keyed) and ``services/applications`` (which
refuses the bare ``entry_complete`` event on an unchecked entry); it imports neither, so the two
depend on it and not on each other.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.domain.entry import EntryCheck, check_entry
from app.domain.findings import Finding, OcrReading, compare
from app.domain.i18n import N_
from app.domain.manifest import ProductSpec
from app.domain.workflow import Refusal, TransitionRefused
from app.extensions import db
from app.models import Application, OcrRun, Product


def product_limits() -> dict[int, ProductSpec]:
    """The active products' amount and term limits (the photo list does not matter here)."""
    from app.services.products import active_products

    products = active_products()
    return {
        p.id: ProductSpec(p.id, p.name, p.min_amount, p.max_amount, p.min_term_months, p.max_term_months, ())
        for p in products
    }


def check(app: Application, values: dict[str, object], today: date) -> EntryCheck:
    from app.services import guarantees

    result = check_entry(values, products=product_limits(), today=today)
    # The product's guarantor rules (limit, arrears, consent photo) as errors beside his fields.
    extra = guarantees.entry_problems(app, result.values, result.errors)
    return EntryCheck(result.values, {**result.errors, **extra}, result.derived) if extra else result


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


def blocks_on_findings(values: dict[str, str]) -> bool:
    """Whether the keyed loan type (else the application's) refuses completion on a finding."""
    product_id = values.get("product_id", "")
    product = db.session.get(Product, int(product_id)) if product_id.isascii() and product_id.isdigit() else None
    return bool(product.entry_mismatch_blocks) if product is not None else False


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
    found = findings(app, result.values) if blocks_on_findings(result.values) else []
    if found:
        return Refusal("entry_incomplete", N_("The data entry form has %(count)s problem(s); correct them first."),
                       {"count": len({f.field for f in found})})
    return None


def refuse_if_incomplete(app: Application, today: date) -> None:
    refusal = incomplete_refusal(app, today)
    if refusal is not None:
        raise TransitionRefused(refusal)
