"""The unit of work as the web and API edges see it: they never touch the database session
themselves (tests/unit/test_layering.py), they ask here.
"""
from __future__ import annotations

from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.extensions import db

# The database failing under a request (not the request's fault): a server restarting, a killed or
# dropped connection, a full pool, a lock wait or deadlock given up. The edges answer these 503.
DATABASE_FAULTS = (OperationalError, DisconnectionError, PoolTimeout)


def rollback() -> None:
    """Abandon whatever the failed request left unwritten in the session."""
    db.session.rollback()


def reload(obj: object) -> None:
    """Read a record again from the database (after a service committed or refused a change)."""
    db.session.refresh(obj)
