"""Post-loan work (贷后管理): follow-up tasks and officers' GPS trail."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.loans import Loan
from app.models.org import User
from app.models.types import UTCDateTime, UUIDStr, new_uuid, utcnow


class FollowUpTask(db.Model):
    __tablename__ = "follow_up_tasks"
    # The daily job may run twice for a day: one task per loan, kind and due date.
    __table_args__ = (UniqueConstraint("loan_id", "kind", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # revisit, pre_due, collection, escalation
    due_date: Mapped[date] = mapped_column(Date)
    installment_seq: Mapped[int | None]  # the installment a pre-due or collection task is about
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    outcome: Mapped[dict] = mapped_column(JSON, default=dict)
    visit_lat: Mapped[float | None] = mapped_column(Double)
    visit_lon: Mapped[float | None] = mapped_column(Double)
    visit_accuracy_m: Mapped[int | None]
    distance_m: Mapped[int | None]
    on_site: Mapped[bool | None] = mapped_column(Boolean)
    # Why a visit was not counted as on site: far, poor_accuracy, mock_location, no_home_gps, no_gps.
    flags: Mapped[list] = mapped_column(JSON, default=list)
    # The phone's id for the report: a resend is recognised, never applied twice.
    report_uuid: Mapped[str | None] = mapped_column(UUIDStr, unique=True)
    reassigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    loan: Mapped[Loan] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    photos: Mapped[list[TaskPhoto]] = relationship(back_populates="task", order_by="TaskPhoto.id")


class TaskPhoto(db.Model):
    """A photo taken on a visit (small: sent inside the visit report)."""

    __tablename__ = "task_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("follow_up_tasks.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    task: Mapped[FollowUpTask] = relationship(back_populates="photos")


class TrackPoint(db.Model):
    __tablename__ = "track_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    accuracy_m: Mapped[int | None]
    is_mock: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
