"""Officers' phones: enrolment by one-time code, token authentication, revocation and retirement.

An officer holds at most ``allowance(user)`` active phones (one, unless the admin allows more).
Enrolling a phone beyond that is a replacement: the phone is told which phone it replaces and
enrols only after the officer confirms (``replace=True``); the replaced phone is revoked — refused
from then on, it wipes its data at its next contact. A lost phone (挂失停用) is revoked by the
admin after a confirmation page; that also ends the officer's sessions everywhere.

A phone enrolled from the Android app is bound to its SIM card (a keyed fingerprint, app/domain/sim.py).
Every later call names its SIM (``X-Device-Sim``); another SIM, none, or one that cannot be read holds
the phone: refused (403 ``sim_changed``), recorded once, the admins and the officer's office director
told, until the admin re-approves the new SIM or revokes the phone. The hold stays even if the old SIM
comes back: a SIM taken out and put back is for the admin to judge, not the phone. A phone enrolled
from a plain browser sends no SIM and is not SIM-bound.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from app.domain import sim as sim_rules
from app.domain.devices import model_from_user_agent
from app.domain.i18n import N_
from app.extensions import db
from app.models import BlockedPhoneNumber, Device, EnrolmentCode, Notification, User, UserRole
from app.models.org import DeviceAllowance
from app.services import audit
from app.services.errors import ServiceError

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)
MAX_ALLOWANCE = 5


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


class DeviceError(ServiceError):
    """A refusal with a code the phone acts on and an N_ message the officer reads."""


def create_enrolment_code(officer: User, *, admin: User, now: datetime, ip: str = "") -> str:
    if not officer.has_role("officer"):
        raise DeviceError("not_officer", N_("Only loan officers enrol phones."))
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


def allowance(user: User) -> int:
    """How many active phones the officer may hold: one unless the admin allowed more."""
    row = db.session.get(DeviceAllowance, user.id)
    return row.max_active if row is not None else 1


def allowances(user_ids: list[int]) -> dict[int, int]:
    """``allowance`` for many officers in one query (the admin's phone list)."""
    rows = db.session.execute(
        select(DeviceAllowance.user_id, DeviceAllowance.max_active).where(DeviceAllowance.user_id.in_(user_ids))
    ).all() if user_ids else []
    allowed = dict(rows)
    return {uid: allowed.get(uid, 1) for uid in user_ids}


def active_devices(user: User) -> list[Device]:
    return list(db.session.scalars(
        select(Device).where(Device.user_id == user.id, Device.status == "active").order_by(Device.id)
    ).all())


def describe(device: Device) -> str:
    """A phone in a few words: model (or the name given at enrolment), number, when enrolled."""
    name = device.model or device.label or device.uuid[:8]
    number = f" {device.phone_number}" if device.phone_number else ""
    return f"{name}{number} ({device.enrolled_at:%Y-%m-%d})"


def _least_recently_seen_first(devices: list[Device]) -> list[Device]:
    return sorted(devices, key=lambda d: (d.last_seen_at or d.enrolled_at, d.id))


def set_allowance(officer: User, max_active: int, *, admin: User, now: datetime, ip: str = "") -> bool:
    """Allow an officer this many active phones (1..MAX_ALLOWANCE). Audited; False if unchanged."""
    if not 1 <= max_active <= MAX_ALLOWANCE:
        raise DeviceError("bad_allowance", N_("Allow between 1 and %(max)s phones."), max=MAX_ALLOWANCE)
    before = allowance(officer)
    if before == max_active:
        return False
    row = db.session.get(DeviceAllowance, officer.id)
    if row is None:
        db.session.add(DeviceAllowance(user_id=officer.id, max_active=max_active, set_by_id=admin.id, set_at=now))
    else:
        row.max_active, row.set_by_id, row.set_at = max_active, admin.id, now
    audit.record("device_allowance_changed", actor_id=admin.id, object_type="user", object_id=officer.id, ip=ip,
                 before=before, after=max_active)
    db.session.commit()
    return True


SIM_CHANGED = N_("This phone's SIM card has been changed (or removed): syncing is paused. Contact the"
                 " administrator to approve it again.")


def sim_key(config: Mapping[str, object]) -> bytes:
    """The key of the SIM fingerprints: SIM_FINGERPRINT_KEY, else SECRET_KEY (the views pass the app's config)."""
    return str(config.get("SIM_FINGERPRINT_KEY") or config["SECRET_KEY"]).encode()


def read_sim(data: object) -> sim_rules.SimIdentity | None:
    """The enrolment body's ``sim`` (None: a plain browser, not SIM-bound); DeviceError ``bad_sim``."""
    if data is None:
        return None
    try:
        return sim_rules.parse(data)
    except sim_rules.SimError as e:
        raise DeviceError("bad_sim", e.message) from None


def redeem(raw_code: str, user: User, *, label: str, phone_number: str, now: datetime, ip: str = "",
           user_agent: str = "", replace: bool = False, replaces: str = "",
           sim: sim_rules.SimIdentity | None = None, sim_key: bytes = b"") -> Enrolled:
    """Bind a new device to ``user``. The code must be his, unused and unexpired. With ``sim`` (the
    SIM the Android app reports, see ``read_sim``) the device is bound to that SIM card, fingerprinted
    with ``sim_key``.

    When he already holds as many active phones as allowed, this is a replacement: refused with
    ``replace_needed`` (409, naming the phone it would replace) unless ``replace`` confirms it; then
    the phone named by ``replaces`` (a device UUID, e.g. from the admin's 更换 link), else the one
    seen least recently, is revoked in the same commit.
    """
    code = db.session.scalar(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == _sha256(normalise_code(raw_code)))
    )
    if code is None or code.user_id != user.id:
        raise DeviceError("bad_code", N_("This enrolment code is not valid for you. Check it, or ask the administrator for a new one."))
    if code.redeemed_at is not None:
        raise DeviceError("code_used", N_("This enrolment code has already been used. Ask the administrator for a new one."))
    if code.expires_at <= now:
        raise DeviceError("code_expired", N_("This enrolment code has expired. Ask the administrator for a new one."))
    if phone_number and db.session.scalar(
        select(BlockedPhoneNumber.id).where(BlockedPhoneNumber.phone_number == phone_number)
    ):
        raise DeviceError("phone_blocked", N_("This phone number is blocked. Contact the administrator."))
    # One enrolment of an officer at a time (a row lock on MariaDB; SQLite serialises writers).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    active = active_devices(user)
    excess = len(active) - allowance(user) + 1
    replaced: list[Device] = []
    if excess > 0:
        named = [d for d in active if replaces and d.uuid == replaces]
        replaced = (named + [d for d in _least_recently_seen_first(active) if d not in named])[:excess]
        if not replace:
            raise DeviceError("replace_needed", N_(
                "You already have an active phone: %(phones)s. Enrolling this phone replaces it: the old phone"
                " is refused from now on and deletes the data it holds at its next contact. Replace it?"
            ), phones="; ".join(describe(d) for d in replaced))
    token = secrets.token_urlsafe(32)
    device = Device(
        user_id=user.id, label=label[:100], phone_number=phone_number[:20],
        token_hash=_sha256(token), status="active", enrolled_at=now, last_seen_at=now,
        user_agent=user_agent[:300], model=model_from_user_agent(user_agent),
    )
    if sim is not None:
        device.sim_fingerprint = sim_rules.fingerprint(sim, sim_key)
        device.sim_label, device.sim_bound_at = sim_rules.label(sim), now
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
        raise DeviceError("code_used", N_("This enrolment code has already been used. Ask the administrator for a new one."))
    for old in replaced:
        # Replaced, not lost: the officer holds it, so his sessions (this enrolment's own) go on.
        old.status, old.status_changed_at, old.status_changed_by_id = "revoked", now, user.id
        audit.record("device_replaced", actor_id=user.id, object_type="device", object_id=old.id, ip=ip,
                     by_device=device.id)
    audit.record("device_enrolled", actor_id=user.id, object_type="device", object_id=device.id, ip=ip,
                 label=device.label, model=device.model, replaced=[d.id for d in replaced], sim=device.sim_label)
    db.session.commit()
    return Enrolled(device, token)


