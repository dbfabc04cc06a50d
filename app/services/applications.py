"""Moving an application through the workflow: one transaction, one timeline row, one audit row."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.domain import geo, routing, workflow
from app.domain import groups as group_rules
from app.domain.dates import business_date_of
from app.domain.i18n import N_
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import Application, Borrower, Loan, Photo, Transition, User
from app.models.credit import LiabilityGroup
from app.services import audit, entry_checks, group_capture, guarantees, notifications, scoring
from app.services import light_path
from app.services.errors import ServiceError

IN_FLIGHT = tuple(s.value for s in State if s not in workflow.TERMINAL)


class Conflict(ServiceError):
    """Someone else changed the application first; the user must reload."""

    def __init__(self, changed_by: str, changed_at: datetime | None) -> None:
        super().__init__("application_changed",
                         N_("This application was changed by %(who)s meanwhile; reload it and try again."),
                         who=changed_by)
        self.changed_by = changed_by
        self.changed_at = changed_at


def actor_for(user: User) -> workflow.Actor:
    return workflow.Actor(user_id=user.id, roles=user.roles, office_id=user.office_id)


def routing_facts(app: Application, today: date) -> routing.RoutingFacts:
    borrower: Borrower = app.borrower
    others_in_flight = other_applications_in_flight(app)
    active_loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == borrower.id, Loan.status == "active")
    ).all()
    exposure = sum((loan.principal for loan in active_loans), Decimal("0"))
    worst_dpd = db.session.scalar(
        select(func.max(Loan.days_past_due)).where(Loan.borrower_id == borrower.id)
    )
    household = 0
    if borrower.household_key:
        household = db.session.scalar(
            select(func.count())
            .select_from(Loan)
            .join(Borrower, Loan.borrower_id == Borrower.id)
            .where(Borrower.household_key == borrower.household_key, Loan.status == "active")
        ) or 0
    return routing.RoutingFacts(
        amount=app.amount,
        term_months=app.term_months,
        borrower_age=_age(borrower.birth_date, today),
        related_party=borrower.related_party,
        duplicate_id_in_flight=bool(others_in_flight),
        home_gps_present=app.home_lat is not None and app.home_lon is not None,
        officer_on_site=None,
        outstanding_exposure=exposure,
        worst_past_dpd=worst_dpd,
        household_active_loans=household,
        score=app.score,
        suggested_limit=app.suggested_limit,
    )


def distance_from_office(app: Application) -> float | None:
    """Metres from the office to the home GPS of the application, when both are known."""
    office = app.office
    if None in (app.home_lat, app.home_lon, office.lat, office.lon):
        return None
    return geo.distance_m(office.lat, office.lon, app.home_lat, app.home_lon)


def other_applications_in_flight(app: Application) -> int:
    """How many other unfinished applications carry the same ID number (any office)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Application)
        .join(Borrower, Application.borrower_id == Borrower.id)
        .where(Borrower.id_number == app.borrower.id_number, Application.id != app.id)
        .where(Application.state.in_(IN_FLIGHT))
    ) or 0


def routing_preview(app: Application, today: date) -> routing.RoutingDecision | None:
    """What the product's current rules would decide if L1 passed it now (before L1 only)."""
    if app.state not in (State.AWAITING_DIRECTOR.value, State.AWAITING_ENTRY.value, State.AWAITING_L1.value):
        return None
    return routing.evaluate(app.product.rules, routing_facts(app, today))


def loan_of(app: Application) -> Loan | None:
    return db.session.scalar(select(Loan).where(Loan.application_id == app.id))


def borrower_history(app: Application) -> dict:
    """The borrower's other applications and his loans, with the worst arrears ever recorded."""
    others = db.session.scalars(
        select(Application)
        .where(Application.borrower_id == app.borrower_id, Application.id != app.id)
        .order_by(Application.created_at.desc())
    ).all()
    loans = db.session.scalars(
        select(Loan).where(Loan.borrower_id == app.borrower_id).order_by(Loan.disbursed_on.desc())
    ).all()
    return {
        "applications": others,
        "loans": loans,
        "worst_dpd": max((loan.days_past_due for loan in loans), default=None),
        "outstanding": sum((loan.principal for loan in loans if loan.status == "active"), Decimal("0")),
    }


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def act(
    application_id: int,
    event: Event,
    user: User,
    *,
    now: datetime,
    comment: str = "",
    expected_version: int | None = None,
    ip: str = "",
) -> Transition:
    """Apply one workflow event. Raises TransitionRefused, Conflict or LookupError; commits on success."""
    return _act(application_id, event, actor_for(user), user.id, now, comment, expected_version, ip)


