"""OCR results, one per image content and engine: the same photo is never read twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Double, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class OcrRun(db.Model):
    __tablename__ = "ocr_runs"
    __table_args__ = (UniqueConstraint("sha256", "engine"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(20))
    # pending (asked for), running (claimed by a host's worker), done, failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    lines: Mapped[list] = mapped_column(JSON, default=list)  # [[text, confidence], ...]
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    seconds: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker running it (host:pid:nonce) and until when its claim holds (app/services/ocr.py):
    # a host that dies mid-run is overtaken once the claim has run out.
    claimed_by: Mapped[str] = mapped_column(String(80), default="", server_default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
