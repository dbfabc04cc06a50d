"""Password login with per-name throttling, and the server-side record of each login session.

Two rules keep usernames from being discovered: every wrong login costs the same (an unknown name
is checked against a dummy hash made with the configured method, the real hashes' method) and is
answered the same (an unknown name is throttled and locked exactly like an account).

A login is a ``UserSession`` row; the cookie carries its random token. Logout ends that row only
(the user's other sessions go on), a password change ends every other session of the user, and
disabling ends them all (the administrator's changes: app/services/staff.py). A copied cookie
whose row has ended is refused.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app import metrics
from app.domain import passwords
from app.domain.i18n import N_
from app.extensions import db
from app.models import Device, User
from app.models.org import LoginFailure, UserSession
from app.models.types import utcnow
from app.services import audit

# A session row's last_seen_at is written at most this often (not on every request).
SESSION_TOUCH_SECONDS = 60
# Unknown names' failure rows are forgotten this long after their last failure, once unlocked.
FORGET_UNKNOWN_AFTER = timedelta(days=1)
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH

_dummy_hashes: dict[str, str] = {}


def dummy_hash(method: str) -> str:
    """A hash made exactly like real ones (same method and parameters), for unknown usernames."""
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


def hash_parameters(password_hash: str) -> str:
    """The method and cost part of a werkzeug hash ("scrypt:32768:8:1"), without salt and digest."""
    return password_hash.split("$", 1)[0]


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None  # "invalid", "locked", "disabled"
    wait_seconds: int = 0
    session_token: str = ""


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


def _locked(locked_until: datetime | None, now: datetime) -> LoginResult | None:
    if locked_until and locked_until > now:
        return LoginResult(None, "locked", int((locked_until - now).total_seconds()) + 1)
    return None


def authenticate(
    username: str, password: str, *, now: datetime, throttle: Throttle, ip: str = "",
    method: str = "scrypt", user_agent: str = "",
) -> LoginResult:
    """Check a login. ``method`` is the configured PASSWORD_HASH_METHOD (what real hashes are made with)."""
    username = username.strip()
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        return _unknown_user(username[:50], password, now=now, throttle=throttle, ip=ip, method=method)

    locked = _locked(user.locked_until, now)
    if locked:
        audit.record("login_refused_locked", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
        db.session.commit()
        metrics.login_failures.labels(why="locked").inc()
        return locked

    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= throttle.max_failures:
            user.locked_until = now + throttle.lock_for(user.failed_logins)
        audit.record(
            "login_failed", actor_id=user.id, object_type="user", object_id=user.id, ip=ip,
            why="password", failures=user.failed_logins,
        )
        db.session.commit()
        metrics.login_failures.labels(why="password").inc()
        return LoginResult(None, "invalid")

    if not user.is_enabled:
        audit.record("login_refused_disabled", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
        db.session.commit()
        metrics.login_failures.labels(why="disabled").inc()
        return LoginResult(None, "disabled")

    user.failed_logins = 0
    user.locked_until = None
    if hash_parameters(user.password_hash) != hash_parameters(dummy_hash(method)):
        # An older hash (another method or cost) would make this name's wrong logins take a
        # different time from everyone else's: bring it to the configured method now.
        user.password_hash = hash_password(password, method)
    token = _start_session(user, now=now, ip=ip, user_agent=user_agent)
    audit.record("login", actor_id=user.id, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
    return LoginResult(user, session_token=token)


def _unknown_user(
    username: str, password: str, *, now: datetime, throttle: Throttle, ip: str, method: str, retry: bool = True
) -> LoginResult:
    # The same steps as a real account: a lock check, the same hash work, a counted failure.
    row = db.session.scalar(select(LoginFailure).where(LoginFailure.username == username))
    locked = _locked(row.locked_until if row else None, now)
    if locked:
        audit.record("login_refused_locked", actor_id=None, ip=ip, username=username, why="unknown")
        db.session.commit()
        metrics.login_failures.labels(why="locked").inc()
        return locked
    check_password_hash(dummy_hash(method), password)
    if row is None:
        db.session.execute(
            delete(LoginFailure).where(
                LoginFailure.last_failed_at < now - FORGET_UNKNOWN_AFTER,
                (LoginFailure.locked_until.is_(None)) | (LoginFailure.locked_until < now),
            )
        )
        row = LoginFailure(username=username, failures=0)
        db.session.add(row)
    row.failures += 1
    row.last_failed_at = now
    if row.failures >= throttle.max_failures:
        row.locked_until = now + throttle.lock_for(row.failures)
    audit.record("login_failed", actor_id=None, ip=ip, username=username, why="unknown", failures=row.failures)
    try:
        db.session.commit()
    except IntegrityError:
        # Two first failures for one name at once: the other request made the row; count on it.
        db.session.rollback()
        if not retry:
            raise
        return _unknown_user(username, password, now=now, throttle=throttle, ip=ip, method=method, retry=False)
    metrics.login_failures.labels(why="unknown").inc()
    return LoginResult(None, "invalid")


# --- sessions ----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _start_session(user: User, *, now: datetime, ip: str, user_agent: str) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
            ip=ip[:45], user_agent=user_agent[:200],
        )
    )
    return token


def check_session(token: str | None, user_id: int, *, now: datetime, idle_seconds: int, max_seconds: int) -> bool:
    """True while the session behind this cookie token is open; ends it once idle or too old."""
    if not token:
        return False
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return False
    # last_seen_at lags by up to SESSION_TOUCH_SECONDS; the cookie's own idle check is exact.
    why = ""
    if (now - row.last_seen_at).total_seconds() > idle_seconds + SESSION_TOUCH_SECONDS:
        why = "idle"
    elif (now - row.created_at).total_seconds() > max_seconds:
        why = "expired"
    if why:
        row.ended_at, row.ended_why = now, why
        db.session.commit()
        return False
    if (now - row.last_seen_at).total_seconds() >= SESSION_TOUCH_SECONDS:
        row.last_seen_at = now
        db.session.commit()
    return True


def end_session(token: str | None, *, now: datetime, why: str) -> None:
    """End the one session behind this token (no commit)."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=now, ended_why=why)
        )


