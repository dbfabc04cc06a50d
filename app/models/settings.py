"""Settings an administrator changes at run time (with who and when), and the daily job's run lease."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Setting(db.Model):
    """One admin setting (app/services/app_settings.py): absent means the environment's default."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLock(db.Model):
    """Who runs a job right now: claimed by a conditional UPDATE (one winner), released after the
    run; a holder that died is overtaken once ``held_until`` has passed (app/services/jobs.py)."""

    __tablename__ = "job_locks"

    job: Mapped[str] = mapped_column(String(30), primary_key=True)
    held_by: Mapped[str] = mapped_column(String(60), default="")
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
