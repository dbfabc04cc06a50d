"""A joint-liability group (联保小组) formed on the officer's phone, member by member.

The officer starts a group on the phone (name, village, size, declared relatives) and captures each
member's application inside it; every member's manifest carries the group whole (``group`` in the
manifest). The first member's manifest creates the ``LiabilityGroup`` (state ``forming``), each
manifest attaches its application (``Application.group_id``), and when all ``size`` members have
arrived the group goes to ``in_review`` (the group review, app/services/groups.py, takes over).

Everything is checked with the groups' own pure rules (``app.domain.groups.check_members``) on the
members arrived so far plus the new one, before anything is written and inside the manifest's own
transaction: two members of one household, a member already in another active group, members of
different villages, relatives over the limit, a size outside the product's rules — any of these
refuses the manifest whole with the rules' words.

A group returned to its officer takes new members the same way (his phone learns the group from
``/api/v1/returned``): the manifest's ``size`` is then the group's new total — the members that remain
(neither rejected nor withdrawn) plus the new ones — and the rules are checked over the remaining
members and the new ones arrived so far. The first new member sets ``expected_size`` to it and
``members_to_come`` to how many new members follow; each following one counts it down. The group goes
back to review (``applications.step``, ``domain.groups.back_in_review``) only once it is 0 and no
remaining member is with the officer. A resend of a manifest never gets here (the
application exists and is answered as it is), so the same UUIDs give the same answer.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain import groups as rules_mod
from app.domain.i18n import N_
from app.domain.manifest import GroupEntry
from app.extensions import db
from app.models import Application, Borrower, Product, User
from app.models.credit import LiabilityGroup
from app.services import audit
from app.services.errors import ServiceError
from app.services.scope import owns

# The size rule's words (app/domain/groups.check_members): while members are still arriving the
# size is the one the officer declared, checked on its own, not the count arrived so far.
SIZE_PROBLEM = "A group has %(min)s to %(max)s members; this one has %(count)s"
RELATIVES_PROBLEM = "The group has %(count)s pairs of relatives; at most %(max)s allowed"
TWICE_PROBLEM = "%(name)s is in the group twice"
GROUP_REFUSED = N_("The group cannot be formed as captured.")


class GroupCaptureError(ServiceError):
    """The group is refused as captured; the phone shows the reasons on the member's draft."""


def allows_groups(product: Product) -> bool:
    """Whether applications of this product are captured in groups: a product with group rules
    (``credit_rules["group"]``), or the 联保 product of old (its name says so)."""
    return "group" in (product.credit_rules or {}) or "联保" in (product.name or "")


def rules_of(product: Product) -> rules_mod.GroupRules:
    try:
        return rules_mod.GroupRules.from_dict((product.credit_rules or {}).get("group"))
    except rules_mod.GroupRulesError:
        return rules_mod.GroupRules.from_dict(None)  # a broken rule set is the admin's to fix; defaults hold


def _refuse(problems: list[tuple[str, dict]]) -> GroupCaptureError:
    # One field per problem, so the phone lists each one on the member's draft.
    fields = {f"group.{i}": (m, p) for i, (m, p) in enumerate(problems)}
    return GroupCaptureError("group_refused", GROUP_REFUSED, fields=fields)


def _member_facts(application: Application, borrower: Borrower, group_uuid: str) -> rules_mod.MemberFacts:
    other = _active_group_of(borrower.id, exclude=group_uuid) if borrower.id is not None else None
    return rules_mod.MemberFacts(
        application_uuid=application.uuid, borrower_name=borrower.name,
        household_key=(borrower.household_key or "").strip() or None, village=(borrower.village or "").strip(),
        active_group_uuid=other.uuid if other else None, active_group_name=other.name if other else "",
    )


def _active_group_of(borrower_id: int, *, exclude: str) -> LiabilityGroup | None:
    return db.session.scalar(
        select(LiabilityGroup).join(Application, Application.group_id == LiabilityGroup.id)
        .where(Application.borrower_id == borrower_id, LiabilityGroup.state.in_(rules_mod.ACTIVE_STATES),
               LiabilityGroup.uuid != exclude)
        .limit(1))