def end_sessions(user_id: int, *, now: datetime, why: str, keep_token: str | None = None) -> None:
    """End every open session of a user, except the one behind ``keep_token`` (no commit)."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != _token_hash(keep_token))
    db.session.execute(stmt.values(ended_at=now, ended_why=why))


def record_logout(user_id: int, ip: str = "", why: str = "user", *, token: str | None = None,
                  now: datetime | None = None) -> None:
    """Audit a logout and end its session on the server (a copy of the cookie dies with it)."""
    end_session(token, now=now or utcnow(), why="logout" if why == "user" else why)
    audit.record("logout", actor_id=user_id, object_type="user", object_id=user_id, ip=ip, why=why)
    db.session.commit()


def change_password(
    user: User, current: str, new: str, confirm: str, *, method: str, now: datetime, keep_token: str | None,
    ip: str = "",
) -> dict[str, str]:
    """Change a user's own password. Returns {field: N_ message} (nothing written) or {} on success
    (messages take ``num``: MIN_PASSWORD_LENGTH). The new one must pass ``passwords.password_problems``
    (length, not the login, not a common password). Success clears ``must_change_password`` and ends
    every other session of the user (a stolen cookie elsewhere stops working)."""
    errors: dict[str, str] = {}
    if not check_password_hash(user.password_hash, current):
        errors["current"] = N_("The current password is wrong.")
    problems = passwords.password_problems(new, user.username)
    if new == current:
        errors["new"] = N_("The new password must differ from the current one.")
    elif problems:
        errors["new"] = problems[0][0]
    if not errors.get("new") and new != confirm:
        errors["confirm"] = N_("The two new passwords differ.")
    if errors:
        return errors
    user.password_hash = hash_password(new, method)
    end_sessions(user.id, now=now, why="password_changed", keep_token=keep_token)
    changed = {}
    if user.must_change_password:
        user.must_change_password = False
        changed = {"before": {"must_change_password": True}, "after": {"must_change_password": False}}
    audit.record("password_changed", actor_id=user.id, object_type="user", object_id=user.id, ip=ip, **changed)
    db.session.commit()
    return {}


# --- reading staff accounts ---------------------------------------------------------------


def find_user(user_id: int) -> User | None:
    """The account with this id, or None (the login's session cookie names it)."""
    return db.session.get(User, user_id)


def user(user_id: int) -> User:
    """The account with this id; an unknown id is answered as not found."""
    from app.services.scope import OutOfScope

    found = db.session.get(User, user_id)
    if found is None:
        raise OutOfScope("User", user_id)
    return found


def account_summary() -> dict[str, int]:
    """The administrator's home figures: accounts, disabled accounts, enrolled phones."""
    return {
        "users": db.session.scalar(select(func.count()).select_from(User)) or 0,
        "disabled": db.session.scalar(select(func.count()).where(User.is_enabled.is_(False))) or 0,
        "devices": db.session.scalar(select(func.count()).select_from(Device)) or 0,
    }
