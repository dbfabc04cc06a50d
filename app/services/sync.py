"""What the phone's queue sends: manifests first, then photos by resumable upload (tus).

A manifest creates the application once, however often it is resent; photos are verified by
SHA-256 and by Pillow before they count; when every photo is in, the application moves on to
the director. The phone deletes its copy only after this module has confirmed the hash.

Possession, not knowledge: a photo counts as received only when its bytes arrived for that very
photo row. The store keeps each content once, but that the store already holds a hash grants
nothing — a manifest or a resubmission naming a known hash gets an upload to do like any other, and
a HEAD finds a photo settled only from its own upload (its complete ``.part``, or the ``.proven``
note ``_finish`` leaves while it moves verified bytes into the store).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from PIL import Image, ImageOps
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import metrics
from app.domain.i18n import N_
from app.domain.manifest import (
    CLOCK_SLACK, ItemSpec, Manifest, ProductSpec, canonical_sha256, parse_manifest, parse_resubmission,
)
from app.domain.workflow import STATE_LABELS, Event, State, TransitionRefused
from app.extensions import db
from app.models import Application, Borrower, Device, Photo, Transition
from app.services import applications as app_service
from app.services import audit, light_path
from app.services.errors import ServiceError
from app.services.scope import own_clause, owns
from app.services.locks import lock_factory
from app.storage import PhotoStore, sha256_of_file
from app.storage.uploads import UploadStaging, UploadTooLong
from app.storage.validation import PhotoRejected, validate_image


class SyncError(ServiceError):
    """A refusal the phone shows to the officer and keeps the item for correction."""


@dataclass(frozen=True)
class SyncSettings:
    max_photo_bytes: int
    max_photo_pixels: int
    gps_max_accuracy_m: int

    @classmethod
    def from_config(cls, config) -> SyncSettings:
        return cls(config["MAX_PHOTO_BYTES"], config["MAX_PHOTO_PIXELS"], config["GPS_MAX_ACCURACY_M"])


def product_specs() -> dict[int, ProductSpec]:
    from app.services.products import active_products

    products = active_products(with_items=True)
    return {
        p.id: ProductSpec(
            p.id, p.name, p.min_amount, p.max_amount, p.min_term_months, p.max_term_months,
            # A retired item still takes the photos a phone captured before, but requires none.
            tuple(ItemSpec(i.id, i.name, 0 if i.retired else i.required_count, i.max_count) for i in p.items),
        )
        for p in products
    }


def phone_surveys() -> dict[int, dict]:
    """Each active loan type's current household survey for the phone's bootstrap, as plain data:
    {product_id: {"version_id", "definition"}}. A loan type without one gets version 1 (the default),
    committed here, so the version the phone is given exists when its answers come back."""
    from app.services import surveys
    from app.services.products import active_products

    out = {}
    for product in active_products():
        version = surveys.current_version(product.id)
        out[product.id] = {"version_id": version.id, "definition": version.definition}
    db.session.commit()
    return out


@dataclass(frozen=True)
class ManifestReceipt:
    status: dict  # status_of(the application) when answered
    created: bool

    @property
    def needed(self) -> list[str]:
        """The photos the server still needs (uuids), in upload order."""
        return self.status["needed"]


def receive_manifest(data: dict, device: Device, *, now: datetime, today: date, settings: SyncSettings, ip: str = "") -> ManifestReceipt:
    """Create the application of a manifest, once; every photo starts as needed (the store is not
    asked: holding a hash grants nothing)."""
    digest = canonical_sha256(data) if isinstance(data, dict) else ""
    existing = _existing(data, device)
    if existing is not None:
        if existing.manifest_sha256 != digest:
            raise SyncError(
                "manifest_changed",
                N_("This application was already received with different content. It cannot be changed after sending; contact your director."),
            )
        # A resend also finishes what a crash may have left half done.
        _advance_if_complete(existing, now)
        return ManifestReceipt(status_of(existing), False)

    manifest = parse_manifest(
        # A pre-approved household's application within its limit needs only the light path's photos.
        data, light_path.light_path_specs(product_specs(), data, today), today=today, now=now,
        max_photo_bytes=settings.max_photo_bytes, gps_max_accuracy_m=settings.gps_max_accuracy_m,
    )
    _check_device_may_start(device, manifest)
    try:
        user_id, device_uuid = device.user_id, device.uuid  # read before a failed flush expires them
        application = _create(manifest, digest, device, now)
        # The survey's answers and the group, in the application's own transaction: a refusal of
        # either refuses the manifest whole (the caller's error handler rolls everything back).
        _capture_survey_and_group(application, manifest, device, now=now, ip=ip)
        audit.record(
            "application_received", actor_id=user_id, object_type="application",
            object_id=application.id, ip=ip, device=device_uuid, photos=len(manifest.photos),
        )
        light_path.attach_preapproval(application, today)  # 整村授信: the light path, when pre-approved
        # From what was just written: nothing is read back.
        status = {"uuid": application.uuid, "application_id": application.id, "state": application.state,
                  "needed": [p.uuid for p in sorted(manifest.photos, key=lambda p: (p.item_id, p.sequence))]}
        db.session.commit()
    except IntegrityError:
        # The same manifest arrived twice at once: the other request created it.
        db.session.rollback()
        existing = _existing(data, device)
        if existing is None and manifest.group is not None:
            # Two members of a new group at once, each creating it: the queue sends it again.
            raise SyncError("changed_meanwhile", N_("This application changed on the server meanwhile; it will be sent again.")) from None
        if existing is None or existing.manifest_sha256 != digest:
            raise
        return ManifestReceipt(status_of(existing), False)
    if not status["needed"]:  # a loan type asking for no photo goes straight on
        app_service.advance_when_photos_in(status["application_id"], now)
        status = status_of(db.session.get(Application, status["application_id"]))
    return ManifestReceipt(status, True)


def _capture_survey_and_group(application: Application, manifest: Manifest, device: Device, *,
                              now: datetime, ip: str) -> None:
    from app.services import group_capture, surveys

    if manifest.survey is not None:
        try:
            surveys.record_captured_answers(application, manifest.survey.version_id, manifest.survey.answers)
        except ServiceError as e:
            # Each answer's problem on its own field ("survey.<key>"), as the phone lists them.
            fields = {f"survey.{k}": v for k, v in e.fields.items()}
            raise SyncError("invalid_survey", e.message, fields=fields, **e.params) from None
    if manifest.group is not None:
        group_capture.attach(application, application.borrower, manifest.group, device.user,
                             now=now, ip=ip, device=device.uuid)


def _existing(data: object, device: Device) -> Application | None:
    uuid = data.get("uuid") if isinstance(data, dict) else None
    if not isinstance(uuid, str):
        return None
    application = db.session.scalar(
        select(Application).where(Application.uuid == uuid).options(selectinload(Application.photos)))
    if application is not None and not owns(device.user_id, application):
        raise SyncError("not_yours", N_("This application belongs to another loan officer."))
    return application


def _check_device_may_start(device: Device, manifest: Manifest) -> None:
    # The capture time comes from the phone's clock: nothing can predate the phone's enrolment.
    if manifest.captured_at < device.enrolled_at - CLOCK_SLACK:
        raise SyncError(
            "captured_before_enrolment",
            N_("The capture time is before this phone was enrolled; check the phone's clock."),
        )
    # A retired phone may still hand in what it captured before retirement, nothing newer.
    if device.status == "retired" and (
        device.status_changed_at is None or manifest.captured_at > device.status_changed_at
    ):
        raise SyncError(
            "device_retired",
            N_("This phone has been retired: it can send what it already holds but cannot start new applications."),
        )


def _create(manifest: Manifest, digest: str, device: Device, now: datetime) -> Application:
    officer = device.user
    b = manifest.borrower
    borrower = db.session.scalar(select(Borrower).where(Borrower.id_number == b.id_number))
    if borrower is not None and not owns(officer, borrower):
        # Never attach to, or write on, another officer's customer from a phone.
        raise SyncError(
            "borrower_elsewhere", N_("Some details need correcting before this application can be sent."),
            fields={"borrower.id_number": (N_("This ID number belongs to another loan officer's customer. Ask your director to transfer the customer first."), {})},
        )
    if borrower is not None and borrower.name != b.name:
        raise SyncError(
            "borrower_name", N_("Some details need correcting before this application can be sent."),
            fields={"borrower.name": (N_("This ID number is registered under the name %(name)s. Check the ID card."), {"name": borrower.name})},
        )
    if borrower is None:
        same_uuid = db.session.scalar(select(Borrower.id_number).where(Borrower.uuid == b.uuid))
        # Found with the same number only in a race with an identical manifest: the insert
        # below then hits the unique constraint and the caller returns the existing one.
        if same_uuid is not None and same_uuid != b.id_number:
            raise SyncError("borrower_changed", N_("This borrower was registered with a different ID number."))
        borrower = Borrower(
            uuid=b.uuid, name=b.name, id_number=b.id_number, sex=b.sex, birth_date=b.birth_date,
            phone=b.phone, village=b.village, address=b.address,
            office_id=officer.office_id, officer_id=officer.id, created_at=now,
        )
        db.session.add(borrower)
    if b.household_key and not (borrower.household_key or "").strip():
        borrower.household_key = b.household_key  # the household number (户号) noted on the phone
    gps = manifest.gps
    if gps is not None and borrower.home_lat is None:
        borrower.home_lat, borrower.home_lon, borrower.home_gps_accuracy_m = gps.lat, gps.lon, gps.accuracy_m
    application = Application(
        uuid=manifest.uuid, borrower=borrower, product_id=manifest.product_id,
        officer_id=officer.id, office_id=officer.office_id, device_id=device.id,
        amount=manifest.amount, term_months=manifest.term_months, purpose=manifest.purpose,
        state=State.UPLOADING.value, manifest_sha256=digest,
        home_lat=gps.lat if gps else None, home_lon=gps.lon if gps else None,
        home_gps_accuracy_m=gps.accuracy_m if gps else None, gps_note=gps.note if gps else "",
        captured_at=manifest.captured_at, created_at=now, updated_at=now,
    )
    db.session.add(application)
    db.session.flush()
    if manifest.photos:
        # Every photo is uploaded, even one whose content the store already holds: a hash is not
        # a key (it travels in manifests, logs and to-do lists); only the bytes prove possession.
        # One multi-row INSERT (the rows are not needed as objects here).
        db.session.execute(insert(Photo), [
            {"uuid": p.uuid, "application_id": application.id, "collection_item_id": p.item_id,
             "sequence": p.sequence, "sha256": p.sha256, "size_bytes": p.size, "taken_at": p.taken_at,
             "received_at": None}
            for p in manifest.photos
        ])
    return application


def resubmit(app_uuid: str, data: object, device: Device, *, now: datetime, settings: SyncSettings, ip: str = "") -> ManifestReceipt:
    """The officer's answer to a return: new photos and/or a note, then back to the director.

    Idempotent like a manifest: a resend after the application has moved on, naming only
    photos the server already holds, gets the same receipt and changes nothing. Added photos are
    uploaded whatever the store holds, as in ``receive_manifest``.
    """
    application = _existing({"uuid": app_uuid}, device)
    if application is None:
        raise SyncError("unknown_application", N_("The server does not know this application."))
    existing = {p.uuid: (p.collection_item_id, p.sequence) for p in application.photos}
    if application.state != State.RETURNED.value:
        sent = data.get("photos") if isinstance(data, dict) else None
        if isinstance(sent, list) and all(isinstance(p, dict) and p.get("uuid") in existing for p in sent):
            return ManifestReceipt(status_of(application), False)
        raise SyncError(
            "not_returned", N_("This application is no longer waiting for you; it is now: %(state)s."),
            state=STATE_LABELS[State(application.state)],
        )
    spec = product_specs().get(application.product_id)
    if spec is None:
        raise SyncError("unknown_product", N_("This loan type is no longer offered; contact your director."))
    additions = parse_resubmission(data, spec, existing, max_photo_bytes=settings.max_photo_bytes)
    for p in additions.photos:
        db.session.add(Photo(
            uuid=p.uuid, application=application, collection_item_id=p.item_id, sequence=p.sequence,
            sha256=p.sha256, size_bytes=p.size, taken_at=p.taken_at, received_at=None,
        ))
    audit.record(
        "application_amended", actor_id=device.user_id, object_type="application", object_id=application.id,
        ip=ip, device=device.uuid, photos=len(additions.photos),
    )
    try:
        # One commit: the new photo rows, the timeline row and the audit rows together.
        app_service.act(
            application.id, Event.RESUBMIT, device.user, now=now, comment=additions.note,
            expected_version=application.version, ip=ip,
        )
    except (app_service.Conflict, IntegrityError):
        db.session.rollback()
        raise SyncError("changed_meanwhile", N_("This application changed on the server meanwhile; it will be sent again.")) from None
    except TransitionRefused as refused:
        db.session.rollback()
        raise SyncError("refused", refused.refusal.message, **dict(refused.refusal.params)) from None
    db.session.refresh(application)
    return ManifestReceipt(status_of(application), False)


def returned_groups_to(device: Device) -> list[dict]:
    """The officer's joint-liability groups returned to him, for the phone to add new members to
    (a replacement phone too): each with its loan type, relatives and the members the server holds,
    with their states (the phone counts those that remain in the group's size and rules). A retired
    phone captures no new member (``receive_manifest`` refuses what it captured since), so it is told
    of none, as it gets no customer list."""
    from app.models.credit import LiabilityGroup

    if device.status != "active":
        return []

    groups = db.session.scalars(
        select(LiabilityGroup).where(own_clause(device.user_id, LiabilityGroup), LiabilityGroup.state == "returned")
        .order_by(LiabilityGroup.id)).all()
    if not groups:
        return []
    members: dict[int, list[Application]] = {}
    for a in db.session.scalars(select(Application).where(Application.group_id.in_([g.id for g in groups]))
                                .options(selectinload(Application.borrower)).order_by(Application.id)):
        members.setdefault(a.group_id, []).append(a)
    return [{
        "uuid": g.uuid, "name": g.name, "village": g.village, "product_id": g.product_id,
        "size": g.expected_size, "members_to_come": g.members_to_come,
        "relatives": [list(p) for p in (g.relatives or [])],
        "members": [{"uuid": a.uuid, "name": a.borrower.name, "household_key": a.borrower.household_key or "",
                     "state": a.state} for a in members.get(g.id, [])],
    } for g in groups]


def returned_to(device: Device) -> list[dict]:
    """The officer's applications returned to him, with why, for the phone's to-do list. A retired
    phone only hands in what it holds: it is told only of the applications it captured itself (each
    returned row carries the borrower's full ID number), never of those captured on another phone."""
    where = [own_clause(device.user_id, Application), Application.state == State.RETURNED.value]
    if device.status == "retired":
        where.append(Application.device_id == device.id)
    rows = db.session.scalars(
        select(Application)
        .where(*where)
        .options(selectinload(Application.photos), selectinload(Application.borrower))
        .order_by(Application.updated_at)
    ).all()
    result = []
    for a in rows:
        last = db.session.scalar(
            select(Transition).where(Transition.application_id == a.id).order_by(Transition.id.desc())
        )
        b = a.borrower
        result.append({
            "uuid": a.uuid,
            "application_id": a.id,
            "state": a.state,
            "reason": last.comment if last else "",
            "returned_by": last.actor.full_name if last and last.actor else "",
            "returned_at": last.at.isoformat() if last else None,
            "borrower": {"uuid": b.uuid, "name": b.name, "id_number": b.id_number, "phone": b.phone,
                         "village": b.village, "address": b.address},
            "product_id": a.product_id,
            "amount": str(a.amount),
            "term_months": a.term_months,
            "purpose": a.purpose,
            "photos": [
                {"uuid": p.uuid, "item_id": p.collection_item_id, "sequence": p.sequence,
                 "sha256": p.sha256, "size": p.size_bytes}
                for p in a.photos
            ],
        })
    return result


def _needed(application: Application) -> list[Photo]:
    # Sorted as the relationship loads them: a new application's photos are in the order added.
    return sorted((p for p in application.photos if p.received_at is None),
                  key=lambda p: (p.collection_item_id, p.sequence))


def _advance_if_complete(application: Application, now: datetime) -> None:
    """Move it on if every photo is in (the photos as loaded; the service checks again)."""
    if application.state == State.UPLOADING.value and not _needed(application):
        app_service.advance_when_photos_in(application.id, now)


# --- resumable photo upload (tus 1.0.0 core) ------------------------------------------
# The mechanics (staged bytes, offset, durable appends, proof note) are the store's upload staging
# (app/storage/uploads.py); the lock is app/services/locks.py's, held across app hosts. Here only the
# decisions: whose photo it is, when it counts as received, and what is audited.


def _staging(store: PhotoStore) -> UploadStaging:
    return store.upload_staging(lock_factory("upload"))


@dataclass(frozen=True)
class UploadState:
    """What a tus answer reports: the offset, the announced size, and the SHA-256 once received."""

    offset: int
    size: int
    verified: str | None = None


def _received(photo: Photo) -> UploadState:
    return UploadState(photo.size_bytes, photo.size_bytes, photo.sha256)


def photo_for_device(photo_uuid: str, user_id: int) -> Photo:
    """The photo with its application (one statement), if it is this officer's."""
    photo = db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid).options(joinedload(Photo.application)))
    # Someone else's photo looks the same as a missing one.
    if photo is None or not owns(user_id, photo.application):
        raise SyncError("photo_not_found", N_("This photo is not part of any of your applications."))
    return photo


