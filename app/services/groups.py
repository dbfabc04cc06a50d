"""Joint-liability groups (联保小组) at the office: the group's page, its review as a whole, its
exposure, a late member's consequences for the others, the group on a borrower's page.

A group (``LiabilityGroup``) is formed on the officer's phone (app/services/group_capture.py
creates it "forming" and puts it "in_review" once every member's application has arrived); its
members are the applications whose ``group_id`` points to it. The group binds its members until it
is dissolved: their passes and returns at a decision level (``workflow.GROUP_EVENTS``) are refused
one by one and taken here for all members at once, each member's own transition, timeline row and
audit row in one transaction, plus one audit row for the group. Where the group stands is
``domain.groups.group_step``; the rules (size, relatives, exposure limit) are the product's
``credit_rules["group"]`` (``domain.groups.GroupRules``).

Decisions (docs/ARCHITECTURE.md, "Joint-liability groups"):
- a member's rejection stays its own; a group left with fewer members than the product's minimum
  cannot pass any more (the pass is refused saying so): the director of its office or a
  first-level reviewer dissolves it (``dissolve``, with a reason) and its members are decided one
  by one, or it is returned to the officer;
- a returned group is back in review once no remaining member is with the officer any more
  (``applications.step`` asks ``domain.groups.back_in_review`` at every member's event);
- at the first-level pass the group's exposure (the remaining members' requested amounts plus what
  they owe on active loans) is checked against the limit: over it, the pass is refused with the
  figures — an institution does not let a group's limit be overridden by a routing step; the group
  is returned to lower the amounts, or a member is rejected;
- a member's disbursement waits until the group is approved (every remaining member passed every
  level it needs).
"""
from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app.domain import workflow
from app.domain.groups import (DISSOLVE_REASON_MAX, GroupRules, GroupRulesError, GroupStep, disbursement_refusal,
                               dissolve_refusal, exposure, group_step, normalise_pairs)
from app.domain.i18n import N_
from app.domain.money import format_money
from app.domain.phone import PhoneError, normalise_mobile
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import HQ_ROLES, Application, Borrower, FollowUpTask, Loan, SmsMessage, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import audit, scope
from app.services.errors import ServiceError

KIND_GROUP_LATE = "group_late"  # a FollowUpTask and an SMS kind
STATES = ("forming", "in_review", "returned", "approved", "dissolved")
STATE_LABELS = {
    "forming": N_("Forming: members' applications arriving"),
    "in_review": N_("In review"),
    "returned": N_("Returned to the officer"),
    "approved": N_("Approved"),
    "dissolved": N_("Dissolved"),
}
_ENDED = (State.REJECTED.value, State.WITHDRAWN.value)


class GroupRefused(ServiceError):
    """A group decision refused as a whole."""


class GroupMemberRefused(ServiceError):
    """One member's step was refused by the workflow: nothing was written; ``name`` says whose."""

    def __init__(self, name: str, refusal: workflow.Refusal) -> None:
        super().__init__("group_member_refused", refusal.message, **dict(refusal.params))
        self.name = name
        self.refusal = refusal


def rules_of(group: LiabilityGroup) -> GroupRules:
    try:
        return GroupRules.from_dict((group.product.credit_rules or {}).get("group"))
    except GroupRulesError:  # the product's editor refuses bad rules; an old row falls back to the defaults
        return GroupRules()


def members_of(group: LiabilityGroup) -> list[Application]:
    return list(db.session.scalars(
        select(Application).where(Application.group_id == group.id)
        .options(selectinload(Application.borrower), selectinload(Application.transitions))
        .order_by(Application.id)))


def _active_loans(borrower_ids: Iterable[int]) -> dict[int, tuple[Decimal, int]]:
    """Per borrower: what his active loans' principal comes to, and the worst days past due."""
    ids = sorted(set(borrower_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Loan.borrower_id, func.sum(Loan.principal), func.max(Loan.days_past_due))
        .where(Loan.borrower_id.in_(ids), Loan.status == "active").group_by(Loan.borrower_id)).all()
    return {b: (Decimal(total or 0), int(dpd or 0)) for b, total, dpd in rows}


@dataclass(frozen=True)
class MemberRow:
    app: Application
    outstanding: Decimal  # his active loans (this application's own loan once disbursed included)
    late_days: int  # worst days past due of his active loans
    remaining: bool  # not rejected or withdrawn


