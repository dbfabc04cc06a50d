"""The officer's Android app as published for the phones (app/services/android_releases.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class AndroidRelease(db.Model):
    """One published APK. The newest (highest version_code) is the one phones install; its
    min_version_code is the oldest app that may still sync (426 app_outdated below it)."""

    __tablename__ = "android_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_code: Mapped[int] = mapped_column(unique=True)
    version_name: Mapped[str] = mapped_column(String(50))
    package: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    # One file per release: the key is made from the hash, so two rows never share a file.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_key: Mapped[str] = mapped_column(String(100))
    min_version_code: Mapped[int] = mapped_column(default=0)
    min_sdk: Mapped[int | None]
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_via: Mapped[str] = mapped_column(String(20), default="cli")
