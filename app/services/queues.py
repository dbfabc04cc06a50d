""""My queue": what waits for each role, through the scoping helper."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.domain.i18n import N_
from app.domain.workflow import State
from app.extensions import db
from app.models import Application, User
from app.services.scope import own_clause, scoped


@dataclass(frozen=True)
class QueueSpec:
    key: str
    role: str
    title: str  # N_-marked, translated by the template
    states: tuple[str, ...]


QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec("returned", "officer", N_("Returned to me for more material"), (State.RETURNED.value,)),
    QueueSpec(
        "mine_in_progress",
        "officer",
        N_("My applications in progress"),
        tuple(
            s.value
            for s in State
            if s not in (State.RETURNED, State.DISBURSED, State.REJECTED, State.WITHDRAWN)
        ),
    ),
    QueueSpec(
        "director",
        "director",
        N_("Waiting for my preliminary review"),
        (State.AWAITING_DIRECTOR.value, State.UPLOADING.value),
    ),
    QueueSpec("entry", "clerk", N_("Waiting for data entry"), (State.AWAITING_ENTRY.value,)),
    QueueSpec("l1", "reviewer1", N_("Waiting for first-level review"), (State.AWAITING_L1.value,)),
    QueueSpec("l2", "reviewer2", N_("Waiting for second-level review"), (State.AWAITING_L2.value,)),
    QueueSpec(
        "special", "special_reviewer", N_("Waiting for special review"), (State.AWAITING_SPECIAL.value,)
    ),
    QueueSpec(
        "disbursement", "cashier", N_("Waiting for disbursement"), (State.AWAITING_DISBURSEMENT.value,)
    ),
)


@dataclass(frozen=True)
class Queue:
    spec: QueueSpec
    items: list[Application]
    total: int


def queues_for(user: User, limit: int = 50) -> list[Queue]:
    result = []
    for spec in QUEUES:
        if not user.has_role(spec.role):
            continue
        base = scoped(user, Application).where(Application.state.in_(spec.states))
        if spec.role == "officer":
            base = base.where(own_clause(user, Application))
        total = db.session.scalar(select(func.count()).select_from(base.subquery()))
        items = db.session.scalars(
            base.options(selectinload(Application.borrower), selectinload(Application.product))
            # Oldest first: work is done in the order it arrived.
            .order_by(Application.updated_at, Application.id)
            .limit(limit)
        ).all()
        result.append(Queue(spec, list(items), total or 0))
    return result


def waiting_total(user: User) -> int:
    """How many applications wait for this user across his queues (the badge in the menu)."""
    total = 0
    for spec in QUEUES:
        if not user.has_role(spec.role) or spec.key == "mine_in_progress":
            continue
        base = scoped(user, Application).where(Application.state.in_(spec.states))
        if spec.role == "officer":
            base = base.where(own_clause(user, Application))
        total += db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return total