def page(user: User, group: LiabilityGroup) -> dict:
    """What the group's page shows (the group reached with ``scope.group``)."""
    members = members_of(group)
    loans = _active_loans(a.borrower_id for a in members)
    rows = [MemberRow(a, loans.get(a.borrower_id, (Decimal("0"), 0))[0], loans.get(a.borrower_id, (0, 0))[1],
                      a.state not in _ENDED) for a in members]
    rules = rules_of(group)
    remaining = [r for r in rows if r.remaining]
    exp = _exposure(remaining, rules)
    step = group_step([a.state for a in members])
    names = {a.uuid: a.borrower.name for a in members}
    relatives = [(names.get(a, a), names.get(b, b)) for a, b in normalise_pairs(group.relatives or [])]
    return {
        "group": group, "rows": rows, "rules": rules, "exposure": exp, "step": step,
        "events": _group_events(user, group, members, step),
        "too_small": len(remaining) < rules.min_size, "remaining": len(remaining),
        "relatives": relatives, "group_state_label": STATE_LABELS.get(group.state, group.state),
        "dissolve_offered": may_dissolve(user, group) and dissolve_refusal(group.name, group.state, "-") is None,
        "dissolve_reason_max": DISSOLVE_REASON_MAX,
    }


def _exposure(rows: list[MemberRow], rules: GroupRules):
    # A member's own loan, once disbursed, is in his outstanding: count his request only before.
    requested = [r.app.amount for r in rows if r.app.state != State.DISBURSED.value]
    return exposure(requested, [r.outstanding for r in rows], rules.exposure_limit)


def _group_events(user: User, group: LiabilityGroup, members: list[Application], step: GroupStep) -> list[Event]:
    """The group decisions this user may take now: those every member at the step allows him."""
    if step.state is None or group.state in ("forming", "dissolved"):
        return []
    actor = app_service.actor_for(user)
    allowed: set[Event] | None = None
    for i in step.members:
        mine = set(workflow.allowed_events(members[i].facts(), actor, as_group=True)) & workflow.GROUP_EVENTS
        allowed = mine if allowed is None else allowed & mine
    return [e for e in Event if e in (allowed or set())]


def decide(user: User, key: str | int, event: Event, *, now: datetime, comment: str = "",
           expected_version: int | None = None, ip: str = "") -> int:
    """Take ``event`` for the group: every member waiting at the group's step moves, in one commit.
    Returns how many members moved. Raises GroupRefused, GroupMemberRefused, app_service.Conflict
    or scope.OutOfScope; nothing is written on a refusal."""
    group = scope.group(user, key)
    if expected_version is not None and group.version != expected_version:
        raise GroupRefused("group_changed", N_("The group was changed meanwhile; reload its page and decide again."))
    if event not in workflow.GROUP_EVENTS:
        raise GroupRefused("group_event", N_("This decision is not taken for a group."))
    if group.state == "dissolved":
        raise GroupRefused("group_dissolved", N_("The group %(group)s is dissolved: its members are decided one by one."),
                           group=group.name)
    members = members_of(group)
    if group.state == "forming":
        raise GroupRefused("group_forming",
                           N_("Not every member's application has arrived yet (%(arrived)s of %(expected)s)."),
                           arrived=len(members), expected=group.expected_size)
    step = group_step([a.state for a in members])
    if step.state is None:
        message, params = step.why or (N_("Every remaining member has passed: the group is approved."), {})
        raise GroupRefused("group_not_ready", message, **params)
    rules = rules_of(group)
    remaining = [a for a in members if a.state not in _ENDED]
    is_pass = event not in workflow.RETURN_EVENTS
    if is_pass and len(remaining) < rules.min_size:
        raise GroupRefused(
            "group_too_small",
            N_("Only %(count)s members remain in the group, fewer than %(min)s: it cannot pass as a group. Dissolve "
               "it and decide the members one by one, or return it to the officer."),
            count=len(remaining), min=rules.min_size)
    if event == Event.L1_PASS:
        loans = _active_loans(a.borrower_id for a in remaining)
        exp = exposure([a.amount for a in remaining], [loans.get(a.borrower_id, (Decimal("0"), 0))[0] for a in remaining],
                       rules.exposure_limit)
        if exp.over:
            raise GroupRefused(
                "group_exposure",
                N_("The group's exposure ¥%(total)s (requested ¥%(requested)s, owed on loans ¥%(outstanding)s) is over "
                   "its limit ¥%(limit)s: return the group to lower the amounts, or reject a member."),
                total=format_money(exp.total), requested=format_money(exp.requested),
                outstanding=format_money(exp.outstanding), limit=format_money(exp.limit or Decimal("0")))
    actor = app_service.actor_for(user)
    moved = [members[i] for i in step.members]
    try:
        for a in moved:
            name = a.borrower.name
            try:
                app_service.step(a, event, actor, user.id, now, comment, ip, as_group=True)
            except workflow.TransitionRefused as refused:
                db.session.rollback()
                raise GroupMemberRefused(name, refused.refusal) from None
        states = [a.state for a in members]
        after = group_step(states)
        if event in workflow.RETURN_EVENTS and any(s == State.RETURNED.value for s in states):
            group.state = "returned"
        elif after.done:
            group.state = "approved"
        else:
            group.state = "in_review"
        flag_modified(group, "state")  # the group's version moves with every decision: two at once conflict
        audit.record("group_" + event.value, actor_id=user.id, object_type="liability_group", object_id=group.id,
                     ip=ip, members=[a.id for a in moved], from_state=step.state, group_state=group.state,
                     comment=comment.strip())
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise GroupRefused("group_changed",
                           N_("The group was changed meanwhile; reload its page and decide again.")) from None
    return len(moved)


