"""How the phone's API answers a refusal: the HTTP status of each service error code, in one table,
and the JSON body the phone reads (``{"error": code, "message": …, "fields": {…}}``).

Services raise ``app.services.errors.ServiceError`` and know no HTTP; this is the one place where a
code becomes a status. The phone acts on the status (e.g. 460: the photo arrived damaged, send it
again; 401 with ``wipe``: the phone is revoked) and shows the message.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from app.http_edge import translate_message
from app.services import transactions
from app.services.devices import DeviceError
from app.services.errors import ServiceError

# tus: the checksum of a finished upload differs (the tus checksum extension's status).
CHECKSUM_MISMATCH = 460

STATUS: dict[str, int] = {
    # anything out of reach looks the same as what does not exist
    "not_found": 404,
    # phones: enrolment and authentication (services/devices.py)
    "not_officer": 400,
    "bad_allowance": 400,
    "bad_code": 400,
    "code_used": 400,
    "code_expired": 400,
    "phone_blocked": 403,
    "replace_needed": 409,
    "unknown_device": 401,
    "device_revoked": 401,
    "user_disabled": 401,
    "password_change_required": 403,
    "already_revoked": 400,
    "too_many_phones": 400,
    "bad_sim": 422,
    "sim_changed": 403,  # held until the admin re-approves the new SIM or revokes the phone
    "sim_not_changed": 409,
    "sim_unreadable": 409,
    # manifests, resubmissions and uploads (services/sync.py)
    "manifest_changed": 409,
    "not_yours": 403,
    "captured_before_enrolment": 422,
    "device_retired": 403,
    "borrower_elsewhere": 422,
    "borrower_name": 422,
    "borrower_changed": 409,
    "unknown_application": 404,
    "not_returned": 409,
    "unknown_product": 409,
    "changed_meanwhile": 409,
    "refused": 409,
    "photo_not_found": 404,
    "offset_mismatch": 409,
    "busy": 503,  # another request holds this item's lock (app/services/locks.py): retry shortly
    "too_long": 413,
    "hash_mismatch": CHECKSUM_MISMATCH,
    # visit reports and tasks (services/tasks.py)
    "unknown_task": 404,
    "task_closed": 409,
    "invalid_report": 422,
    "bad_assignee": 422,
    # refusals of the staff's screens, should one ever reach the API
    "application_changed": 409,
    "loan_changed": 409,
    "invalid_loan_input": 422,
    "invalid_rules": 422,
    "bad_region": 422,
    "ocr_off": 409,
}
# A photo Pillow refuses (app/storage/validation.py: not_image, too_many_pixels, …) is "photo_<why>".
PREFIX_STATUS: dict[str, int] = {"photo_": 422}
UNPROCESSABLE = 422  # a refusal not in the table: the request was understood and refused


def status_of(code: str) -> int:
    if code in STATUS:
        return STATUS[code]
    for prefix, status in PREFIX_STATUS.items():
        if code.startswith(prefix):
            return status
    return UNPROCESSABLE


def error(code: str, message: str, status: int, params: dict | None = None, fields: dict | None = None, **extra):
    """The JSON refusal: code, translated message, translated per-field messages, extra keys."""
    body = {"error": code, "message": translate_message(message, params or {})}
    if fields:
        body["fields"] = {k: translate_message(m, p) for k, (m, p) in fields.items()}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    if extra.get("wipe"):
        # HEAD answers carry no body: the tus client sees this header instead.
        response.headers["X-Device-Wipe"] = "1"
    return response


def refusal(e: ServiceError):
    """A service's refusal as the phone reads it; nothing of the request is kept."""
    transactions.rollback()
    extra: dict[str, object] = {}
    if isinstance(e, DeviceError):
        extra["wipe"] = e.code == "device_revoked"  # the phone deletes its data
    if "offset" in e.params:
        extra["offset"] = e.params["offset"]  # where a tus upload resumes
    return error(e.code, e.message, status_of(e.code), e.params, e.fields, **extra)


def register(bp: Blueprint) -> None:
    bp.register_error_handler(ServiceError, refusal)
