"""How the phone's API answers a refusal: the HTTP status of each service error code, in one table,
and the JSON body the phone reads (``{"error": code, "message": …, "fields": {…}}``).

Services raise ``app.services.errors.ServiceError`` and know no HTTP; this is the one place where a
code becomes a status. The phone acts on the status (e.g. 460: the photo arrived damaged, send it
again; 401 with ``wipe``: the phone is revoked) and shows the message.
"""
from __future__ import annotations

import contextlib

from flask import Blueprint, current_app, jsonify, request

from app.domain.i18n import N_
from app.http_edge import translate_message
from app.services import transactions
from app.services.devices import DeviceError
from app.services.errors import ServiceError
from app.services.transactions import DATABASE_FAULTS
from app.storage import StoreMisconfigured, StoreUnavailable

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
    # issue 18: the survey's answers and the joint-liability group a manifest carries
    "invalid_survey": 422,
    "group_refused": 422,
    "refused": 409,
    "photo_not_found": 404,
    "offset_mismatch": 409,
    "busy": 503,  # another request holds this item's lock (app/services/locks.py): retry shortly
    # the photo store is down, slow or refuses us (store_fault below): retry later, the phone keeps the photo
    "store_unavailable": 503,
    "store_misconfigured": 503,
    # the database dropped the connection, restarted or timed out (database_fault below): retry shortly
    "database_unavailable": 503,
    "too_long": 413,
    "hash_mismatch": CHECKSUM_MISMATCH,
    # visit reports and tasks (services/tasks.py)
    "unknown_task": 404,
    "task_closed": 409,
    "invalid_report": 422,
    "bad_assignee": 422,
    # field collections (services/field_collections.py)
    "invalid_collection": 422,
    "unknown_loan": 404,
    "own_deposit": 403,
    "nothing_to_deposit": 409,
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
    response = error(e.code, e.message, status_of(e.code), e.params, e.fields, **extra)
    if e.code in RETRY_AFTER_S:
        response.headers["Retry-After"] = str(RETRY_AFTER_S[e.code])
    return response


# How long a phone waits before it tries again when the store or a lock is not there (seconds).
RETRY_AFTER_S = {"busy": 5, "store_unavailable": 30, "store_misconfigured": 60, "database_unavailable": 10}
STORE_MESSAGE = N_("The photo store cannot be reached just now. Nothing was lost: what was being sent stays on "
                   "the phone and is sent again shortly.")


def store_fault(e: Exception):
    """The photo store failed under the request (app/storage: StoreUnavailable, StoreMisconfigured).

    Nothing of the request is kept and nothing was marked received, so the answer is a retryable
    503 with Retry-After; the phone's queue keeps the photo and sends it again. A store that refuses
    us (credentials, bucket, permission) needs an operator: it is logged as an error."""
    transactions.rollback()
    code = log_store_fault(e)
    response = error(code, STORE_MESSAGE, status_of(code))
    response.headers["Retry-After"] = str(RETRY_AFTER_S[code])
    return response


DATABASE_MESSAGE = N_("The server cannot reach its database just now. Nothing was lost: it will be tried again "
                      "shortly.")


def database_fault(e: Exception):
    """The database failed under the request: whatever was not committed is gone with the
    connection, and every phone request is safe to repeat (manifests by UUID, uploads by offset),
    so the answer is a retryable 503, never a 500."""
    with contextlib.suppress(Exception):  # the connection may be gone: nothing to undo there
        transactions.rollback()
    log_database_fault(e)
    response = error("database_unavailable", DATABASE_MESSAGE, status_of("database_unavailable"))
    response.headers["Retry-After"] = str(RETRY_AFTER_S["database_unavailable"])
    return response


def log_database_fault(e: Exception) -> None:
    current_app.logger.error("database failed under the request (%s %s): %s", request.method, request.path,
                             str(e).splitlines()[0][:300])


def log_store_fault(e: Exception) -> str:
    """Log a store failure under a request (an error when an operator must act); its code."""
    if isinstance(e, StoreMisconfigured):
        current_app.logger.error("photo store refuses the request (%s %s): %s", request.method, request.path, e)
        return "store_misconfigured"
    current_app.logger.warning("photo store unavailable (%s %s): %s", request.method, request.path, e)
    return "store_unavailable"


def register(bp: Blueprint) -> None:
    bp.register_error_handler(ServiceError, refusal)
    bp.register_error_handler(StoreUnavailable, store_fault)
    bp.register_error_handler(StoreMisconfigured, store_fault)
    for fault in DATABASE_FAULTS:
        bp.register_error_handler(fault, database_fault)
