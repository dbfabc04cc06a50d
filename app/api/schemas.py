"""Every JSON body /api/v1 accepts: a strict reader, then a schema per body (pydantic v2).

The edge of the API refuses what is not data before any service sees it:

1. ``read_json`` bounds the body's size and nesting depth, refuses duplicate keys, the literals
   ``NaN``/``Infinity`` and numbers that overflow a double (``1e999``) — Python's ``json`` module
   accepts all of these, and a non-finite GPS accuracy used to crash the rounding further on.
2. ``validate`` checks the shape against a schema: strict types (no "12" for 12, no 1 for true, no
   number for a text), finite numbers in range, no unknown field, bounded texts and lists.

Problems come back as ``BodyError`` with one message per field, dotted like ``borrower.name`` or
``photos.2``, in the shape the phone already shows (``{"error", "message", "fields"}``).
Business rules (product limits, the ID number's check digit, names, dates) stay in ``app/domain``:
a schema only says what a well-formed body looks like.
"""
from __future__ import annotations

import json
import math
import re
import uuid as uuid_mod
from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, StrictBool, StrictInt, StrictStr, ValidationError,
)
from pydantic_core import PydanticCustomError

from app.domain.i18n import N_

# The deepest body we send is three levels (manifest → photos → photo); anything far deeper is hostile.
MAX_DEPTH = 10
SMALL_BODY = 1024 * 1024  # manifests, resubmissions, trail batches
MAX_INT_DIGITS = 20
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class BodyError(Exception):
    """A body refused at the edge: ``fields`` maps a dotted field to (message, params)."""

    def __init__(self, code: str, message: str, status: int, fields: dict | None = None, **params: object) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status
        self.fields: dict[str, tuple[str, dict]] = fields or {}
        self.params = params


# --- 1. reading the bytes -------------------------------------------------------------------


