"""The audit log: every state change, login and administrative act."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")


# What an identity view showed; ``IdentityView.what`` holds one or more, comma-separated.
VIEW_KINDS = ("borrower_page", "application", "entry", "id_number", "id_photo", "photo", "contract")


class IdentityView(db.Model):
    """One view of a borrower's identity data: who, whose, what, which object, when, from where.

    Written by ``app.services.identity_access.record_view``; one row per page or file shown.
    """

    __tablename__ = "identity_views"
    __table_args__ = (Index("ix_identity_views_borrower_id_at", "borrower_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    what: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(20), default="")
    object_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(String(45), default="")
