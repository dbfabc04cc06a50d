"""Password login with per-account throttling after repeated failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import User
from app.services import audit

# Compared against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("unused-dummy-password", method="pbkdf2:sha256:1000")


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None  # "invalid", "locked", "disabled"
    wait_seconds: int = 0


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    lock_seconds: int
    max_lock_seconds: int = 3600

    def lock_for(self, failures: int) -> timedelta:
        # Doubles with each failure past the limit, capped, so guessing stays slow.
        extra = failures - self.max_failures
        return timedelta(seconds=min(self.lock_seconds * 2**extra, self.max_lock_seconds))


def hash_password(password: str, method: str) -> str:
    return generate_password_hash(password, method=method)


def authenticate(
    username: str, password: str, *, now: datetime, throttle: Throttle, ip: str = ""
) -> LoginResult:
    username = username.strip()
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        audit.record("login_failed", actor_id=None, ip=ip, username=username[:50], why="unknown")
        db.session.commit()
        return LoginResult(None, "invalid")

    if user.locked_until and user.locked_until > now:
        audit.record("login_refused_locked", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
        db.session.commit()
        wait = int((user.locked_until - now).total_seconds()) + 1
        return LoginResult(None, "locked", wait)

    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= throttle.max_failures:
            user.locked_until = now + throttle.lock_for(user.failed_logins)
        audit.record(
            "login_failed", actor_id=user.id, object_type="user", object_id=user.id, ip=ip,
            why="password", failures=user.failed_logins,
        )
        db.session.commit()
        return LoginResult(None, "invalid")

    if not user.is_enabled:
        audit.record("login_refused_disabled", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
        db.session.commit()
        return LoginResult(None, "disabled")

    user.failed_logins = 0
    user.locked_until = None
    audit.record("login", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
    return LoginResult(user)


def record_logout(user_id: int, ip: str = "", why: str = "user") -> None:
    audit.record("logout", actor_id=user_id, object_type="user", object_id=user_id, ip=ip, why=why)
    db.session.commit()


def set_enabled(target: User, enabled: bool, *, actor_id: int, ip: str = "") -> None:
    target.is_enabled = enabled
    if not enabled:
        target.session_epoch += 1
    if enabled:
        target.failed_logins = 0
        target.locked_until = None
    audit.record(
        "user_enabled" if enabled else "user_disabled",
        actor_id=actor_id, object_type="user", object_id=target.id, ip=ip,
    )
    db.session.commit()
