"""Settings the administrator changes at run time, stored in the ``settings`` table (who and
when on the row, every change audited). The environment variable is the default until an
administrator sets a value, so a fresh install behaves as configured.

Today: the phone app's minimum version (MIN_CLIENT_VERSION), read on every phone request by the API.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.domain import versions
from app.domain.i18n import N_
from app.extensions import db
from app.models import Setting, User
from app.models.types import utcnow
from app.services import audit
from app.services.errors import ServiceError

MIN_CLIENT_VERSION = "min_client_version"


class SettingError(ServiceError, ValueError):
    """A value refused, with a message in the user's language (N_) and its parameters."""

    def __init__(self, message: str, params: dict | None = None, field: str = "value") -> None:
        super().__init__("invalid_setting", message, **(params or {}))
        self.field = field


@dataclass(frozen=True)
class SettingView:
    value: str
    default: str                  # the environment's value
    changed_by: str | None = None  # None: the default is in force
    changed_at: datetime | None = None


def min_client_version(config) -> str:
    """The oldest phone-app version that may still sync: the administrator's, else MIN_CLIENT_VERSION."""
    row = db.session.get(Setting, MIN_CLIENT_VERSION)
    return row.value if row is not None else str(config["MIN_CLIENT_VERSION"])


def min_client_version_view(config) -> SettingView:
    row = db.session.get(Setting, MIN_CLIENT_VERSION)
    default = str(config["MIN_CLIENT_VERSION"])
    if row is None:
        return SettingView(default, default)
    who = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return SettingView(row.value, default, who.full_name if who else "", row.updated_at)


def set_min_client_version(value: str, *, current: str, config, actor_id: int, ip: str = "") -> str:
    """Set the minimum version after checking it (a version like 0.3.0, never above ``current``,
    the version the server ships); audited with the old and new value. Raises SettingError."""
    value = value.strip()
    problem = versions.check_minimum(value, current=current)
    if problem is not None:
        raise SettingError(*problem)
    for attempt in (1, 2):
        before = min_client_version(config)
        row = db.session.get(Setting, MIN_CLIENT_VERSION)
        if row is None:
            row = Setting(key=MIN_CLIENT_VERSION, value=value)
            db.session.add(row)
        row.value, row.updated_by_id, row.updated_at = value, actor_id, utcnow()
        audit.record("setting.changed", actor_id=actor_id, object_type="setting", ip=ip,
                     key=MIN_CLIENT_VERSION, before=before, after=value)
        try:
            db.session.commit()
        except IntegrityError:
            # Another administrator set it first, at the same moment: update his row instead.
            db.session.rollback()
            if attempt == 2:
                raise
        else:
            break
    return value


# --- the institution's name (set by `flask setup`) ---------------------------------------------

INSTITUTION_NAME = "institution_name"
MAX_INSTITUTION_NAME = 100


def institution_name() -> str | None:
    """The institution's name as set at setup, or None (the demo, or a database before setup)."""
    row = db.session.get(Setting, INSTITUTION_NAME)
    return row.value if row is not None and row.value else None


def institution_name_shown() -> str | None:
    """For the top bar: the name, or None, also while an error page is drawn for a failing database."""
    try:
        return institution_name()
    except SQLAlchemyError:
        return None


def institution_name_or_default(config) -> str:
    """The name printed on contracts: the one set at setup, else INSTITUTION_NAME from the environment."""
    return institution_name() or str(config["INSTITUTION_NAME"])


def set_institution_name(value: str, *, actor_id: int | None, ip: str = "", commit: bool = True) -> str:
    """Store the institution's name (1–100 characters); audited with the old and new value."""
    value = " ".join(value.split())
    if not value:
        raise SettingError(N_("Institution name: enter the institution's name."), field="institution")
    if len(value) > MAX_INSTITUTION_NAME:
        raise SettingError(N_("Institution name: at most %(max)s characters."), {"max": MAX_INSTITUTION_NAME},
                           field="institution")
    before = institution_name()
    row = db.session.get(Setting, INSTITUTION_NAME)
    if row is None:
        row = Setting(key=INSTITUTION_NAME, value=value)
        db.session.add(row)
    row.value, row.updated_by_id, row.updated_at = value, actor_id, utcnow()
    audit.record("setting.changed", actor_id=actor_id, object_type="setting", ip=ip, key=INSTITUTION_NAME,
                 **({"before": {"institution_name": before}} if before is not None else {}),
                 after={"institution_name": value})
    if commit:
        db.session.commit()
    return value