def upload_status(photo_uuid: str, device: Device, *, store: PhotoStore, settings: SyncSettings, now: datetime,
                  ip: str = "") -> UploadState:
    """What HEAD reports, settling first what an interrupted request left behind."""
    photo = photo_for_device(photo_uuid, device.user_id)
    uploads = _staging(store)
    if photo.received_at is None:
        if uploads.complete(photo.uuid, photo.size_bytes) or uploads.has_proof(photo.uuid):
            with uploads.lock(photo.uuid):
                _fresh(photo)
                settled = _settle(photo, uploads, settings=settings, now=now, ip=ip)
            if settled is not None:
                return settled
        if photo.received_at is None:
            return UploadState(uploads.offset(photo.uuid), photo.size_bytes)
    state = _received(photo)
    if photo.application.state == State.UPLOADING.value:
        # Received, yet the application waits: a worker died between the photo and the transition.
        app_service.advance_when_photos_in(photo.application_id, now)
    return state


def _settle(photo: Photo, uploads: UploadStaging, *, settings: SyncSettings, now: datetime, ip: str) -> UploadState | None:
    """Under the upload lock: finish a photo whose bytes are all here but never got recorded.

    A worker can die after the last byte and before verifying it (complete .part), or after
    moving the verified file into the store and before its commit (no .part, the .proven note
    naming the hash, object stored). An object in the store without this photo's note proves
    nothing: another upload, maybe of another office, put it there. The state when it settled.
    """
    if photo.received_at is not None:
        uploads.clear_proof(photo.uuid)
        return None
    if uploads.complete(photo.uuid, photo.size_bytes):
        return _finish(photo, uploads, settings=settings, now=now, ip=ip)
    if uploads.proven(photo.uuid, photo.sha256):
        # This photo's own bytes, verified before the crash.
        with uploads.store.open(photo.sha256) as f, Image.open(f) as img:
            width, height = ImageOps.exif_transpose(img).size if img.getexif().get(0x0112) else img.size
            content_type = "image/png" if img.format == "PNG" else "image/jpeg"
        key = photo.uuid  # read before the commit expires the row
        state = _record_received(photo, width, height, content_type, now=now, ip=ip)
        uploads.clear_proof(key)
        return state
    return None