# --- dissolving a group ------------------------------------------------------------------------


def may_dissolve(user: User, group: LiabilityGroup) -> bool:
    """Who may dissolve a group (``scope.ACTIONS["dissolve_group"]``): a director, only a group of an
    office he directs (his office and those under it), and the first-level reviewer at headquarters
    (every office's). The group itself is reached with ``scope.group`` before this is asked."""
    if not scope.can(user, "dissolve_group"):
        return False
    roles = set(user.roles) & set(scope.ACTIONS["dissolve_group"])
    if roles & HQ_ROLES:
        return True
    return "director" in roles and group.office_id in scope.director_offices(user)


def dissolve(user: User, key: str | int, reason: str, *, expected_version: int | None = None,
             ip: str = "") -> LiabilityGroup:
    """Dissolve the group: it binds its members no more, each is decided on its own page from now on
    (``Application.facts`` gives a dissolved group's member no group) and may join another group. The
    members' applications stay where they are. Audited ``group_dissolved`` with the reason and the
    members; one commit. Raises GroupRefused (not his to dissolve, approved, dissolved already, no
    reason, changed meanwhile) or scope.OutOfScope; nothing is written on a refusal."""
    group = scope.group(user, key)
    if not may_dissolve(user, group):
        raise GroupRefused("group_dissolve_denied",
                           N_("Only the director of the group's office or a first-level reviewer may dissolve a group."))
    if expected_version is not None and group.version != expected_version:
        raise GroupRefused("group_changed", N_("The group was changed meanwhile; reload its page and decide again."))
    refusal = dissolve_refusal(group.name, group.state, reason)
    if refusal is not None:
        code, message, params = refusal
        raise GroupRefused(code, message, **params)
    members = members_of(group)
    from_state = group.state
    group.state = "dissolved"
    audit.record("group_dissolved", actor_id=user.id, object_type="liability_group", object_id=group.id, ip=ip,
                 reason=reason.strip(), from_state=from_state,
                 members=[{"application": a.id, "name": a.borrower.name, "state": a.state} for a in members])
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise GroupRefused("group_changed",
                           N_("The group was changed meanwhile; reload its page and decide again.")) from None
    return group


def refuse_disbursement_before_approval(app: Application) -> None:
    """A member of a binding group is disbursed once the group is approved (``applications.step``
    asks the same domain rule at every disbursement)."""
    group = app.group
    held = None if group is None else disbursement_refusal(group.name, group.state)
    if held is not None:
        raise workflow.TransitionRefused(workflow.Refusal("group", held[0], held[1]))


# --- the phone engineer's look-up, the borrower page -----------------------------------------


def active_groups_of_borrowers(borrower_ids: Iterable[int], *, except_group: int | None = None) -> dict[int, tuple[str, str]]:
    """borrower id → (uuid, name) of an active group he belongs to: not dissolved, his own application in it
    neither rejected nor withdrawn, and not yet repaid (no closed loan)."""
    ids = sorted(set(borrower_ids))
    if not ids:
        return {}
    query = (select(Application.borrower_id, LiabilityGroup.uuid, LiabilityGroup.name)
             .join(LiabilityGroup, LiabilityGroup.id == Application.group_id)
             .outerjoin(Loan, Loan.application_id == Application.id)
             .where(Application.borrower_id.in_(ids), LiabilityGroup.state != "dissolved",
                    Application.state.not_in(_ENDED),
                    (Loan.id.is_(None)) | (Loan.status == "active")))
    if except_group is not None:
        query = query.where(LiabilityGroup.id != except_group)
    return {b: (u, n) for b, u, n in db.session.execute(query.order_by(Application.id)).all()}


