"""The unit of work as the web and API edges see it: they never touch the database session
themselves (tests/unit/test_layering.py), they ask here.
"""
from __future__ import annotations

from app.extensions import db


def rollback() -> None:
    """Abandon whatever the failed request left unwritten in the session."""
    db.session.rollback()


def reload(obj: object) -> None:
    """Read a record again from the database (after a service committed or refused a change)."""
    db.session.refresh(obj)
