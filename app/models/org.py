"""Offices, staff users and their roles, and officers' devices."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, UUIDStr, new_uuid, utcnow

ROLES = (
    "officer",
    "director",
    "clerk",
    "reviewer1",
    "reviewer2",
    "special_reviewer",
    "cashier",
    "accountant",
    "admin",
    "auditor",
)
# Headquarters roles: their reach is every office (what each may see: app/services/scope.py).
HQ_ROLES = frozenset({"clerk", "reviewer1", "reviewer2", "special_reviewer", "cashier", "accountant", "admin", "auditor"})


class Office(db.Model):
    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    is_hq: Mapped[bool] = mapped_column(Boolean, default=False)  # kind == "head_office"
    # head_office → branch (支行/分部) → office (办事处); the rules: app/services/offices.py.
    kind: Mapped[str] = mapped_column(String(20), default="office", server_default="office")
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    # Closed offices keep their history but drop out of every picker.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parent: Mapped[Office | None] = relationship(remote_side=[id])
    users: Mapped[list[User]] = relationship(back_populates="office")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    full_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(20), default="")
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Bumped to end every open session of this user at once (disabled, phone revoked).
    session_epoch: Mapped[int] = mapped_column(default=0)
    # Set with a temporary password (a new account, a reset by the admin): until the user sets his
    # own, every page leads to the password change and the phone's API refuses.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    office: Mapped[Office] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def get_id(self) -> str:
        # The epoch rides in the session: bumping it logs the user out everywhere.
        return f"{self.id}:{self.session_epoch}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled users
        return self.is_enabled

    @property
    def is_hq(self) -> bool:
        return bool(self.roles & HQ_ROLES)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(db.Model):
    """One login. The cookie carries a random token; only its SHA-256 is stored. Logout, a password
    change, disabling, the idle limit and the session's age end the row, and a cookie whose row has
    ended is refused, however it was copied."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # logout, idle, expired, password_changed, disabled
    ended_why: Mapped[str] = mapped_column(String(20), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginFailure(db.Model):
    """Wrong logins under a username that is no account, throttled exactly like a real account's
    (``User.failed_logins`` / ``locked_until``), so the lockout does not tell which names exist."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Device(db.Model):
    """An officer's phone. Every /api/v1 call names its device; a revoked one is refused."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    phone_number: Mapped[str] = mapped_column(String(20), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # active: may capture and sync; retired: may only upload what it holds; revoked: refused, wipes itself.
    status: Mapped[str] = mapped_column(String(10), default="active")
    client_version: Mapped[str] = mapped_column(String(20), default="")
    # What tells one phone from another on the admin's page: the model read from the browser's
    # user agent at enrolment (refreshed when its requests say otherwise), and the user agent itself.
    model: Mapped[str] = mapped_column(String(100), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The SIM card the phone is bound to (app/domain/sim.py): a keyed fingerprint, never the IMSI,
    # and a label safe to show ("中国移动 …1234"). Empty: not SIM-bound (a plain browser).
    sim_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    sim_label: Mapped[str] = mapped_column(String(40), default="")
    sim_bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Held since a call came with another SIM (or none): refused until the admin re-approves or
    # revokes it, even if the old SIM comes back. The other SIM's fingerprint ("" when the call
    # sent nothing readable) and label.
    sim_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sim_changed_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    sim_changed_label: Mapped[str] = mapped_column(String(40), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class DeviceAllowance(db.Model):
    """How many active phones the admin allows an officer; without a row, one."""

    __tablename__ = "device_allowances"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    max_active: Mapped[int] = mapped_column(default=1)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnrolmentCode(db.Model):
    """A one-time code an admin gives an officer to bind a phone's browser to him."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only the hash is stored: a leaked database does not leak usable codes.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class BlockedPhoneNumber(db.Model):
    """A lost or stolen phone's number: its devices are revoked and it cannot enrol again."""

    __tablename__ = "blocked_phone_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_number: Mapped[str] = mapped_column(String(20), unique=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    blocked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
