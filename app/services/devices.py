"""Officers' phones: enrolment by one-time code, token authentication, revocation and retirement."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.domain.i18n import N_
from app.extensions import db
from app.models import BlockedPhoneNumber, Device, EnrolmentCode, User
from app.services import audit

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


class DeviceError(Exception):
    """A refusal with a code the phone acts on and an N_ message the officer reads."""

    def __init__(self, code: str, message: str, status: int, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.params = params


def create_enrolment_code(officer: User, *, admin: User, now: datetime, ip: str = "") -> str:
    if not officer.has_role("officer"):
        raise DeviceError("not_officer", N_("Only loan officers enrol phones."), 400)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    db.session.add(
        EnrolmentCode(
            code_hash=_sha256(code), user_id=officer.id, created_by_id=admin.id,
            created_at=now, expires_at=now + CODE_LIFETIME,
        )
    )
    audit.record("enrolment_code_created", actor_id=admin.id, object_type="user", object_id=officer.id, ip=ip)
    db.session.commit()
    return code


@dataclass(frozen=True)
class Enrolled:
    device: Device
    token: str  # shown to the phone once; only its hash is kept


def redeem(raw_code: str, user: User, *, label: str, phone_number: str, now: datetime, ip: str = "") -> Enrolled:
    """Bind a new device to ``user``. The code must be his, unused and unexpired."""
    code = db.session.scalar(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == _sha256(normalise_code(raw_code)))
    )
    if code is None or code.user_id != user.id:
        raise DeviceError("bad_code", N_("This enrolment code is not valid for you. Check it, or ask the administrator for a new one."), 400)
    if code.redeemed_at is not None:
        raise DeviceError("code_used", N_("This enrolment code has already been used. Ask the administrator for a new one."), 400)
    if code.expires_at <= now:
        raise DeviceError("code_expired", N_("This enrolment code has expired. Ask the administrator for a new one."), 400)
    if phone_number and db.session.scalar(
        select(BlockedPhoneNumber.id).where(BlockedPhoneNumber.phone_number == phone_number)
    ):
        raise DeviceError("phone_blocked", N_("This phone number is blocked. Contact the administrator."), 403)
    token = secrets.token_urlsafe(32)
    device = Device(
        user_id=user.id, label=label[:100], phone_number=phone_number[:20],
        token_hash=_sha256(token), status="active", enrolled_at=now, last_seen_at=now,
    )
    db.session.add(device)
    db.session.flush()
    # Single use even under a race: only one UPDATE finds it unredeemed.
    claimed = db.session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == code.id, EnrolmentCode.redeemed_at.is_(None))
        .values(redeemed_at=now, device_id=device.id)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise DeviceError("code_used", N_("This enrolment code has already been used. Ask the administrator for a new one."), 400)
    audit.record("device_enrolled", actor_id=user.id, object_type="device", object_id=device.id, ip=ip, label=device.label)
    db.session.commit()
    return Enrolled(device, token)


def authenticate(device_uuid: str, token: str, *, now: datetime, client_version: str = "") -> Device:
    """The device behind an API call, or DeviceError (401/403) saying why not."""
    device = db.session.scalar(select(Device).where(Device.uuid == device_uuid)) if device_uuid else None
    if device is None or not token or not secrets.compare_digest(device.token_hash, _sha256(token)):
        raise DeviceError("unknown_device", N_("This phone is not enrolled. Log in and enrol it again."), 401)
    if device.status == "revoked":
        raise DeviceError("device_revoked", N_("This phone has been revoked. Its data has been removed; contact the administrator."), 401)
    if not device.user.is_enabled:
        raise DeviceError("user_disabled", N_("Your account is disabled. Contact the administrator."), 401)
    # One write at most, and at most once a minute or on a new app version, so a busy sync
    # does not rewrite the row on every chunk (on SQLite every write contends for the lock).
    changed = False
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now
        changed = True
    if client_version and device.client_version != client_version[:20]:
        device.client_version = client_version[:20]
        changed = True
    if changed:
        db.session.commit()
    return device


def set_status(device: Device, status: str, *, admin: User, now: datetime, ip: str = "") -> None:
    if status not in ("active", "retired", "revoked"):
        raise ValueError(status)
    if device.status == "revoked":
        raise DeviceError("device_revoked", N_("A revoked phone stays revoked; enrol a new one."), 400)
    before = device.status
    device.status = status
    if status == "revoked":
        # A lost phone may still hold a logged-in browser session: end all of this officer's sessions.
        device.user.session_epoch += 1
    device.status_changed_at = now
    device.status_changed_by_id = admin.id
    audit.record("device_" + status, actor_id=admin.id, object_type="device", object_id=device.id, ip=ip, before=before)
    db.session.commit()


def block_phone_number(number: str, *, reason: str, admin: User, now: datetime, ip: str = "") -> int:
    """Block a lost phone's number and revoke every device enrolled with it. Returns how many."""
    if not db.session.scalar(select(BlockedPhoneNumber.id).where(BlockedPhoneNumber.phone_number == number)):
        db.session.add(BlockedPhoneNumber(phone_number=number, reason=reason[:200], blocked_by_id=admin.id, blocked_at=now))
    devices = db.session.scalars(
        select(Device).where(Device.phone_number == number, Device.status != "revoked")
    ).all()
    for device in devices:
        device.user.session_epoch += 1
        device.status = "revoked"
        device.status_changed_at = now
        device.status_changed_by_id = admin.id
    audit.record("phone_number_blocked", actor_id=admin.id, object_type="device", ip=ip, number=number, revoked=len(devices))
    db.session.commit()
    return len(devices)
