"""A product's definition kept as numbered versions (the household survey, ``SurveyVersion``; the
scorecard, ``ScorecardVersion``): the rules the two share, in one place.

- ``latest(model, product_id)``: the newest version row, or None.
- ``current(model, product_id, default, action)``: the newest; a product without one gets version 1
  from ``default()`` on the first call, in the caller's transaction (a savepoint, so two first calls
  at once end with one version 1: the second takes the first's), audited ``action`` with
  ``default: true``. NotFound for an unknown product.
- ``every(model, product_id)``: every version, newest first.
- ``write_next(...)``: the version after ``current`` with ``definition``, audited ``action``
  (version before and after, and what the caller adds), committed; a version written meanwhile by
  someone else (the unique product/version pair) rolls back and raises the caller's conflict.
- ``authors(rows)``: who published each version, by user id, for the editors' history.

Each service keeps what is its own: how a definition is checked, what "the same" means, and when a
conflict is raised before anything is written.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Product, User
from app.services import audit
from app.services.errors import NotFound

V = TypeVar("V")  # SurveyVersion or ScorecardVersion: product_id, version, definition, created_by_id


def latest(model: type[V], product_id: int) -> V | None:
    return db.session.scalar(select(model).where(model.product_id == product_id)  # type: ignore[attr-defined]
                             .order_by(model.version.desc()).limit(1))  # type: ignore[attr-defined]


def current(model: type[V], product_id: int, default: Callable[[], dict[str, Any]], action: str) -> V:
    """The newest version; version 1 from ``default()`` (audited ``action``) if there is none."""
    found = latest(model, product_id)
    if found is not None:
        return found
    if db.session.get(Product, product_id) is None:
        raise NotFound("product", product_id)
    row = model(product_id=product_id, version=1, definition=default(), created_by_id=None)  # type: ignore[call-arg]
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        # Another request made version 1 first: take theirs.
        found = latest(model, product_id)
        if found is None:  # pragma: no cover - the constraint that failed says it exists
            raise
        return found
    audit.record(action, actor_id=None, object_type="product", object_id=product_id, before=None, after=1,
                 default=True)
    return row


def every(model: type[V], product_id: int) -> list[V]:
    """Every version of the product's definition, newest first."""
    return list(db.session.scalars(select(model).where(model.product_id == product_id)  # type: ignore[attr-defined]
                                   .order_by(model.version.desc())))  # type: ignore[attr-defined]


def write_next(model: type[V], product_id: int, current_version: int, definition: dict[str, Any],
               actor: User | None, action: str, conflict: Callable[[int], Exception], *, ip: str = "",
               **detail: object) -> V:
    """Write version ``current_version + 1``, audit ``action`` and commit; ``conflict(version)``
    (the newest version now) when someone else wrote that version first."""
    actor_id = actor.id if actor is not None else None
    row = model(product_id=product_id, version=current_version + 1, definition=definition,  # type: ignore[call-arg]
                created_by_id=actor_id)
    db.session.add(row)
    audit.record(action, actor_id=actor_id, object_type="product", object_id=product_id, ip=ip,
                 before=current_version, after=current_version + 1, **detail)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        newest = latest(model, product_id)
        raise conflict(newest.version if newest is not None else 0) from None
    return row


def authors(rows: Iterable[Any]) -> dict[int, str]:
    """The full name of whoever published each of ``rows``, by user id."""
    ids = {r.created_by_id for r in rows if r.created_by_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