def system_act(application_id: int, event: Event, *, now: datetime, comment: str = "") -> Transition:
    """An event the server itself fires, e.g. every required photo has arrived."""
    return _act(application_id, event, workflow.SYSTEM_ACTOR, None, now, comment, None, "")


def _act(
    application_id: int,
    event: Event,
    actor: workflow.Actor,
    user_id: int | None,
    now: datetime,
    comment: str,
    expected_version: int | None,
    ip: str,
) -> Transition:
    app = db.session.get(Application, application_id)
    if app is None:
        raise LookupError(application_id)
    if expected_version is not None and app.version != expected_version:
        raise _conflict(app)

    row = step(app, event, actor, user_id, now, comment, ip)
    to_state = row.to_state  # read before the commit expires the row (no SELECT to read it back)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _conflict(db.session.get(Application, application_id)) from None
    if to_state == State.UPLOADING.value:
        # A resubmission without new photos goes straight on to the director.
        advance_if_photos_in(app, now)
    return row


def step(
    app: Application,
    event: Event,
    actor: workflow.Actor,
    user_id: int | None,
    now: datetime,
    comment: str,
    ip: str,
    *,
    as_group: bool = False,
) -> Transition:
    """One workflow event on ``app`` — state, timeline row, audit row, notifications — without
    committing: ``act`` commits it alone, a group decision (services/groups.py) commits every
    member's step together (``as_group``: the event is taken for the whole group)."""
    # A member of a returned group: the group row is locked before the member's row is written (see
    # _back_in_review); a group decision sets the group's state itself.
    returned_group = None if as_group else _returned_group_locked(app)
    if event == Event.ENTRY_COMPLETE:
        entry_checks.refuse_if_incomplete(app, business_date_of(now))
    if event in (Event.DISBURSE, Event.UNDO_DISBURSEMENT):
        _refuse_without_loan_change(app, event)
    if event == Event.DISBURSE and app.group is not None:  # a group's members are paid once it is approved
        held = group_rules.disbursement_refusal(app.group.name, app.group.state)
        if held is not None:
            raise workflow.TransitionRefused(workflow.Refusal("group", held[0], held[1]))
    if event == Event.DIRECTOR_APPROVE and app.preapproval_id is not None:
        light_path.refresh_light_path(app, business_date_of(now))  # expired or used meanwhile: the normal path
    decision = None
    if event == Event.L1_PASS:
        # Scored again with the product's current scorecard, so routing sees the latest.
        scoring.score_application(app, today=business_date_of(now))
        decision = routing.evaluate(app.product.rules, routing_facts(app, business_date_of(now)))  # China's date, like the preview
    t = workflow.transition(app.facts(), event, actor, now, comment, decision, as_group=as_group)
    after = workflow.apply(app.facts(), t)

    app.state = after.state.value
    app.needs_l2 = after.needs_l2
    app.needs_special = after.needs_special
    app.entered_by_id = after.entered_by
    app.director_id = after.reviewed_by.get("director")
    app.l1_reviewer_id = after.reviewed_by.get("l1")
    app.l2_reviewer_id = after.reviewed_by.get("l2")
    app.special_reviewer_id = after.reviewed_by.get("special")
    if decision is not None:
        app.routing_reasons = [
            {"level": r.level, "code": r.code, "message": r.message, "params": dict(r.params)}
            for r in decision.reasons
        ]
    if event == Event.ENTRY_COMPLETE:  # the keyed guarantor becomes a person with a guarantee
        guarantees.link_from_entry(app, user_id, now=now, ip=ip)
    if after.state in (State.REJECTED, State.WITHDRAWN):  # a refused loan binds no guarantor
        guarantees.release_for_application(app.id, user_id, t.event.value, ip)
    row = Transition(
        application=app,
        event=t.event.value,
        from_state=t.from_state.value,
        to_state=t.to_state.value,
        actor_id=user_id,
        at=now,
        comment=comment.strip(),
    )
    db.session.add(row)
    audit.record(
        "application_" + t.event.value,
        actor_id=user_id, object_type="application", object_id=app.id, ip=ip,
        from_state=t.from_state.value, to_state=t.to_state.value, comment=comment.strip(),
    )
    if returned_group is not None:
        _back_in_review(returned_group, app, t.event, user_id, ip)
    notifications.on_transition(app, t.event, user_id, now)
    return row


def _returned_group_locked(app: Application) -> LiabilityGroup | None:
    """The member's group, row-locked, when it is ``returned`` (else None, and no lock). Locked before
    the member's own row is written: two members of one group coming back at once are then stepped
    one after the other, and the second sees the first's new state (on MariaDB too, where a plain
    read would see its transaction's older snapshot and both would leave the group returned)."""
    if app.group_id is None or app.group is None or app.group.state != "returned":
        return None
    group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.id == app.group_id)
                              .with_for_update().execution_options(populate_existing=True))
    return group if group is not None and group.state == "returned" else None


