"""In-app notifications: the officer and the director hear of every decision on their applications."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, update

from app import clock
from app.domain.dates import business_date_of
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, Notification, User, UserRole

RECENT = 50
# How many of the newest notifications the grouped view reads (an officer had 29 unread, a
# director 54: every decision is one). Grouped, they fit on a phone screen.
GROUPED_RECENT = 200


@dataclass
class NotificationGroup:
    """The notifications of one kind on one business day ("3 applications approved today"), newest first."""

    kind: str
    day: date
    today: bool = False  # the day is the business date today
    items: list[Notification] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def unread(self) -> int:
        return sum(1 for n in self.items if n.read_at is None)

    @property
    def latest(self) -> Notification:
        return self.items[0]


def group(rows: Iterable[Notification], today: date | None = None) -> list[NotificationGroup]:
    """Rows newest first -> groups by (business day, kind), in the order of their newest row."""
    groups: dict[tuple[date, str], NotificationGroup] = {}
    for n in rows:
        day = business_date_of(n.created_at)
        key = (day, n.kind)
        if key not in groups:
            groups[key] = NotificationGroup(kind=n.kind, day=day, today=day == today)
        groups[key].items.append(n)
    return list(groups.values())


def on_transition(app: Application, event: Event, actor_id: int | None, at: datetime) -> None:
    """Queue the notifications of one transition; committed with it, so none without it."""
    # No autoflush while reading: the pending transition must meet its version check at
    # commit, where the caller turns a lost race into a Conflict.
    with db.session.no_autoflush:
        recipients = set(_directors(app.office_id))
        text = f"{app.borrower.name} · {app.product.name} · ¥{app.amount:,.2f}"
    if event is not Event.PHOTOS_COMPLETE:  # the officer sent it; the director has new work
        recipients.add(app.officer_id)
    recipients.discard(actor_id)
    for user_id in sorted(recipients):
        db.session.add(Notification(
            user_id=user_id, kind=event.value, message=text[:300], link=f"/applications/{app.id}", created_at=at,
        ))


def _directors(office_id: int) -> list[int]:
    # No autoflush: the pending transition must meet its version check at commit, not here.
    with db.session.no_autoflush:
        return list(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
            .where(User.office_id == office_id, UserRole.role == "director", User.is_enabled.is_(True))
        ))


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def recent(user: User) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id.desc()).limit(RECENT)
    ))


def grouped(user: User, limit: int = GROUPED_RECENT) -> list[NotificationGroup]:
    """The user's newest notifications, grouped by business day and kind (see ``group``)."""
    return group(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id.desc()).limit(limit)
    ), today=clock.business_today())


def mark_all_read(user: User, now: datetime) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    db.session.commit()
    return result.rowcount
