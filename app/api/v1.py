"""/api/v1: version, device check, bootstrap data, manifests and resumable photo uploads (tus 1.0.0)."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Blueprint, current_app, g, jsonify, request, url_for

from app import clock, metrics
from app.api import errors as api_errors
from app.api import schemas
from app.api.errors import error
from app.domain import versions
from app.domain.i18n import N_
from app.domain.manifest import ManifestError
from app.extensions import photo_store
from app.http_edge import client_ip, notification_label, public, translate_message
from app.services import android_releases, app_settings
from app.services import devices as device_service
from app.services import field_collections, group_capture, identity_access, sync, transactions
from app.services import products as product_service

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
api_errors.register(bp)  # a service's refusal (ServiceError) → its status from the one table, JSON

TUS_VERSION = "1.0.0"


def _outdated(client_version: str, user_agent: str):
    """The 426 answer when the phone must update before it syncs (the one rule:
    app/domain/versions.py ``outdated``), else None. The Android app's minimum is read only for a
    request carrying the app's mark (one indexed query); a plain browser costs what it did."""
    app_code = versions.app_code_of(user_agent)
    min_client = app_settings.min_client_version(current_app.config)  # the admin's setting
    min_app = android_releases.minimum_app_code() if app_code is not None else None
    verdict = versions.outdated(client_version, app_code, min_client, min_app)
    if verdict == versions.APP_OUTDATED:
        return error(verdict, APP_OUTDATED_MESSAGE, 426, update="android", min_version_code=min_app)
    if verdict == versions.CLIENT_OUTDATED:
        return error(verdict, CLIENT_OUTDATED_MESSAGE, 426, min_supported=min_client)
    return None


CLIENT_OUTDATED_MESSAGE = N_("This app version is too old. It will update itself now; then sending resumes.")
APP_OUTDATED_MESSAGE = N_("This phone app is too old. It will update itself now: confirm the installation, "
                          "then sending resumes.")


def device_api(view: Callable) -> Callable:
    """Authenticate by the device's bearer token (not the session) and refuse outdated clients."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        version = request.headers.get("X-Client-Version", "")
        g.device = device_service.authenticate(  # a DeviceError is answered by api_errors.refusal
            request.headers.get("X-Device-Id", ""), token, now=clock.now(), client_version=version,
            user_agent=request.headers.get("User-Agent", ""),
            sim_header=request.headers.get("X-Device-Sim"), sim_key=device_service.sim_key(current_app.config),
            ip=client_ip(),
        )
        # Checked after the device, so a revoked phone is wiped whatever its version.
        refusal = _outdated(version, request.headers.get("User-Agent", ""))
        if refusal is not None:
            return refusal
        try:
            return view(*args, **kwargs)
        except ManifestError as e:
            transactions.rollback()
            return error("invalid_manifest", MANIFEST_INVALID, 422, fields=e.errors)
        except schemas.BodyError as e:
            transactions.rollback()
            return error(e.code, e.message, e.status, e.params, e.fields)

    wrapper.device_auth = True  # type: ignore[attr-defined]
    return wrapper


MANIFEST_INVALID = N_("Some details need correcting before this application can be sent.")
REPORT_INVALID = N_("Some details of the visit need correcting.")
TRACK_INVALID = N_("The positions could not be read.")


def json_body(schema: type[schemas.Schema], *, code: str, message: str, overrides: dict | None = None,
              max_bytes: int = schemas.SMALL_BODY) -> tuple[object, schemas.Schema]:
    """The request's JSON, read strictly and checked against ``schema``: (data as sent, validated).

    Raises schemas.BodyError (400 not JSON, 413 too large, 422 wrong shape), answered by device_api."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise schemas.too_large(max_bytes)  # refused without reading it
    data = schemas.read_json(request.stream.read(max_bytes + 1), max_bytes=max_bytes)
    return data, schemas.validate(schema, data, code=code, message=message, overrides=overrides)


@bp.route("/version")
@public
def version():
    return jsonify(current=current_app.config["CLIENT_VERSION"], min_supported=app_settings.min_client_version(current_app.config))


