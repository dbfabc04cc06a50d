"""The SMS outbox on screen: counts by status (overall and per borrower), the messages, and
sending a failed one again.

Who sees it: the administrator (he runs the gateway; every message, the staff alerts included)
and the roles doing post-loan work (app/services/scope.py TASKS: officers their own borrowers',
directors their office's, the internal auditor every office's), borrowers' messages only, within
their reach. Phone numbers are masked on these screens (app/domain/phone.mask_mobile).

Sending again goes through the outbox's own state machine (app/services/sms.py): a failed message
is put back to ``pending`` by a conditional UPDATE (only from ``failed``, so a double click or two
administrators requeue it once) and the next ``send_due`` run claims and sends it as any other,
under its lease. Only a message of today (business date) is requeued: ``send_due`` expires an
older one, whose text ("due today", "overdue N days") would be out of date anyway.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from app.domain.i18n import N_
from app.domain.phone import mask_mobile
from app.extensions import db
from app.models import Borrower, SmsMessage, User
from app.services import audit, scope
from app.services.sms import CANCELLED, EXPIRED, FAILED, PENDING, SENDING, SENT
from app.services.errors import ServiceError

# What the screen filters by: "queued" is waiting or being sent right now.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "queued": (PENDING, SENDING), "sent": (SENT,), "failed": (FAILED,),
    "cancelled": (CANCELLED,), "expired": (EXPIRED,),
}
STATUS_LABELS = {
    "queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed"),
    "cancelled": N_("cancelled"), "expired": N_("expired"),
}
KIND_LABELS = {"before": N_("before due"), "due": N_("due today"), "staff_escalation": N_("staff alert"),
               "field_receipt": N_("field collection receipt"), "group_late": N_("group member late")}
LIST_LIMIT = 200


class OutboxError(ServiceError, ValueError):
    def __init__(self, message: str, params: dict | None = None) -> None:
        super().__init__("outbox_refused", message, **(params or {}))


def may_see(user: User) -> bool:
    return scope.may(user, scope.ADMIN) or scope.may(user, scope.TASKS)


def may_resend(user: User) -> bool:
    return scope.may(user, scope.ADMIN)


def _reach(user: User) -> ColumnElement[bool]:
    """The messages the user may see (see the module's docstring)."""
    if scope.may(user, scope.ADMIN):
        return SmsMessage.id.is_not(None)
    return SmsMessage.borrower_id.in_(select(Borrower.id).where(scope.scope_clause(user, Borrower)))


def status_of(status: str) -> str:
    """The screen's status group of a stored status (pending and sending are both "queued")."""
    return next((group for group, members in STATUS_FILTERS.items() if status in members), status)


def counts(user: User, borrower_id: int | None = None) -> dict[str, int]:
    """How many messages in each status group, within the user's reach (of one borrower if given)."""
    query = select(SmsMessage.status, func.count()).where(_reach(user)).group_by(SmsMessage.status)
    if borrower_id is not None:
        query = query.where(SmsMessage.borrower_id == borrower_id)
    result = dict.fromkeys(STATUS_FILTERS, 0)
    for status, n in db.session.execute(query):
        result[status_of(status)] = result.get(status_of(status), 0) + n
    return result


@dataclass(frozen=True)
class BorrowerCounts:
    borrower_id: int
    name: str
    queued: int
    sent: int
    failed: int


def per_borrower(user: User, limit: int = 50) -> list[BorrowerCounts]:
    """Queued, sent and failed per borrower, those with failures first; one grouped query."""
    def n(statuses: tuple[str, ...]):
        return func.sum(case((SmsMessage.status.in_(statuses), 1), else_=0))

    failed = n(STATUS_FILTERS["failed"])
    rows = db.session.execute(
        select(Borrower.id, Borrower.name, n(STATUS_FILTERS["queued"]), n(STATUS_FILTERS["sent"]), failed)
        .join(Borrower, Borrower.id == SmsMessage.borrower_id)
        .where(_reach(user))
        .group_by(Borrower.id, Borrower.name)
        .order_by(failed.desc(), Borrower.name, Borrower.id)
        .limit(limit)
    ).all()
    return [BorrowerCounts(r[0], r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows]


@dataclass(frozen=True)
class MessageRow:
    id: int
    borrower_id: int | None
    borrower: str
    kind: str
    for_date: date
    phone: str          # masked
    body: str
    status: str         # the screen's group
    attempts: int
    last_error: str
    sent_at: object
    created_at: object
    resendable: bool


def messages(user: User, *, status: str = "", borrower_id: int | None = None, today: date,
             limit: int = LIST_LIMIT) -> list[MessageRow]:
    """The newest messages within the user's reach, of one status group and/or borrower."""
    query = select(SmsMessage).where(_reach(user)).order_by(SmsMessage.for_date.desc(), SmsMessage.id.desc()).limit(limit)
    if status:
        query = query.where(SmsMessage.status.in_(STATUS_FILTERS[status]))
    if borrower_id is not None:
        query = query.where(SmsMessage.borrower_id == borrower_id)
    rows = db.session.scalars(query).all()
    names = dict(db.session.execute(
        select(Borrower.id, Borrower.name).where(Borrower.id.in_({m.borrower_id for m in rows if m.borrower_id}))
    ).all()) if rows else {}
    resend = may_resend(user)
    return [MessageRow(m.id, m.borrower_id, names.get(m.borrower_id, ""), m.kind, m.for_date, mask_mobile(m.phone),
                       m.body, status_of(m.status), m.attempts, m.last_error, m.sent_at, m.created_at,
                       resend and m.status == FAILED and m.for_date == today)
            for m in rows]


def borrower_in_reach(user: User, borrower_id: int) -> Borrower:
    """The borrower, if the user may see his messages; scope.OutOfScope otherwise."""
    if not may_see(user):
        raise scope.OutOfScope("outbox")
    return scope.get_scoped(user, Borrower, borrower_id)


def resend(user: User, message_id: int, *, today: date, ip: str = "") -> SmsMessage:
    """Put a failed message of today back in the queue (see the module's docstring); audited."""
    if not may_resend(user):
        raise scope.OutOfScope("outbox")
    message = db.session.get(SmsMessage, message_id)
    if message is None:
        raise scope.OutOfScope(SmsMessage.__name__, message_id)
    if message.status != FAILED:
        raise OutboxError(N_("Only a failed message can be sent again."))
    if message.for_date != today:
        raise OutboxError(N_("Only today's messages can be sent again: one of %(day)s would tell an out-of-date "
                             "amount or date. The next reminder goes out on its own day."),
                          {"day": message.for_date.isoformat()})
    previous_error = message.last_error
    requeued = db.session.execute(
        update(SmsMessage).where(SmsMessage.id == message_id, SmsMessage.status == FAILED)
        .values(status=PENDING, next_attempt_at=None, last_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if requeued != 1:  # another administrator requeued it a moment ago
        db.session.rollback()
        raise OutboxError(N_("Only a failed message can be sent again."))
    audit.record("sms.resend", actor_id=user.id, object_type="sms_message", object_id=message_id, ip=ip,
                 borrower_id=message.borrower_id, previous_error=previous_error, attempts=message.attempts)
    db.session.commit()
    return message