def authenticate(device_uuid: str, token: str, *, now: datetime, client_version: str = "", user_agent: str = "",
                 sim_header: str | None = None, sim_key: bytes = b"", ip: str = "") -> Device:
    """The device behind an API call, or DeviceError (401/403) saying why not. ``sim_header`` is the
    call's ``X-Device-Sim`` (None when absent); only a SIM-bound device reads it."""
    # One statement: the device, its officer and his roles (every API call reads all three).
    device = db.session.scalars(
        select(Device).where(Device.uuid == device_uuid).options(joinedload(Device.user).joinedload(User.role_rows))
    ).unique().first() if device_uuid else None
    if device is None or not token or not secrets.compare_digest(device.token_hash, _sha256(token)):
        raise DeviceError("unknown_device", N_("This phone is not enrolled. Log in and enrol it again."))
    if device.status == "revoked":
        raise DeviceError("device_revoked", N_("This phone has been revoked. Its data has been removed; contact the administrator."))
    if device.sim_fingerprint:  # fields of the row already read: no query unless the SIM changed
        _check_sim(device, sim_header, sim_key, now=now, ip=ip)
    if not device.user.is_enabled:
        raise DeviceError("user_disabled", N_("Your account is disabled. Contact the administrator."))
    if device.user.must_change_password:
        raise DeviceError("password_change_required", N_(
            "Your password was reset: log in on the web page and choose a new password before the phone may sync."))
    # One write at most, and at most once a minute or on a new app version, so a busy sync
    # does not rewrite the row on every chunk (on SQLite every write contends for the lock).
    changed = False
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now
        changed = True
    if client_version and device.client_version != client_version[:20]:
        device.client_version = client_version[:20]
        changed = True
    if user_agent and device.user_agent != user_agent[:300]:  # a new browser or system version
        device.user_agent = user_agent[:300]
        device.model = model_from_user_agent(user_agent) or device.model
        changed = True
    if changed:
        db.session.commit()
    return device