@dataclass(frozen=True)
class BorrowerGroup:
    group: LiabilityGroup
    state_label: str
    members: list[tuple[str, str, int]]  # (name, application state, days past due now)
    late: bool


def of_borrower(user: User, applications: list[Application]) -> list[BorrowerGroup]:
    """The groups the borrower's applications (those in the user's reach) belong to."""
    group_ids = sorted({a.group_id for a in applications if a.group_id is not None})
    if not group_ids:
        return []
    out: list[BorrowerGroup] = []
    for group in db.session.scalars(scope.scoped(user, LiabilityGroup).where(LiabilityGroup.id.in_(group_ids))
                                    .order_by(LiabilityGroup.id.desc())):
        members = members_of(group)
        loans = _active_loans(a.borrower_id for a in members)
        rows = [(a.borrower.name, a.state, loans.get(a.borrower_id, (0, 0))[1]) for a in members]
        out.append(BorrowerGroup(group, STATE_LABELS.get(group.state, group.state), rows,
                                 any(dpd > 0 for _, _, dpd in rows)))
    return out


# --- the daily job: a late member's group is told ----------------------------------------------


def late_step(day: date, *, now: datetime, sms_sign: str | None) -> dict:
    """For every active loan of a group member that is past due, a ``group_late`` task on each
    other member's active loan for its officer, and (``sms_sign`` not None: reminders are on) an
    SMS to each of those members. Idempotent: a loan that already has an open ``group_late`` task
    gets none, and its member no second text. No commit (the daily job's transaction).

    Driven from the group members only — their applications by the ``group_id`` index, their loans
    by ``application_id``, their open tasks by ``loan_id``, in chunks — never a join over the whole
    book: a first version joined loans to loans through the groups and let SQLite start from every
    late loan of the book (168 s on 10,000 loans in bench/daily_job.py, against milliseconds now)."""
    db.session.flush()
    members = db.session.execute(
        select(Application.id, Application.group_id).where(Application.group_id.is_not(None))).all()
    if not members:
        return {"tasks": 0, "sms": 0}
    group_of = {app_id: group_id for app_id, group_id in members}
    loans: list[tuple[int, int, int, int, int]] = []  # (loan, group, officer, borrower, days past due)
    for chunk in _chunks(sorted(group_of)):
        # The status is tested here, not in SQL: given it, SQLite would read every active loan by
        # the status index instead of these few by their application's unique index.
        loans += [(loan_id, group_of[app_id], officer_id, borrower_id, dpd)
                  for loan_id, app_id, officer_id, borrower_id, dpd, status
                  in db.session.execute(select(Loan.id, Loan.application_id, Loan.officer_id, Loan.borrower_id,
                                               Loan.days_past_due, Loan.status)
                                        .where(Loan.application_id.in_(chunk))).all() if status == "active"]
    late_by_group: dict[int, list[tuple[int, int]]] = {}  # group -> [(late loan, its borrower)]
    for loan_id, group_id, _o, borrower_id, dpd in loans:
        if dpd > 0:
            late_by_group.setdefault(group_id, []).append((loan_id, borrower_id))
    candidates = [(loan_id, group_id, officer_id, borrower_id, min(b for lid, b in late_by_group[group_id] if lid != loan_id))
                  for loan_id, group_id, officer_id, borrower_id, _d in loans
                  if any(lid != loan_id for lid, _b in late_by_group.get(group_id, ()))]
    if not candidates:
        return {"tasks": 0, "sms": 0}
    already: set[int] = set()
    for chunk in _chunks(sorted(c[0] for c in candidates)):
        already |= {loan_id for loan_id, kind, status in db.session.execute(
            select(FollowUpTask.loan_id, FollowUpTask.kind, FollowUpTask.status).where(FollowUpTask.loan_id.in_(chunk)))
            if kind == KIND_GROUP_LATE and status == "open"}  # by the loan_id index (see above)
    rows = sorted(c for c in candidates if c[0] not in already)
    if not rows:
        return {"tasks": 0, "sms": 0}
    db.session.execute(insert(FollowUpTask), [
        {"uuid": str(uuid_mod.uuid4()), "loan_id": loan_id, "officer_id": officer_id, "kind": KIND_GROUP_LATE,
         "due_date": day, "installment_seq": None, "status": "open", "outcome": {}, "flags": [], "created_at": now}
        for loan_id, _g, officer_id, _b, _late in rows])
    texts = 0
    if sms_sign is not None:
        from app.sms.templates import group_late_text

        people = {}
        for chunk in _chunks(sorted({r[3] for r in rows} | {r[4] for r in rows})):
            people |= {b.id: b for b in db.session.execute(
                select(Borrower.id, Borrower.name, Borrower.phone, Borrower.sms_opt_out).where(Borrower.id.in_(chunk)))}
        names: dict[int, str] = {}
        for chunk in _chunks(sorted({r[1] for r in rows})):
            names |= dict(db.session.execute(select(LiabilityGroup.id, LiabilityGroup.name)
                                             .where(LiabilityGroup.id.in_(chunk))).tuples().all())
        messages = []
        for _loan, group_id, _officer, borrower_id, late_id in rows:
            member = people[borrower_id]
            if member.sms_opt_out:
                continue
            try:
                phone = normalise_mobile(member.phone or "")
            except PhoneError:
                continue
            messages.append({
                "borrower_id": borrower_id, "installment_id": None, "kind": KIND_GROUP_LATE, "for_date": day,
                "phone": phone, "status": "pending", "attempts": 0, "last_error": "", "created_at": now,
                "body": group_late_text(sign=sms_sign, name=member.name, group=names.get(group_id, ""),
                                        late=people[late_id].name),
            })
        if messages:
            db.session.execute(insert(SmsMessage), messages)
        texts = len(messages)
    return {"tasks": len(rows), "sms": texts}


