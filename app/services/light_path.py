"""The light path of whole-village pre-credit (整村授信, app/domain/village.py for the rules): an
application of a pre-approved household within its approved, unexpired limit of the same product
needs only the light path's photos and the director's approval (app/domain/workflow.py).

- ``light_path_specs``: the manifest's photo requirements for such an application (sync.py);
- ``attach_preapproval``: a new application linked to the borrower's pre-approval, light or not;
- ``refresh_light_path``: before the director decides, a pre-approval that expired or was used
  meanwhile sends the application the normal way;
- ``use_preapproval`` / ``release_preapproval``: at disbursement the pre-approval must still hold the
  amount and becomes "used"; an undone disbursement gives it back.

Apart from villages.py so that the workflow's services (applications, sync, loans) depend on it
one way: it imports no other service but the audit.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.domain import village as rules
from app.domain.i18n import N_
from app.extensions import db
from app.models import Application, Borrower, CollectionItem, Product, User
from app.models.credit import PreApproval, VillageCampaign
from app.services import audit
from app.services.errors import ServiceError


class LightPathError(ServiceError):
    """The light path's pre-approval no longer holds (at disbursement)."""


def light_rules(product: Product) -> rules.LightPathRules:
    """The product's light-path rules (its defaults when the data is missing or unreadable)."""
    try:
        return rules.LightPathRules.from_dict((product.credit_rules or {}).get("light_path") or {})
    except rules.LightPathRulesError:
        return rules.LightPathRules()


def _usable():
    """Approved pre-approvals with their campaign (for the product), the largest first."""
    return (select(PreApproval).join(VillageCampaign, VillageCampaign.id == PreApproval.campaign_id)
            .where(PreApproval.status == "approved").order_by(PreApproval.approved_limit.desc()).limit(1))


def _usable_preapproval(borrower_id: int, product_id: int, today: date) -> PreApproval | None:
    """The borrower's approved, unexpired pre-approval of this product (the largest)."""
    return db.session.scalar(_usable().where(PreApproval.borrower_id == borrower_id, VillageCampaign.product_id == product_id,
                                             PreApproval.valid_until >= today))


def _facts(pa: PreApproval | None) -> rules.PreApprovalFacts | None:
    if pa is None:
        return None
    return rules.PreApprovalFacts(pa.status, pa.approved_limit, pa.valid_until, pa.campaign.product_id)


def light_path_specs(specs: dict, data: object, today: date) -> dict:
    """The manifest's product specs with the light path's photo requirements when ``data`` (a
    manifest as sent) is a pre-approved borrower's application within his limit; else ``specs``."""
    from dataclasses import replace

    from app.domain.money import AmountError, parse_amount

    if not isinstance(data, dict) or not isinstance(data.get("borrower"), dict) or not isinstance(data.get("product_id"), int):
        return specs
    spec = specs.get(data["product_id"])
    number = data["borrower"].get("id_number")
    if spec is None or not isinstance(number, str):
        return specs
    # A manifest with every photo the product asks for passes as it is: nothing to look up (the sync
    # hot path stays as it was for every application but a pre-approved one sent with fewer photos).
    counts: dict[object, int] = {}
    for photo in data.get("photos") or ():
        if isinstance(photo, dict):
            counts[photo.get("item_id")] = counts.get(photo.get("item_id"), 0) + 1
    if all(counts.get(i.id, 0) >= i.required for i in spec.items):
        return specs
    pa = db.session.scalar(_usable().join(Borrower, Borrower.id == PreApproval.borrower_id)
                           .where(Borrower.id_number == number.strip().upper(), VillageCampaign.product_id == spec.id,
                                  PreApproval.valid_until >= today))
    try:
        amount = parse_amount(str(data.get("amount", "")))
    except AmountError:
        return specs
    product = db.session.get(Product, spec.id)
    lp = light_rules(product)
    if pa is None or not rules.light_path(lp, _facts(pa), product_id=spec.id, amount=amount, today=today).light:
        return specs
    codes = dict(db.session.execute(select(CollectionItem.id, CollectionItem.code).where(CollectionItem.product_id == spec.id)).tuples().all())
    needed = rules.required_on_light_path(lp, [(codes.get(i.id, ""), i.required) for i in spec.items])
    items = tuple(replace(i, required=needed.get(codes.get(i.id, ""), i.required)) for i in spec.items)
    return {**specs, spec.id: replace(spec, items=items)}


def attach_preapproval(application: Application, today: date) -> rules.LightPathDecision | None:
    """On a new application: link the borrower's pre-approval of this product and set the light
    path when the amount is within it (no commit: the caller's transaction)."""
    if application.borrower_id is None:
        db.session.flush()
    b = application.borrower
    if b is not None and b.created_at is not None and b.created_at == application.created_at:
        return None  # registered by this very manifest (sync._create): no pre-approval yet, nothing to ask
    pa = _usable_preapproval(application.borrower_id, application.product_id, today)
    if pa is None:
        return None
    product = db.session.get(Product, application.product_id)
    decision = rules.light_path(light_rules(product), _facts(pa), product_id=application.product_id,
                                amount=application.amount, today=today)
    application.preapproval_id = pa.id
    application.light_path = decision.light
    return decision


def light_path_of(application: Application, today: date) -> tuple[PreApproval, rules.LightPathDecision] | None:
    """The application's pre-approval and what it means now, for its page; None without one."""
    if application.preapproval_id is None:
        return None
    pa = db.session.get(PreApproval, application.preapproval_id)
    if pa is None:
        return None
    if pa.status == "used" and application.state == "disbursed":
        return pa, rules.LightPathDecision(application.light_path, N_("The pre-approved limit was used by this loan."), {})
    return pa, rules.light_path(light_rules(application.product), _facts(pa), product_id=application.product_id,
                                amount=application.amount, today=today)


def refresh_light_path(application: Application, today: date) -> None:
    """Before the director decides: a pre-approval that expired or was used meanwhile sends the
    application the normal way (no commit: the transition's)."""
    if application.preapproval_id is None or not application.light_path:
        return
    found = light_path_of(application, today)
    if found is None or not found[1].light:
        application.light_path = False


def use_preapproval(application: Application, amount: Decimal, today: date, user: User, *, ip: str = "") -> None:
    """At disbursement of a light-path application: the pre-approval must still be approved,
    unexpired and hold the amount; it becomes "used" in the disbursement's transaction."""
    if not application.light_path:
        return
    pa = db.session.scalar(select(PreApproval).where(PreApproval.id == application.preapproval_id).with_for_update())
    product = application.product
    decision = rules.light_path(light_rules(product), _facts(pa), product_id=application.product_id, amount=amount, today=today)
    if pa is None or not decision.light:
        # Its own words (expired, used, above the limit…): the cashier returns it for the normal review.
        raise LightPathError("preapproval_invalid", decision.reason, **dict(decision.params))
    pa.status = "used"
    audit.record("preapproval_used", actor_id=user.id, object_type="application", object_id=application.id, ip=ip,
                 preapproval_id=pa.id, amount=str(amount), approved_limit=str(pa.approved_limit))


def release_preapproval(application: Application, user: User, *, ip: str = "") -> None:
    """An undone disbursement gives the pre-approval back (no commit: the undo's)."""
    if not application.light_path or application.preapproval_id is None:
        return
    pa = db.session.get(PreApproval, application.preapproval_id)
    if pa is not None and pa.status == "used":
        pa.status = "approved"
        audit.record("preapproval_released", actor_id=user.id, object_type="application", object_id=application.id, ip=ip,
                     preapproval_id=pa.id)