def _check_sim(device: Device, sim_header: str | None, key: bytes, *, now: datetime, ip: str) -> None:
    """Pass a SIM-bound device whose call names its SIM; hold it (recorded once) on any other."""
    if device.sim_changed_at is not None:
        raise DeviceError("sim_changed", SIM_CHANGED)
    try:
        reported = sim_rules.parse_header(sim_header) if sim_header is not None else None
    except sim_rules.SimError:
        reported = None  # unreadable counts as a change, as a missing header does
    new = sim_rules.fingerprint(reported, key) if reported is not None else ""
    if new and sim_rules.same(new, device.sim_fingerprint):
        return
    new_label = sim_rules.label(reported) if reported is not None else sim_rules.UNREADABLE_LABEL
    # Once, even when several calls arrive together: only one UPDATE finds the phone not yet held.
    held = db.session.execute(
        update(Device).where(Device.id == device.id, Device.sim_changed_at.is_(None))
        .values(sim_changed_at=now, sim_changed_fingerprint=new, sim_changed_label=new_label)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held == 1:
        audit.record("device_sim_changed", actor_id=device.user_id, object_type="device", object_id=device.id, ip=ip,
                     before=device.sim_label, after=new_label)
        _notify_sim_changed(device, now)
        db.session.commit()
    raise DeviceError("sim_changed", SIM_CHANGED)


def _notify_sim_changed(device: Device, now: datetime) -> None:
    """Tell every admin (to re-approve or revoke) and the officer's office director(s)."""
    officer = device.user
    admins = set(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.is_enabled.is_(True))
    ))
    directors = set(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "director", User.office_id == officer.office_id, User.is_enabled.is_(True))
    )) - admins
    text = f"{officer.full_name} · {describe(device)}"[:300]
    for user_id in sorted(admins):
        db.session.add(Notification(user_id=user_id, kind="device_sim_changed", message=text,
                                    link=f"/admin/devices#device-{device.id}", created_at=now))
    for user_id in sorted(directors):
        db.session.add(Notification(user_id=user_id, kind="device_sim_changed", message=text,
                                    link=f"/phones/#device-{device.id}", created_at=now))