class _Refused(ValueError):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _constant(name: str) -> float:
    raise _Refused(N_("Numbers must be finite (NaN and Infinity are not numbers)."))


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(N_("A number is too large."))
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(N_("A number is too large."))
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(N_("The field %(field)s appears twice."), field=key)
        out[key] = value
    return out


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in parsed JSON, level by level; stops past ``limit``.
    (The C parser itself gives up with RecursionError near a thousand levels, in microseconds.)"""
    depth, level = 0, [value]
    while depth <= limit:
        level = [v for v in level if isinstance(v, (list, dict))]
        if not level:
            break
        depth += 1
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v)]
    return depth


def too_large(max_bytes: int) -> BodyError:
    return BodyError("body_too_large", N_("The data sent is too large (at most %(limit)s KB)."), 413,
                     limit=max_bytes // 1024)


def read_json(raw: bytes, *, max_bytes: int = SMALL_BODY) -> Any:
    """The body as Python data, or BodyError (400 not JSON, 413 too large)."""
    if len(raw) > max_bytes:
        raise too_large(max_bytes)

    def refuse(message: str = N_("The data sent is not valid JSON."), **params: object):
        return BodyError("invalid_json", message, 400, {"body": (message, params)}, **params)

    too_deep = (N_("The data sent is nested too deeply (at most %(limit)s levels)."), {"limit": MAX_DEPTH})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse() from None
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int, object_pairs_hook=_object)
    except _Refused as e:
        raise refuse(e.message, **e.params) from None
    except RecursionError:
        raise refuse(too_deep[0], **too_deep[1]) from None
    except ValueError:
        raise refuse() from None
    if depth_of(data) > MAX_DEPTH:
        raise refuse(too_deep[0], **too_deep[1])
    return data


# --- 2. field types ---------------------------------------------------------------------------


def _number(value: Any) -> float:
    # JSON numbers only: not a boolean, not a numeric string; finite whatever the parser let through.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number_type", "not a number")
    if not math.isfinite(value):
        raise PydanticCustomError("finite_number", "not finite")
    return float(value)


def _uuid(value: str) -> str:
    try:
        return str(uuid_mod.UUID(value))
    except ValueError:
        raise PydanticCustomError("uuid", "not a uuid") from None


def _aware_time(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("time", "not a time") from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("time", "no time zone")
    return value


def _sha256(value: str) -> str:
    if not SHA256_RE.fullmatch(value):
        raise PydanticCustomError("sha256", "not a sha256")
    return value


Number = Annotated[float, PlainValidator(_number)]
Uuid = Annotated[StrictStr, Field(max_length=64), AfterValidator(_uuid)]
Time = Annotated[StrictStr, Field(max_length=40), AfterValidator(_aware_time)]
Sha256 = Annotated[StrictStr, Field(max_length=64), AfterValidator(_sha256)]
Latitude = Annotated[Number, Field(ge=-90, le=90)]
Longitude = Annotated[Number, Field(ge=-180, le=180)]
Accuracy = Annotated[Number, Field(ge=0, le=100_000)]
Count = Annotated[StrictInt, Field(ge=-(2**31), le=2**31)]


def Text(limit: int):  # noqa: N802 - reads like a type
    return Annotated[StrictStr, Field(max_length=limit)]


class Schema(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


# --- 3. the bodies ----------------------------------------------------------------------------


class ManifestBorrower(Schema):
    uuid: Uuid
    name: Text(100)
    id_number: Text(32)
    phone: Optional[Text(32)] = None
    village: Optional[Text(100)] = None
    address: Optional[Text(200)] = None
    # The household number (户号) the officer noted, kept on a borrower who has none (groups).
    household_key: Optional[Text(50)] = None


class ManifestGps(Schema):
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy
    at: Optional[Time] = None
    note: Optional[Text(200)] = None


class ManifestPhoto(Schema):
    uuid: Uuid
    item_id: Count
    sequence: Count
    sha256: Sha256
    size: Count
    taken_at: Optional[Time] = None


def _answer(value: str | bool) -> str | bool:
    if isinstance(value, str) and len(value) > 2000:
        raise PydanticCustomError("string_too_long", "too long", {"max_length": 2000})
    return value


# A survey answer: decimal text, an option's value, text or a photo's UUID — or yes/no as true/false.
# Never a JSON number (money and measures travel as text, as everywhere else).
SurveyAnswer = Annotated[StrictStr | StrictBool, AfterValidator(_answer)]
SurveyKey = Annotated[StrictStr, Field(max_length=50)]


class ManifestSurvey(Schema):
    version_id: Count
    answers: Annotated[dict[SurveyKey, SurveyAnswer], Field(max_length=200)]


class ManifestGroup(Schema):
    """The joint-liability group (联保小组) this application is a member of, as every member's
    manifest carries it (app/services/group_capture.py)."""
    uuid: Uuid
    name: Text(50)
    village: Text(100)
    size: Count
    relatives: Annotated[list[Annotated[list[Uuid], Field(min_length=2, max_length=2)]], Field(max_length=20)] = []


class Manifest(Schema):
    uuid: Uuid
    captured_at: Time
    borrower: ManifestBorrower
    product_id: Count
    amount: Text(32)
    term_months: Count
    purpose: Optional[Text(200)] = None
    gps: Optional[ManifestGps] = None
    photos: Annotated[list[ManifestPhoto], Field(max_length=200)]
    # Issue 18: the household survey's answers and the group; an older phone sends neither.
    survey: Optional[ManifestSurvey] = None
    group: Optional[ManifestGroup] = None


class Resubmission(Schema):
    note: Optional[Text(500)] = None
    photos: Annotated[list[ManifestPhoto], Field(max_length=200)] = []


class ReportOutcome(Schema):
    met_borrower: StrictBool = False
    paid_amount: Optional[Text(32)] = None
    promise_date: Optional[Text(32)] = None
    promise_amount: Optional[Text(32)] = None
    loan_use_verified: Optional[StrictBool] = None
    notes: Optional[Text(500)] = None


class ReportGps(Schema):
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy
    at: Optional[Time] = None
    is_mock: StrictBool = False


class ReportPhoto(Schema):
    uuid: Uuid
    sha256: Sha256
    # Base64 of a photo within MAX_PHOTO_BYTES; the body's own size bound is the real limit.
    content_base64: StrictStr


class VisitReport(Schema):
    report_uuid: Uuid
    completed_at: Optional[Time] = None
    outcome: ReportOutcome = ReportOutcome()
    gps: Optional[ReportGps] = None
    photos: Annotated[list[ReportPhoto], Field(max_length=3)] = []


class FieldCollection(Schema):
    """A repayment the officer took in the village (app/services/field_collections.py)."""
    uuid: Uuid
    loan_id: Count
    amount: Text(32)
    taken_at: Time
    gps: Optional[ReportGps] = None
    photo: ReportPhoto  # the borrower's signature, as he confirmed the payment


class TrackBatch(Schema):
    points: Annotated[list[Any], Field(max_length=500)]


class TrackPoint(Schema):
    uuid: Uuid
    at: Time
    lat: Latitude
    lon: Longitude
    accuracy_m: Optional[Accuracy] = None
    is_mock: StrictBool = False


def _campaign_answer(value: str | bool) -> str | bool:
    if isinstance(value, str) and len(value) > 2000:
        raise PydanticCustomError("string_too_long", "too long", {"max_length": 2000})
    return value


class CampaignHead(Schema):
    name: Text(100)
    id_number: Text(32)
    phone: Optional[Text(32)] = None


class CampaignHousehold(Schema):
    """A household surveyed in a village campaign (app/services/villages.py): the head, the
    household number (户号), the answers (text, or yes/no as true/false — never a JSON number), the
    village committee's rating and the home's GPS."""
    uuid: Uuid
    surveyed_at: Time
    household_no: Text(30)
    head: CampaignHead
    answers: Annotated[dict[Annotated[StrictStr, Field(max_length=50)],
                            Annotated[StrictStr | StrictBool, AfterValidator(_campaign_answer)]], Field(max_length=200)]
    rating: Text(20)
    gps: Optional[ReportGps] = None


# --- 4. problems in words ---------------------------------------------------------------------

# By pydantic's error type: what is wrong, in the user's language (translated by the web layer).
TYPE_MESSAGES = {
    "missing": N_("This is missing."),
    "extra_forbidden": N_("This field is not expected."),
    "string_type": N_("This must be text."),
    "int_type": N_("This must be a whole number."),
    "bool_type": N_("This must be true or false."),
    "list_type": N_("This must be a list."),
    "model_type": N_("This must be a group of fields."),
    "dict_type": N_("This must be a group of fields."),
    "model_attributes_type": N_("This must be a group of fields."),
    "number_type": N_("This must be a number."),
    "finite_number": N_("Numbers must be finite (NaN and Infinity are not numbers)."),
    "string_too_long": N_("At most %(limit)s characters."),
    "too_long": N_("At most %(limit)s entries."),
    "greater_than_equal": N_("This must be at least %(limit)s."),
    "less_than_equal": N_("This must be at most %(limit)s."),
    "uuid": N_("This is not a valid identifier."),
    "time": N_("This is not a time with a time zone."),
    "sha256": N_("This is not a valid SHA-256 checksum."),
}
FALLBACK = N_("This value is not valid.")

# Per body: a field (``#`` for a list index, ``*`` for anything below) → (reported field,
# message[, fixed params]). They keep the words the officer already knows from the checks that used to live
# in the services, and report a photo's problem on the photo, as the phone expects.
MANIFEST_FIELDS = {
    "": ("manifest", N_("The application data is not a JSON object.")),
    "uuid": ("uuid", N_("The application has no valid identifier.")),
    "captured_at": ("captured_at", N_("The capture time is missing or not a time with a time zone.")),
    "borrower": ("borrower", N_("The borrower's details are missing.")),
    "borrower.uuid": ("borrower.uuid", N_("The borrower has no valid identifier.")),
    "gps": ("gps", N_("The GPS position is not readable.")),
    "gps.*": ("gps", N_("The GPS position is not readable.")),
    "photos": ("photos", N_("The list of photos is missing.")),
    "photos.#.sha256": ("photos.#", N_("Photo %(n)s has no valid SHA-256 checksum.")),
    "photos.#": ("photos.#", N_("Photo %(n)s is not described properly.")),
    "photos.#.*": ("photos.#", N_("Photo %(n)s is not described properly.")),
    "survey": ("survey", N_("The survey's answers could not be read.")),
    "survey.*": ("survey", N_("The survey's answers could not be read.")),
    "group": ("group", N_("The group's details could not be read.")),
    "group.*": ("group", N_("The group's details could not be read.")),
}
REPORT_FIELDS = {
    "": ("report", N_("The visit report is not a JSON object.")),
    "report_uuid": ("report_uuid", N_("The report has no valid identifier.")),
    "gps": ("gps", N_("The GPS position is not valid; record it again.")),
    "gps.*": ("gps", N_("The GPS position is not valid; record it again.")),
    "photos.#": ("photos.#", N_("Photo %(n)s did not arrive intact; it will be sent again.")),
    "photos.#.*": ("photos.#", N_("Photo %(n)s did not arrive intact; it will be sent again.")),
}
COLLECTION_FIELDS = {
    "": ("collection", N_("The collection is not a JSON object.")),
    "uuid": ("uuid", N_("The collection has no valid identifier.")),
    "taken_at": ("taken_at", N_("The collection time is missing or not a time with a time zone.")),
    "gps": ("gps", N_("The GPS position is not valid; record it again.")),
    "gps.*": ("gps", N_("The GPS position is not valid; record it again.")),
    "photo": ("photo", N_("The borrower's signature photo is missing.")),
    "photo.*": ("photo", N_("The signature photo did not arrive intact; it will be sent again.")),
}
HOUSEHOLD_FIELDS = {
    "": ("survey", N_("The survey is not a JSON object.")),
    "uuid": ("uuid", N_("The survey has no valid identifier.")),
    "surveyed_at": ("surveyed_at", N_("The survey time is missing or not a time with a time zone.")),
    "gps": ("gps", N_("The GPS position is not valid; record it again.")),
    "gps.*": ("gps", N_("The GPS position is not valid; record it again.")),
    "answers.*": ("answers", N_("The survey's answers could not be read.")),
}
TRACK_FIELDS = {
    "*": ("points", N_("A batch is a list of at most %(limit)s positions."), {"limit": 500}),
}


def _pattern(loc: tuple) -> list[str]:
    return ["#" if isinstance(part, int) else str(part) for part in loc]


def describe(error: dict, overrides: dict[str, tuple]) -> tuple[str, tuple[str, dict]]:
    """One pydantic error → (dotted field, (message, params))."""
    loc = tuple(error["loc"])
    parts = _pattern(loc)
    index = next((p for p in loc if isinstance(p, int)), None)
    candidates = [".".join(parts)] + [".".join(parts[:i] + ["*"]) for i in range(len(parts) - 1, -1, -1)]
    for key in dict.fromkeys(candidates + ["*"]):
        if key in overrides:
            field, message, *fixed = overrides[key]
            if index is not None:
                field = field.replace("#", str(index))
            params: dict = {"n": index + 1} if index is not None else {}
            if "%(limit)s" in message:
                params["limit"] = _limit(error)
            params.update(*fixed)
            return field, (message, params)
    field = ".".join(str(p) for p in loc) or "body"
    message = TYPE_MESSAGES.get(error["type"], FALLBACK)
    params = {"limit": _limit(error)} if "%(limit)s" in message else {}
    return field, (message, params)


def _limit(error: dict) -> object:
    ctx = error.get("ctx") or {}
    for key in ("max_length", "ge", "le", "min_length"):
        if key in ctx:
            return ctx[key]
    return ""


def validate(schema: type[Schema], data: Any, *, code: str, message: str,
             overrides: dict[str, tuple] | None = None) -> Schema:
    """``data`` checked against ``schema``; every problem at once as a 422 BodyError."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise BodyError(code, message, 422, problems(e, overrides or {})) from None


def problems(error: ValidationError, overrides: dict[str, tuple]) -> dict[str, tuple[str, dict]]:
    fields: dict[str, tuple[str, dict]] = {}
    for item in error.errors(include_url=False):
        field, described = describe(item, overrides)
        fields.setdefault(field, described)
    return fields
