"""Audit rows are added inside the caller's transaction, so they commit or roll back with it."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditLog
from app.models.types import utcnow


def record(
    action: str,
    *,
    actor_id: int | None,
    object_type: str = "",
    object_id: int | None = None,
    ip: str = "",
    **detail: Any,
) -> AuditLog:
    row = AuditLog(
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail={k: _jsonable(v) for k, v in detail.items()},
        ip=ip[:45],
    )
    db.session.add(row)
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)