@bp.route("/android/release")
@public
def android_release():
    """The Android app the phones should run (android_wrapper/PROTOCOL.md, "Updates"). Public: a
    phone asks before it is enrolled."""
    r = android_releases.current()
    if r is None:
        return error("no_release", N_("No version of the phone app is published yet."), 404)
    response = jsonify(version_code=r.version_code, version_name=r.version_name, size=r.size, sha256=r.sha256,
                       min_version_code=r.min_version_code,
                       url=url_for("android.download", version_code=r.version_code, _external=True))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/device")
@device_api
def device():
    d = g.device
    return jsonify(
        uuid=d.uuid, status=d.status,
        user={"id": d.user.id, "name": d.user.full_name, "username": d.user.username, "office": d.user.office.name},
        server_time=clock.now().isoformat(),
    )


@bp.route("/bootstrap")
@device_api
def bootstrap():
    """What the phone needs to capture offline: loan types, photo lists, the officer's own borrowers."""
    officer = g.device.user
    phone_surveys = sync.phone_surveys()  # first: it commits a version it makes
    products = product_service.active_products(with_items=True)
    # A retired phone only hands in what it holds: it no longer gets the customer list.
    borrowers = sync.own_borrowers(g.device)
    # Full ID numbers go to the phone (returning customers are recognised offline): recorded once per phone.
    identity_access.record_disclosure_to_device(officer, g.device.id, (b.id for b in borrowers), ip=client_ip())
    cfg = current_app.config
    return jsonify(
        products=[
            {
                "id": p.id, "code": p.code, "name": p.name,
                "min_amount": str(p.min_amount), "max_amount": str(p.max_amount),
                "min_term": p.min_term_months, "max_term": p.max_term_months,
                # For the offline repayment calculator (static/js/schedule.js).
                "annual_rate": str(p.annual_rate), "min_rate": str(p.min_rate), "max_rate": str(p.max_rate),
                "method": p.repayment_method, "frequency": p.frequency, "day_count": p.day_count,
                "items": [
                    {"id": i.id, "code": i.code, "name": i.name, "required": i.required_count, "max": i.max_count}
                    for i in p.items if not i.retired  # a retired item is no longer asked for
                ],
                # The household survey the officer fills offline (its version travels back with the answers).
                "survey": phone_surveys.get(p.id),
                # Captured in joint-liability groups (联保小组), with the group's size and relatives rules.
                "group": group_capture.phone_rules(p),
            }
            for p in products
        ],
        borrowers=[
            {"uuid": b.uuid, "name": b.name, "id_number": b.id_number, "phone": b.phone,
             "village": b.village, "address": b.address}
            for b in borrowers
        ],
        # His active loans, for a repayment taken in the village (services/field_collections.py).
        loans=field_collections.phone_loans(officer) if g.device.status == "active" else [],
        settings={
            "gps_max_accuracy_m": cfg["GPS_MAX_ACCURACY_M"],
            "photo_long_edge": cfg["PHOTO_LONG_EDGE"],
            "photo_jpeg_quality": cfg["PHOTO_JPEG_QUALITY"],
            "upload_chunk_bytes": cfg["UPLOAD_CHUNK_BYTES"],
            "max_photo_bytes": cfg["MAX_PHOTO_BYTES"],
            # GPS trail: sampled every N minutes while the app is open within working hours.
            "trail_interval_min": cfg["TRAIL_INTERVAL_MIN"],
            "trail_hours": cfg["TRAIL_HOURS"],
        },
    )


@bp.route("/applications", methods=["POST"])
@device_api
def post_manifest():
    data, _ = json_body(schemas.Manifest, code="invalid_manifest", message=MANIFEST_INVALID,
                        overrides=schemas.MANIFEST_FIELDS)
    now = clock.now()
    receipt = sync.receive_manifest(
        data, g.device, now=now, today=clock.business_today(now),
        settings=sync.SyncSettings.from_config(current_app.config), ip=client_ip(),
    )
    body = dict(receipt.status)
    body["upload_urls"] = {uuid: f"{bp.url_prefix}/uploads/{uuid}" for uuid in receipt.needed}
    return jsonify(body), 201 if receipt.created else 200


@bp.route("/applications/<app_uuid>/resubmit", methods=["POST"])
@device_api
def resubmit(app_uuid: str):
    data, _ = json_body(schemas.Resubmission, code="invalid_manifest", message=MANIFEST_INVALID,
                        overrides=schemas.MANIFEST_FIELDS)
    receipt = sync.resubmit(
        app_uuid, data, g.device, now=clock.now(),
        settings=sync.SyncSettings.from_config(current_app.config), ip=client_ip(),
    )
    body = dict(receipt.status)
    body["upload_urls"] = {uuid: f"{bp.url_prefix}/uploads/{uuid}" for uuid in receipt.needed}
    return jsonify(body)


