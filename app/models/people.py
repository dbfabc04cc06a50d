"""Borrowers (农户/借款人)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Computed, Date, Double, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.idcard import mask
from app.extensions import db
from app.models.org import Office, User
from app.models.types import UTCDateTime, UUIDStr, new_uuid, utcnow


class Borrower(db.Model):
    __tablename__ = "borrowers"
    # The search box's keys (app/services/search.py): each kind of query a range or equality on
    # one index. Names and villages match by prefix (a B-tree serves "张%", never "%三%"); the
    # office's and the officer's lists come in name order from their own index.
    __table_args__ = (
        Index("ix_borrowers_name", "name"),
        Index("ix_borrowers_phone", "phone"),
        Index("ix_borrowers_village", "village"),
        Index("ix_borrowers_office_name", "office_id", "name"),
        Index("ix_borrowers_officer_name", "officer_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(50))
    # PRC resident ID number, normalised (upper-case X); one person, one borrower row.
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    # Its last six digits (what a borrower reads out at the counter), kept by the database itself
    # (a virtual generated column: no writer can forget it, the book import's bulk INSERT included).
    id_last6: Mapped[str | None] = mapped_column(String(6), Computed("substr(id_number, 13, 6)", persisted=False),
                                          index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(20), default="")
    village: Mapped[str] = mapped_column(String(100), default="")
    # 乡镇 and 县, as an imported book gives them (village is the 村).
    township: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # Borrowers of one household share a key, for the per-household loan limit.
    household_key: Mapped[str] = mapped_column(String(50), default="", index=True)
    home_lat: Mapped[float | None] = mapped_column(Double)
    home_lon: Mapped[float | None] = mapped_column(Double)
    home_gps_accuracy_m: Mapped[int | None]
    related_party: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    office: Mapped[Office] = relationship()
    officer: Mapped[User] = relationship()

    @property
    def id_number_masked(self) -> str:
        return mask(self.id_number)