def _fresh(photo: Photo) -> None:
    # End the transaction first: under REPEATABLE READ (MariaDB) a refresh inside the old
    # snapshot would not see what another worker committed while we waited for the lock.
    db.session.commit()
    db.session.refresh(photo)


def append_chunk(
    photo_uuid: str, device: Device, offset: int, body: BinaryIO, length: int | None, *,
    store: PhotoStore, settings: SyncSettings, now: datetime, ip: str = "",
) -> UploadState:
    """Append one PATCH body at ``offset``; verify and store the photo when it is complete.

    The photo is read once, under the lock and in a new transaction: under REPEATABLE READ
    (MariaDB) a read from before the lock would not see what another worker committed meanwhile."""
    user_id = device.user_id
    uploads = _staging(store)
    with uploads.lock(photo_uuid):
        db.session.commit()  # ends the snapshot the authentication's reads began (nothing is pending)
        photo = photo_for_device(photo_uuid, user_id)
        settled = _settle(photo, uploads, settings=settings, now=now, ip=ip)
        if settled is not None:
            current = settled.size
        elif photo.received_at is not None:
            current = photo.size_bytes
        else:
            current = uploads.offset(photo.uuid)
        if offset != current:
            raise SyncError("offset_mismatch", N_("The upload is out of step; it will resume from the right place."), offset=current)
        if settled is not None:
            return settled
        if photo.received_at is not None:
            return _received(photo)
        room = photo.size_bytes - current
        if length is not None and length > room:
            raise SyncError("too_long", N_("The photo is longer than announced; take it again."))
        try:
            written = uploads.append(photo.uuid, body, room=room)
        except UploadTooLong:
            raise SyncError("too_long", N_("The photo is longer than announced; take it again.")) from None
        new_offset = current + written
        metrics.sync_upload_bytes.inc(written)
        if new_offset == photo.size_bytes:
            return _finish(photo, uploads, settings=settings, now=now, ip=ip)
        return UploadState(new_offset, photo.size_bytes)