def attach(application: Application, borrower: Borrower, entry: GroupEntry, officer: User, *,
           now: datetime, ip: str = "", device: str = "") -> LiabilityGroup:
    """Join ``application`` (flushed, not committed) to the group ``entry`` names, creating it with
    the first member. Raises GroupCaptureError with every problem; the caller rolls back."""
    product = db.session.get(Product, application.product_id)
    if product is None or not allows_groups(product):
        raise GroupCaptureError("group_refused", N_("This loan type is not lent to groups."))
    rules = rules_of(product)
    problems: list[tuple[str, dict]] = []
    if not rules.min_size <= entry.size <= rules.max_size:
        problems.append((SIZE_PROBLEM, {"min": rules.min_size, "max": rules.max_size, "count": entry.size}))
    pairs = rules_mod.normalise_pairs(entry.relatives)
    if len(pairs) > rules.max_relative_pairs:
        problems.append((RELATIVES_PROBLEM, {"count": len(pairs), "max": rules.max_relative_pairs}))

    # Locked: two new members of one returned group arriving at once count down one after the other.
    group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.uuid == entry.uuid)
                              .with_for_update().execution_options(populate_existing=True))
    adding = group is not None and group.state == "returned"  # new members for a returned group
    first_added = adding and group.members_to_come == 0
    if group is not None:
        if not owns(officer, group):  # type: ignore[arg-type]
            raise GroupCaptureError("group_refused", N_("This group belongs to another loan officer."))
        if group.product_id != application.product_id:
            problems.append((N_("The members of a group borrow under one loan type (%(product)s)."),
                             {"product": group.product.name}))
        if group.state not in ("forming", "returned"):
            problems.append((N_("The group %(name)s is complete; no member can join it now."), {"name": group.name}))
        # The first new member of a returned group announces the new size; the others carry it too.
        size_differs = group.expected_size != entry.size and not first_added
        if size_differs or sorted(map(list, rules_mod.normalise_pairs(group.relatives))) != sorted(map(list, pairs)):
            problems.append((N_("The group %(name)s was sent with other details (size or relatives); capture it again."),
                             {"name": group.name}))
        arrived = list(db.session.scalars(select(Application).where(Application.group_id == group.id)))
        if adding:  # the rules hold over the members that remain and the new ones
            arrived = [a for a in arrived if a.state not in rules_mod.ENDED]
    else:
        arrived = []
    if any(a.borrower_id == borrower.id and a.id != application.id for a in arrived):
        # The same person by a second application: the groups rules' own words for a member twice.
        problems.append((TWICE_PROBLEM, {"name": borrower.name}))
    members = [_member_facts(a, a.borrower, entry.uuid) for a in arrived if a.id != application.id]
    members.append(_member_facts(application, borrower, entry.uuid))
    uuids = {m.application_uuid for m in members}
    arrived_pairs = [p for p in pairs if p[0] in uuids and p[1] in uuids]
    for message, params in rules_mod.check_members(rules, members, arrived_pairs, group_uuid=entry.uuid):
        if message == SIZE_PROBLEM:
            continue  # members still arriving: the declared size was checked above, the count below
        problems.append((message, params))
    if len(members) > entry.size:
        problems.append((N_("The group %(name)s already has its %(size)s members."),
                         {"name": entry.name, "size": entry.size}))
    if problems:
        raise _refuse(problems)

    if group is None:
        group = LiabilityGroup(
            uuid=entry.uuid, name=entry.name, village=entry.village, office_id=application.office_id,
            officer_id=officer.id, product_id=application.product_id, expected_size=entry.size,
            state="forming", relatives=[list(p) for p in pairs], created_at=now,
        )
        db.session.add(group)
        db.session.flush()
        audit.record("group_formed", actor_id=officer.id, object_type="liability_group", object_id=group.id,
                     ip=ip, device=device, size=entry.size, name=entry.name)
    application.group_id = group.id
    if adding:
        if first_added:  # the new size, and how many new members follow this one
            before = group.expected_size
            group.expected_size = entry.size
            group.members_to_come = entry.size - len(members)
            audit.record("group_members_announced", actor_id=officer.id, object_type="liability_group",
                         object_id=group.id, ip=ip, device=device, size_before=before, size=entry.size,
                         new_members=entry.size - len(members) + 1)
        else:
            group.members_to_come -= 1
        audit.record("group_member_joined", actor_id=officer.id, object_type="liability_group", object_id=group.id,
                     ip=ip, device=device, application=application.uuid, returned_group=True,
                     members_to_come=group.members_to_come)
        return group
    audit.record("group_member_joined", actor_id=officer.id, object_type="liability_group", object_id=group.id,
                 ip=ip, device=device, application=application.uuid)
    if len(members) == group.expected_size:
        group.state = "in_review"
        audit.record("group_complete", actor_id=officer.id, object_type="liability_group", object_id=group.id,
                     ip=ip, device=device, members=len(members))
    return group


def phone_rules(product: Product) -> dict | None:
    """What the phone checks offline before a group is finished (None: no groups for this product)."""
    if not allows_groups(product):
        return None
    rules = rules_of(product)
    return {"min_size": rules.min_size, "max_size": rules.max_size, "max_relative_pairs": rules.max_relative_pairs}
