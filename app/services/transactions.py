"""The unit of work as the web and API edges see it: they never touch the database session
themselves (tests/unit/test_layering.py), they ask here.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db


def ping() -> None:
    """One round trip to the database (the health check): raises if it cannot be reached."""
    db.session.execute(select(1))


def rollback() -> None:
    """Abandon whatever the failed request left unwritten in the session."""
    db.session.rollback()


def reload(obj: object) -> None:
    """Read a record again from the database (after a service committed or refused a change)."""
    db.session.refresh(obj)