def _finish(photo: Photo, uploads: UploadStaging, *, settings: SyncSettings, now: datetime, ip: str) -> UploadState:
    with uploads.received_copy(photo.uuid) as copy:
        digest = sha256_of_file(copy)
        if digest != photo.sha256:
            uploads.discard(photo.uuid)
            raise SyncError("hash_mismatch", N_("The photo arrived damaged (checksum differs); it will be sent again."))
        try:
            info = validate_image(copy, max_bytes=settings.max_photo_bytes, max_pixels=settings.max_photo_pixels)
        except PhotoRejected as rejected:
            uploads.discard(photo.uuid)
            raise SyncError("photo_" + rejected.code, rejected.message, **rejected.params) from None
        uploads.store_verified(photo.uuid, digest, copy)
    key = photo.uuid  # read before the commit expires the row
    state = _record_received(photo, info.width, info.height, info.content_type, now=now, ip=ip)
    uploads.clear_proof(key)
    return state


def _record_received(photo: Photo, width: int, height: int, content_type: str, *, now: datetime, ip: str) -> UploadState:
    """One commit: the photo row and its audit row; then, in a new transaction that sees the other
    photos' commits, the application moves on if this was its last photo."""
    application = photo.application  # loaded with the photo
    state = UploadState(photo.size_bytes, photo.size_bytes, photo.sha256)  # what the answer says, read before the commit
    photo.received_at = now
    photo.width, photo.height, photo.content_type = width, height, content_type
    audit.record("photo_received", actor_id=application.officer_id, object_type="photo", object_id=photo.id, ip=ip,
                 sha256=photo.sha256)
    application_id, uploading = application.id, application.state == State.UPLOADING.value
    db.session.commit()
    if uploading:
        app_service.advance_when_photos_in(application_id, now)
    return state


def status_of(application: Application) -> dict:
    return {
        "uuid": application.uuid,
        "application_id": application.id,
        "state": application.state,
        "needed": [p.uuid for p in _needed(application)],
    }


# --- what the phone reads ------------------------------------------------------------------


def own_borrowers(device: Device) -> list[Borrower]:
    """The officer's own customers for his phone (returning customers are recognised offline);
    a retired phone only hands in what it holds, so it gets none."""
    if device.status != "active":
        return []
    return list(db.session.scalars(
        select(Borrower).where(own_clause(device.user_id, Borrower)).order_by(Borrower.name)))


def own_applications(device: Device, uuids: list[str]) -> list[Application]:
    """Those of these applications that are the phone's officer's own (others look missing)."""
    return list(db.session.scalars(
        select(Application).where(Application.uuid.in_(uuids), own_clause(device.user_id, Application))))


def borrower_ids(application_ids: list[int]) -> list[int]:
    """The borrowers of these applications (whose full ID numbers went to a phone)."""
    return list(db.session.scalars(select(Application.borrower_id).where(Application.id.in_(application_ids))))
