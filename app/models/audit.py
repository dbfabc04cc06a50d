"""The audit log: every state change, login and administrative act."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    # The viewer's filters, each ending in id so a page is one range scan newest first (keyset
    # pagination): by person, by object, by action; by date through ``at`` (migration 0014).
    # ix_audit_log_actor_id (from 0001) already ends in the row id on SQLite (rowid) and InnoDB
    # (the primary key is part of every secondary index), so it serves "by person" as it is.
    __table_args__ = (
        Index("ix_audit_log_object_type_object_id_id", "object_type", "object_id", "id"),
        Index("ix_audit_log_object_type_id", "object_type", "id"),  # a type alone, newest first
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")


# What an identity view showed; ``IdentityView.what`` holds one or more, comma-separated.
VIEW_KINDS = ("borrower_page", "application", "entry", "id_number", "id_photo", "photo", "contract", "bureau_report")


class IdentityView(db.Model):
    """One view of a borrower's identity data: who, whose, what, which object, when, from where.

    Written by ``app.services.identity_access.record_view``; one row per page or file shown.
    """

    __tablename__ = "identity_views"
    __table_args__ = (Index("ix_identity_views_borrower_id_at", "borrower_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # the viewer's date filter
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    what: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(20), default="")
    object_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(String(45), default="")