@bp.route("/returned")
@device_api
def returned():
    """Applications sent back to this officer for more material: the phone's to-do list; and his
    joint-liability groups returned to him, to add members to."""
    rows = sync.returned_to(g.device)
    if rows:  # each carries its borrower's full ID number (a replacement phone rebuilds the draft)
        identity_access.record_disclosure_to_device(
            g.device.user, g.device.id, sync.borrower_ids([r["application_id"] for r in rows]), ip=client_ip())
    # And the groups returned to him: the phone adds new members to them (group_capture.attach).
    return jsonify(applications=rows, groups=sync.returned_groups_to(g.device))


@bp.route("/plan")
@device_api
def plan():
    """The officer's work plan: open tasks due within the horizon, for offline use."""
    from app.services import tasks

    settings = tasks.TaskSettings.from_config(current_app.config)
    body = tasks.plan_for(g.device.user, clock.business_today(), settings)
    for item in body["tasks"]:
        item["kind_label"] = translate_message(tasks.KIND_LABELS.get(item["kind"], item["kind"]))
    return jsonify(body)


@bp.route("/tasks/<task_uuid>/report", methods=["POST"])
@device_api
def task_report(task_uuid: str):
    from app.services import tasks

    cfg = current_app.config
    # Up to three photos inline, base64 (4 characters per 3 bytes), within the request limit.
    limit = min(cfg["MAX_CONTENT_LENGTH"] or 2**62, schemas.SMALL_BODY + tasks.MAX_PHOTOS * (cfg["MAX_PHOTO_BYTES"] * 4 // 3 + 4))
    _, report = json_body(schemas.VisitReport, code="invalid_report", message=REPORT_INVALID,
                          overrides=schemas.REPORT_FIELDS, max_bytes=limit)
    answer = tasks.record_report(
        task_uuid, report.model_dump(), g.device.user, now=clock.now(),
        settings=tasks.TaskSettings.from_config(cfg), store=photo_store(),
        max_photo_bytes=cfg["MAX_PHOTO_BYTES"], max_photo_pixels=cfg["MAX_PHOTO_PIXELS"], ip=client_ip(),
        max_back_days=cfg["BACKDATE_MAX_DAYS"],
    )
    return jsonify(answer)


COLLECTION_INVALID = N_("Some details of the collection need correcting.")


@bp.route("/collections", methods=["POST"])
@device_api
def field_collection():
    """A repayment the officer took in the field (queued on the phone): recorded once per UUID."""
    from app.services import loans

    cfg = current_app.config
    limit = min(cfg["MAX_CONTENT_LENGTH"] or 2**62, schemas.SMALL_BODY + cfg["MAX_PHOTO_BYTES"] * 4 // 3 + 4)
    _, body = json_body(schemas.FieldCollection, code="invalid_collection", message=COLLECTION_INVALID,
                        overrides=schemas.COLLECTION_FIELDS, max_bytes=limit)
    return jsonify(field_collections.receive(
        body.model_dump(), g.device.user, now=clock.now(), settings=loans.LoanSettings.from_config(cfg),
        store=photo_store(), max_photo_bytes=cfg["MAX_PHOTO_BYTES"], max_photo_pixels=cfg["MAX_PHOTO_PIXELS"],
        ip=client_ip()))


@bp.route("/collections/status")
@device_api
def field_collection_status():
    return jsonify(collections=field_collections.own_states(g.device.user, request.args.getlist("uuid")[:200]))


@bp.route("/notifications")
@device_api
def notifications():
    """The officer's recent notifications, for the phone's home view (kept there offline)."""
    from app.services import notifications as notification_service

    user = g.device.user
    return jsonify(
        unread=notification_service.unread_count(user),
        items=[{"id": n.id, "label": notification_label(n.kind), "message": n.message,
                "at": n.created_at.isoformat(), "unread": n.read_at is None}
               for n in notification_service.recent(user)[:20]],
        # By kind and business day, newest first, as the phone shows them ("items": older phones).
        groups=[{"kind": grp.kind, "label": notification_label(grp.kind), "day": grp.day.isoformat(),
                 "count": grp.count, "unread": grp.unread,
                 "items": [{"id": n.id, "message": n.message, "at": n.created_at.isoformat(),
                            "unread": n.read_at is None} for n in grp.items[:20]]}
                for grp in notification_service.grouped(user)],
    )


@bp.route("/notifications/read", methods=["POST"])
@device_api
def notifications_read():
    from app.services import notifications as notification_service

    notification_service.mark_all_read(g.device.user, clock.now())
    return jsonify(unread=0)


@bp.route("/track", methods=["POST"])
@device_api
def track():
    """A batch of GPS trail points; the phone deletes those listed as confirmed."""
    from app.services import trail

    _, batch = json_body(schemas.TrackBatch, code="invalid_track", message=TRACK_INVALID,
                         overrides=schemas.TRACK_FIELDS)
    points, rejected = [], []
    for index, raw in enumerate(batch.points):  # type: ignore[attr-defined]
        try:
            points.append((index, schemas.TrackPoint.model_validate(raw).model_dump()))
        except schemas.ValidationError as e:
            field, (message, params) = next(iter(schemas.problems(e, {"": ("", N_("This must be a group of fields."))}).items()))
            rejected.append({"index": index, "field": field, "reason": translate_message(message, params)})
    answer = trail.ingest(g.device, points, now=clock.now(), max_back_days=current_app.config["BACKDATE_MAX_DAYS"])
    rejected += [dict(r, reason=translate_message(*r["reason"])) for r in answer["rejected"]]
    answer["rejected"] = sorted(rejected, key=lambda r: r["index"])
    return jsonify(answer)


@bp.route("/applications/status")
@device_api
def application_status():
    uuids = request.args.getlist("uuid")[:200]
    rows = sync.own_applications(g.device, uuids)
    return jsonify(applications=[sync.status_of(a) for a in rows])


def _tus_headers(response, state: sync.UploadState | None = None):
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    if state is not None:
        response.headers["Upload-Length"] = str(state.size)
        response.headers["Upload-Offset"] = str(state.offset)
        if state.verified is not None:
            # The phone deletes its copy only when it sees this: the server holds these exact bytes.
            response.headers["X-Photo-Verified"] = state.verified
    return response


@bp.route("/uploads/<photo_uuid>", methods=["HEAD"])
@device_api
def upload_head(photo_uuid: str):
    state = sync.upload_status(
        photo_uuid, g.device, store=photo_store(), settings=sync.SyncSettings.from_config(current_app.config),
        now=clock.now(), ip=client_ip(),
    )
    return _tus_headers(current_app.response_class(status=200), state)


@bp.route("/uploads/<photo_uuid>", methods=["PATCH"])
@device_api
@metrics.sync_uploads_in_progress.track_inprogress()
def upload_patch(photo_uuid: str):
    if request.headers.get("Content-Type") != "application/offset+octet-stream":
        return error("bad_content_type", N_("The upload was sent in the wrong format."), 415)
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return error("bad_offset", N_("The upload is out of step; it will resume from the right place."), 400)
    # The answer is built from what the service returns: nothing is read back after its commit.
    state = sync.append_chunk(
        photo_uuid, g.device, offset, request.stream, request.content_length,
        store=photo_store(), settings=sync.SyncSettings.from_config(current_app.config), now=clock.now(), ip=client_ip(),
    )
    return _tus_headers(current_app.response_class(status=204), state)


SURVEY_INVALID = N_("Some details of the survey need correcting.")


@bp.route("/campaigns")
@device_api
def campaigns():
    """The open village campaigns of the officer's office, each with its product's survey."""
    from app.services import villages

    return jsonify(campaigns=villages.phone_campaigns(g.device.user, clock.business_today())
                   if g.device.status == "active" else [])


@bp.route("/campaigns/<campaign_uuid>/households", methods=["POST"])
@device_api
def campaign_household(campaign_uuid: str):
    """A household surveyed in a village campaign (queued on the phone): recorded once per UUID."""
    from app.services import villages

    _, body = json_body(schemas.CampaignHousehold, code="invalid_survey", message=SURVEY_INVALID,
                        overrides=schemas.HOUSEHOLD_FIELDS)
    return jsonify(villages.receive_household(campaign_uuid, body.model_dump(), g.device.user, now=clock.now(),
                                              device_id=g.device.id, device=g.device, ip=client_ip()))