def _chunks(ids: list[int], size: int = 500):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


# --- demo ----------------------------------------------------------------------------------------

DEMO_GROUP = "新华村第一联保小组"


def seed_demo(users: dict[str, User], now: datetime, add_photos=None) -> LiabilityGroup:
    """One group of three households of 城关镇新华村 on the joint-liability product (LBD), its
    members' photos in and waiting for the director of 城关办事处 (``flask demo load``)."""
    from datetime import date as date_

    from app.domain import idcard
    from app.domain.groups import MemberFacts, check_members
    from app.models import Product

    product = db.session.scalar(select(Product).where(Product.code == "LBD"))
    officer = users["officer2"]
    village = "城关镇新华村"
    group = LiabilityGroup(name=DEMO_GROUP, village=village, office_id=officer.office_id, officer_id=officer.id,
                           product_id=product.id, expected_size=3, state="in_review", relatives=[])
    db.session.add(group)
    plan = (("陈大山", date_(1979, 4, 2), 141, "20000", "购买化肥农药"),
            ("林秀英", date_(1983, 6, 18), 262, "15000", "养殖山羊"),
            ("黄志强", date_(1986, 10, 5), 383, "25000", "购买小型农机"))
    apps = []
    for i, (name, birth, serial, amount, purpose) in enumerate(plan):
        first17 = f"513401{birth:%Y%m%d}{serial:03d}"  # as demo.demo_id_number makes them
        info = idcard.parse(first17 + idcard.check_digit(first17), birth.replace(year=birth.year + 40))
        borrower = Borrower(name=name, id_number=info.number, sex=info.sex, birth_date=info.birth_date,
                            phone=f"1390813{i:04d}", village=village, address=f"{village}{i + 5}组",
                            household_key=f"{village}-g{i}", office_id=officer.office_id, officer_id=officer.id)
        app = Application(borrower=borrower, product=product, officer_id=officer.id, office_id=officer.office_id,
                          amount=Decimal(amount), term_months=10, purpose=purpose, state=State.UPLOADING.value,
                          home_lat=30.672 + i * 0.002, home_lon=104.101 + i * 0.002, home_gps_accuracy_m=10,
                          captured_at=now - timedelta_hours(30 - i), created_at=now - timedelta_hours(30 - i),
                          group=group)
        db.session.add(app)
        apps.append(app)
    db.session.flush()
    problems = check_members(rules_of(group), [MemberFacts(a.uuid, a.borrower.name, a.borrower.household_key,
                                                           a.borrower.village) for a in apps], [])
    assert not problems, problems
    if add_photos is not None:
        for a in apps:
            add_photos(a)
    from app.services import surveys

    surveys.seed_demo()  # their household surveys (plausible answers) and scores, as the others'
    db.session.commit()
    for i, a in enumerate(apps):
        app_service.system_act(a.id, Event.PHOTOS_COMPLETE, now=now - timedelta_hours(20 - i))
    return group


def timedelta_hours(n: int):
    from datetime import timedelta

    return timedelta(hours=n)
