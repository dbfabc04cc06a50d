"""The one place that decides which borrowers, applications and loans a user may see.

Every query for those goes through ``scoped()`` or ``get_scoped()``: an officer sees
his own, a director his office's, headquarters roles all of them.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import Application, Borrower, Loan, User

Scoped = TypeVar("Scoped", Application, Borrower, Loan)


class OutOfScope(LookupError):
    """Raised for an object that does not exist or that the user may not see (same answer)."""


def scope_clause(user: User, model: type[Scoped]) -> ColumnElement[bool]:
    if user.is_hq:
        return true()
    conditions = []
    if user.has_role("director"):
        conditions.append(model.office_id == user.office_id)
    if user.has_role("officer"):
        conditions.append(model.officer_id == user.id)
    return or_(*conditions) if conditions else false()


def scoped(user: User, model: type[Scoped]) -> Select:
    return select(model).where(scope_clause(user, model))


def get_scoped(user: User, model: type[Scoped], object_id: int) -> Scoped:
    obj = db.session.scalar(scoped(user, model).where(model.id == object_id))
    if obj is None:
        raise OutOfScope(model.__name__, object_id)
    return obj