def reapprove_sim(device: Device, *, admin: User, now: datetime, ip: str = "") -> None:
    """Release a phone held for a SIM change: bind it to the SIM it now has. Audited."""
    if device.status == "revoked":
        raise DeviceError("already_revoked", N_("A revoked phone stays revoked; enrol a new one."))
    if device.sim_changed_at is None:
        raise DeviceError("sim_not_changed", N_("This phone's SIM card has not changed; there is nothing to approve."))
    if not device.sim_changed_fingerprint:
        raise DeviceError("sim_unreadable", N_(
            "This phone sent no readable SIM card information, so there is no SIM to approve. Report it lost,"
            " or have the officer enrol it again from the app."))
    before = device.sim_label
    device.sim_fingerprint, device.sim_label = device.sim_changed_fingerprint, device.sim_changed_label
    device.sim_bound_at = now
    device.sim_changed_at, device.sim_changed_fingerprint, device.sim_changed_label = None, "", ""
    audit.record("device_sim_reapproved", actor_id=admin.id, object_type="device", object_id=device.id, ip=ip,
                 before=before, after=device.sim_label)
    db.session.commit()


def set_status(device: Device, status: str, *, admin: User, now: datetime, ip: str = "") -> None:
    if status not in ("active", "retired", "revoked"):
        raise ValueError(status)
    if device.status == "revoked":
        raise DeviceError("already_revoked", N_("A revoked phone stays revoked; enrol a new one."))
    before = device.status
    if status == "active" and before != "active" and len(active_devices(device.user)) >= allowance(device.user):
        raise DeviceError("too_many_phones", N_(
            "%(name)s already has as many active phones as allowed. Report the other one lost, or allow more phones."
        ), name=device.user.full_name)
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


# --- reading phones for the administrator ---------------------------------------------------


def device(device_id: int) -> Device:
    """The phone with this id; an unknown id is answered as not found."""
    from app.services.scope import OutOfScope

    found = db.session.get(Device, device_id)
    if found is None:
        raise OutOfScope("Device", device_id)
    return found


def by_officer(offices: frozenset[int] | None = None) -> list[dict]:
    """The phones grouped by officer: ``{"user", "devices", "allowance", "active"}`` per officer,
    his phones by status and newest enrolment first; only officers of ``offices`` when given (a
    director's reach, app/services/scope.py ``office_reach``)."""
    query = select(Device).options(selectinload(Device.user).selectinload(User.office))
    if offices is not None:
        query = query.join(User, User.id == Device.user_id).where(User.office_id.in_(offices))
    rows = db.session.scalars(query.order_by(Device.user_id, Device.status, Device.enrolled_at.desc())).all()
    allowed = allowances(sorted({d.user_id for d in rows}))
    officers: dict[int, dict] = {}
    for d in rows:
        officers.setdefault(d.user_id, {"user": d.user, "devices": [], "allowance": allowed[d.user_id]})
        officers[d.user_id]["devices"].append(d)
    for entry in officers.values():
        entry["active"] = sum(1 for d in entry["devices"] if d.status == "active")
    return list(officers.values())


def blocked_numbers() -> list[BlockedPhoneNumber]:
    """Blocked phone numbers, the latest first."""
    return list(db.session.scalars(select(BlockedPhoneNumber).order_by(BlockedPhoneNumber.blocked_at.desc())))


def active_device(officer: User, device_uuid: str) -> Device | None:
    """The officer's active phone with this UUID (the one a replacement code replaces), if any."""
    return db.session.scalar(select(Device).where(
        Device.uuid == device_uuid, Device.user_id == officer.id, Device.status == "active"))
