"""HQ data entry: save what the clerk keyed in, and complete it into first-level review."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm.exc import StaleDataError

from app.domain.dates import business_today
from app.domain.entry import EntryCheck
from app.domain.findings import Finding
from app.domain.i18n import N_
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, User
from app.services import applications as app_service
from app.services import audit
from app.services.entry_checks import blocks_on_findings, check, findings
# The checks live in entry_checks (applications refuses an unchecked completion with them, and
# must not import this module, which completes through it); the entry screen reads them here too.
from app.services.entry_checks import product_limits as product_limits


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
    if complete and result.ok:
        # The household survey's required answers complete too (the clerk's own form beside this one).
        from app.services import surveys

        missing = surveys.missing_answers(app)
        if missing:
            result = EntryCheck(result.values, {"survey": (
                N_("Complete the household survey first (and save it): %(labels)s."), {"labels": "、".join(missing)})},
                result.derived)
    found: list[Finding] = []
    if complete and result.ok:
        # Compared before the keyed terms replace the captured ones.
        found = findings(app, result.values)
        if found and blocks_on_findings(result.values):
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
