"""SMS repayment reminders (还款提醒) through an outbox: ``enqueue_reminders`` fills it, ``send_due``
drains it.

Why an outbox. A reminder row is written inside the caller's transaction and nothing is sent
there; ``send_due`` runs later, on its own connection, and only ever sees committed rows. So a
message goes out only after the transaction that created it has committed — never for work that
was then rolled back.

Idempotent. ``sms_messages`` is unique on (installment, kind, for_date): the query only proposes
reminders that do not exist yet, and the insert ignores a duplicate that a concurrent run committed
in between (``INSERT OR IGNORE`` on SQLite, ``INSERT IGNORE`` on MySQL/MariaDB).

At most once. ``send_due`` claims one message at a time with
``UPDATE … SET status='sending' WHERE id=? AND status='pending'`` and commits; only the process
whose UPDATE changed the row (rowcount 1) sends it, so two hosts running the job at once never
send the same message. The result (sent / retry later / failed) is committed right after each
send. A process that dies between claim and result leaves the row in ``sending``; once its lease
(``next_attempt_at``) has run out the row is marked failed, not retried: it may have gone out.

Statuses: pending → sending → sent | pending (retry after a backoff) | failed; a pending reminder
whose installment has been paid, or whose loan is no longer active, becomes ``cancelled``; one
not sent by the end of its day (Beijing time) becomes ``expired`` — "due today" is false tomorrow.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, insert, or_, select, update

from app import metrics
from app.clock import business_today
from app.domain.phone import PhoneError, normalise_mobile
from app.extensions import db
from app.models import Borrower, Installment, Loan, SmsMessage
from app.models.types import utcnow
from app.sms.gateways import SendResult, SmsGateway, parse_days
from app.sms.templates import KIND_BEFORE, KIND_DUE, overdue_kind, reminder_text

__all__ = [
    "BACKOFF",
    "SENDING_LEASE",
    "ReminderRun",
    "backoff_after",
    "enqueue_reminders",
    "enqueue_reminders_report",
    "send_due",
]

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
CANCELLED, EXPIRED = "cancelled", "expired"
# Wait before attempt n+1 after n retryable failures; the last step repeats.
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6),
)
# How long a claimed message may stay "sending" before it counts as interrupted.
SENDING_LEASE = timedelta(minutes=10)
ERROR_LEN = 200  # SmsMessage.last_error


@dataclass(frozen=True)
class ReminderRun:
    created: int
    skipped_opted_out: int
    skipped_bad_phone: int

    @property
    def skipped(self) -> int:
        return self.skipped_opted_out + self.skipped_bad_phone


def enqueue_reminders(
    on: date, *, days_before: int, overdue_days: Iterable[int] | str, sign: str
) -> int:
    """Queue the reminders for local date ``on``; returns how many were created. Does not commit."""
    return enqueue_reminders_report(on, days_before=days_before, overdue_days=overdue_days, sign=sign).created


def enqueue_reminders_report(
    on: date, *, days_before: int, overdue_days: Iterable[int] | str, sign: str
) -> ReminderRun:
    """Queue, in the caller's transaction (not committed here), one reminder per unpaid
    installment of an active loan that is due in exactly ``days_before`` days ("before"), due on
    ``on`` ("due") or overdue by exactly d days for d in ``overdue_days`` ("overdue_<d>").

    Borrowers who opted out, or whose phone is not a valid mobile number, are skipped and counted.
    One query reads every candidate that has no message yet; one bulk INSERT writes them.
    """
    if days_before < 1:
        raise ValueError("days_before must be at least 1: the due day has its own reminder")
    kinds: dict[date, str] = {on + timedelta(days=days_before): KIND_BEFORE, on: KIND_DUE}
    for days in parse_days(overdue_days if isinstance(overdue_days, str) else tuple(overdue_days)):
        kinds[on - timedelta(days=days)] = overdue_kind(days)

    kind = case(kinds, value=Installment.due_date)
    already_queued = exists().where(
        SmsMessage.installment_id == Installment.id, SmsMessage.kind == kind, SmsMessage.for_date == on
    )
    candidates = db.session.execute(
        select(
            Installment.id, Installment.seq, Installment.due_date,
            Installment.principal_due, Installment.interest_due,
            Installment.principal_paid, Installment.interest_paid,
            Borrower.id, Borrower.name, Borrower.phone, Borrower.sms_opt_out,
        )
        .join(Loan, Loan.id == Installment.loan_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .where(
            Loan.status == "active",
            Installment.due_date.in_(list(kinds)),
            Installment.paid_off_on.is_(None),
            Installment.principal_paid + Installment.interest_paid
            < Installment.principal_due + Installment.interest_due,
            ~already_queued,
        )
        .order_by(Installment.id)
    ).all()

    rows: list[dict] = []
    opted_out = bad_phone = 0
    created_at = utcnow()
    for (installment_id, seq, due_date, principal_due, interest_due, principal_paid, interest_paid,
         borrower_id, name, raw_phone, sms_opt_out) in candidates:
        if sms_opt_out:
            opted_out += 1
            log.debug("SMS reminder skipped: borrower %s opted out (installment %s)", borrower_id, installment_id)
            continue
        try:
            phone = normalise_mobile(raw_phone or "")
        except PhoneError:
            bad_phone += 1
            log.warning("SMS reminder skipped: borrower %s has no valid mobile number (installment %s)",
                        borrower_id, installment_id)
            continue
        remaining: Decimal = principal_due + interest_due - principal_paid - interest_paid
        kind_of_row = kinds[due_date]
        rows.append({
            "borrower_id": borrower_id,
            "installment_id": installment_id,
            "kind": kind_of_row,
            "for_date": on,
            "phone": phone,
            "body": reminder_text(kind_of_row, sign=sign, name=name, seq=seq, amount=remaining,
                                  due_date=due_date, on=on),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": None,
            "sent_at": None,
            "last_error": "",
            "created_at": created_at,
        })

    created = 0
    if rows:
        # A run that committed the same reminders since our SELECT: skip them, do not fail.
        statement = (
            insert(SmsMessage.__table__)
            .prefix_with("OR IGNORE", dialect="sqlite")
            .prefix_with("IGNORE", dialect="mysql")
        )
        created = db.session.execute(statement, rows).rowcount
    run = ReminderRun(created=created, skipped_opted_out=opted_out, skipped_bad_phone=bad_phone)
    log.info("SMS reminders for %s: %d queued, %d skipped (%d opted out, %d without a valid mobile)",
             on.isoformat(), run.created, run.skipped, opted_out, bad_phone)
    return run


def backoff_after(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try (1 → 1 min, 2 → 5 min, 3 → 30 min, 4 → 2 h …)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def send_due(
    now: datetime, gateway: SmsGateway, *, max_attempts: int, limit: int = 500, stop_after_errors: int = 10
) -> dict[str, int]:
    """Send pending messages that are due (``next_attempt_at`` empty or not after ``now``), oldest
    first, at most ``limit``. Commits each message's status as it goes, on its own connection.

    A retryable failure is tried again after ``backoff_after(attempts)`` until ``max_attempts``
    tries, then failed; a non-retryable one is failed at once. After ``stop_after_errors``
    retryable failures in a row (the gateway is down) the rest wait, untouched, for the next run.
    Returns counts: sent, retrying, failed, cancelled, expired, interrupted (found stuck in
    "sending"), taken (claimed by another process first), not_tried.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    counts = dict.fromkeys(
        ("sent", "retrying", "failed", "cancelled", "expired", "interrupted", "taken", "not_tried"), 0
    )
    today = business_today(now)
    started = time.monotonic()
    t = SmsMessage.__table__
    due_now = or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)

    with db.engine.connect() as conn:
        # A process died after claiming these: they may have gone out, so never again.
        counts["interrupted"] = conn.execute(
            update(t).where(t.c.status == SENDING, t.c.next_attempt_at <= now).values(
                status=FAILED, next_attempt_at=None,
                last_error="interrupted while sending; not retried because it may have been sent",
            )
        ).rowcount
        conn.commit()

        candidates = conn.execute(
            select(
                t.c.id, t.c.for_date, t.c.installment_id, Loan.status,
                Installment.principal_due, Installment.interest_due,
                Installment.principal_paid, Installment.interest_paid, Installment.paid_off_on,
            )
            .select_from(t.outerjoin(Installment, Installment.id == t.c.installment_id)
                         .outerjoin(Loan, Loan.id == Installment.loan_id))
            .where(t.c.status == PENDING, due_now)
            .order_by(t.c.id)
            .limit(limit)
        ).all()
        conn.commit()  # end the read: each claim below sees what other processes committed

        errors_in_a_row = 0
        for index, c in enumerate(candidates):
            if errors_in_a_row >= stop_after_errors:
                counts["not_tried"] = len(candidates) - index
                log.warning("SMS: %d retryable failures in a row, %d messages left for the next run",
                            errors_in_a_row, counts["not_tried"])
                break
            if c.installment_id is not None and (
                c.status != "active" or c.paid_off_on is not None
                or c.principal_paid + c.interest_paid >= c.principal_due + c.interest_due
            ):
                counts["cancelled"] += _settle(conn, c.id, CANCELLED, "installment paid or loan no longer active")
                continue
            if c.for_date < today:
                counts["expired"] += _settle(conn, c.id, EXPIRED, f"not sent on {c.for_date.isoformat()}")
                continue

            lease = now + timedelta(seconds=time.monotonic() - started) + SENDING_LEASE
            claimed = conn.execute(
                update(t).where(t.c.id == c.id, t.c.status == PENDING, due_now)
                .values(status=SENDING, attempts=t.c.attempts + 1, next_attempt_at=lease)
            ).rowcount
            conn.commit()
            if claimed != 1:
                counts["taken"] += 1
                continue
            message = conn.execute(select(t.c.phone, t.c.body, t.c.attempts).where(t.c.id == c.id)).one()
            conn.commit()

            try:
                result = gateway.send(message.phone, message.body, ref=f"ddt-sms-{c.id}")
            except Exception as e:  # noqa: BLE001 — a gateway bug must not leave the row claimed
                log.exception("SMS gateway %s raised on message %s", getattr(gateway, "name", "?"), c.id)
                result = SendResult(ok=False, error=f"{type(e).__name__}: {e}", retryable=False)

            if result.ok:
                values = {"status": SENT, "sent_at": now, "next_attempt_at": None, "last_error": ""}
                outcome = "sent"
                errors_in_a_row = 0
                log.info("SMS %s sent (provider id %s)", c.id, result.provider_id or "-")
            elif result.retryable and message.attempts < max_attempts:
                values = {"status": PENDING, "next_attempt_at": now + backoff_after(message.attempts),
                          "last_error": result.error[:ERROR_LEN]}
                outcome = "retrying"
                errors_in_a_row += 1
                log.info("SMS %s attempt %d failed, retrying: %s", c.id, message.attempts, result.error)
                metrics.sms_send_failures.labels(final="false").inc()
            else:
                values = {"status": FAILED, "next_attempt_at": None, "last_error": result.error[:ERROR_LEN]}
                outcome = "failed"
                errors_in_a_row = errors_in_a_row + 1 if result.retryable else 0
                log.warning("SMS %s failed after %d attempt(s): %s", c.id, message.attempts, result.error)
                metrics.sms_send_failures.labels(final="true").inc()
            recorded = conn.execute(
                update(t).where(t.c.id == c.id, t.c.status == SENDING).values(**values)
            ).rowcount
            conn.commit()
            if recorded != 1:  # our lease ran out and another run marked it interrupted
                log.warning("SMS %s: outcome %s not recorded, the row was no longer ours", c.id, outcome)
            counts[outcome] += 1
    return counts


def _settle(conn, message_id: int, status: str, reason: str) -> int:
    t = SmsMessage.__table__
    changed = conn.execute(
        update(t).where(t.c.id == message_id, t.c.status == PENDING)
        .values(status=status, next_attempt_at=None, last_error=reason[:ERROR_LEN])
    ).rowcount
    conn.commit()
    return 1 if changed == 1 else 0