def _back_in_review(group: LiabilityGroup, app: Application, event: Event, user_id: int | None, ip: str) -> None:
    """A returned group goes back to review once no remaining member is with the officer
    (``domain.groups.back_in_review``): the last returned member resubmitted with its photos in, or
    withdrawn, every new member the officer added arrived with its photos in, and at least the
    product's minimum of members remains. Audited ``group_back_in_review``; no commit (the member's
    step's transaction)."""
    rows = db.session.execute(select(Application.id, Application.state).where(Application.group_id == group.id)
                              .order_by(Application.id).with_for_update(read=True)).all()
    states = {member_id: (app.state if member_id == app.id else state) for member_id, state in rows}
    min_size = group_capture.rules_of(group.product).min_size
    if not group_rules.back_in_review(group.state, list(states.values()), group.members_to_come, min_size):
        return
    group.state = "in_review"
    audit.record("group_back_in_review", actor_id=user_id, object_type="liability_group", object_id=group.id,
                 ip=ip, application=app.id, event=event.value,
                 members=[i for i, s in states.items() if s not in group_rules.ENDED])


def advance_if_photos_in(app: Application, now: datetime) -> None:
    """Move an uploading application on to the director once every photo has arrived."""
    db.session.refresh(app)
    if app.state != State.UPLOADING.value or any(p.received_at is None for p in app.photos):
        return
    try:
        system_act(app.id, Event.PHOTOS_COMPLETE, now=now)
    except (Conflict, workflow.TransitionRefused):
        # Two last photos finished at once: the other request moved it on.
        db.session.rollback()


def advance_when_photos_in(application_id: int, now: datetime) -> None:
    """The same as ``advance_if_photos_in`` for the upload path, in one statement when a photo is
    still missing: call it in a transaction begun after the photo's commit, so that it sees what
    the other photos' requests committed (the last of two photos finishing at once advances)."""
    state = db.session.scalar(
        select(Application.state).where(
            Application.id == application_id,
            ~select(Photo.id).where(Photo.application_id == application_id, Photo.received_at.is_(None)).exists(),
        )
    )
    if state != State.UPLOADING.value:
        return
    try:
        system_act(application_id, Event.PHOTOS_COMPLETE, now=now)
    except (Conflict, workflow.TransitionRefused):
        # Two last photos finished at once: the other request moved it on.
        db.session.rollback()


def _refuse_without_loan_change(app: Application, event: Event) -> None:
    """Disbursing creates the loan and undoing removes it (services.loans): never the state alone."""
    has_loan = db.session.scalar(select(Loan.id).where(Loan.application_id == app.id)) is not None
    if has_loan != (event == Event.DISBURSE):
        raise workflow.TransitionRefused(workflow.Refusal(
            "loan_required", N_("Use the disbursement form: it creates the loan account and its schedule."), {}))


def commit_or_conflict(app: Application) -> None:
    """Commit changes to ``app`` outside a transition; Conflict if someone else changed it first."""
    app_id = app.id
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _conflict(db.session.get(Application, app_id)) from None


def conflict(app: Application) -> Conflict:
    return _conflict(app)


def _conflict(app: Application) -> Conflict:
    last = db.session.scalar(
        select(Transition).where(Transition.application_id == app.id).order_by(Transition.id.desc())
    )
    who = last.actor.full_name if last is not None and last.actor is not None else "?"
    return Conflict(changed_by=who, changed_at=last.at if last is not None else app.updated_at)


# --- finding applications ------------------------------------------------------------------

SEARCH_LIMIT = 50


def search(user: User, q: str = "", state: str = "") -> list[Application]:
    """The applications in the user's reach whose borrower the search box finds for ``q`` (a name
    by its beginning, the full ID number or its last six digits…: app/services/search.py — never a
    ``%q%`` match, which read every borrower and took a typed ``%`` for "anyone"), in ``state`` if
    it is one; the latest changed first."""
    from app.services import search as search_service
    from app.services.scope import scoped

    query = scoped(user, Application).join(Borrower, Application.borrower_id == Borrower.id)
    match = search_service.borrower_match(user, q.strip()) if q.strip() else None
    if match is not None:
        query = query.where(match)
    if state in {s.value for s in State}:
        query = query.where(Application.state == state)
    return list(db.session.scalars(
        query.options(selectinload(Application.borrower), selectinload(Application.product))
        .order_by(Application.updated_at.desc(), Application.id.desc())
        .limit(SEARCH_LIMIT)
    ))
