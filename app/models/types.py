"""Column types shared by the models.

Money is stored as integer fen: SQLite has no decimal type and SQLAlchemy's
Numeric there round-trips through float. Times are stored as naive UTC and
come back timezone-aware, because SQLite drops tzinfo.
"""
from __future__ import annotations

import uuid as uuid_mod
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.types import TypeDecorator

from app import clock
from app.domain.money import from_fen, to_fen, to_money


class Money(TypeDecorator):
    """Decimal yuan in Python, integer fen in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return to_fen(to_money(value))

    def process_result_value(self, value, dialect):
        return None if value is None else from_fen(int(value))


class Rate(TypeDecorator):
    """An annual rate such as Decimal('0.0865'), stored as integer millionths."""

    impl = Integer
    cache_ok = True
    SCALE = Decimal(1_000_000)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("rates must be Decimal, not float")
        scaled = Decimal(value) * self.SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"rate {value} has more than 6 decimal places")
        return int(scaled)

    def process_result_value(self, value, dialect):
        return None if value is None else (Decimal(int(value)) / self.SCALE).normalize()


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        # MySQL DATETIME keeps microseconds only when declared with fsp; drop them everywhere.
        return value.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return clock.now().replace(microsecond=0)


def new_uuid() -> str:
    return str(uuid_mod.uuid4())


UUID_LEN = 36
UUIDStr = String(UUID_LEN)
