"""The phone's application manifest: parsed and checked completely before anything is written.

The manifest is the small JSON the phone sends first (borrower, product, amount, GPS and the
list of photos with their SHA-256); photos follow separately. Every problem is reported at once,
per field, so the officer can correct everything in one go.

Its shape — which fields, of which JSON types, finite numbers in range, bounded texts — is checked
first at the API's edge (``app/api/schemas.Manifest``); this module holds the business rules: the
product's limits, the ID number's check digit, the name rule, the GPS accuracy limit, the photos
each document needs.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import uuid as uuid_mod
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

from app.domain import idcard
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount
from app.domain.names import check_name
from app.domain.phone import PhoneError, normalise_mobile

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_PURPOSE = 200
MAX_NOTE = 500
# Phones' clocks drift; a capture a few minutes "in the future" is not an error.
CLOCK_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class ItemSpec:
    id: int
    name: str
    required: int
    max: int


@dataclass(frozen=True)
class ProductSpec:
    id: int
    name: str
    min_amount: Decimal
    max_amount: Decimal
    min_term: int
    max_term: int
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class BorrowerEntry:
    uuid: str
    name: str
    id_number: str
    sex: str
    birth_date: date
    phone: str
    village: str
    address: str
    household_key: str = ""


@dataclass(frozen=True)
class GpsFix:
    lat: float
    lon: float
    accuracy_m: int
    at: datetime | None
    note: str


@dataclass(frozen=True)
class PhotoEntry:
    uuid: str
    item_id: int
    sequence: int
    sha256: str
    size: int
    taken_at: datetime | None


@dataclass(frozen=True)
class SurveyEntry:
    """The household survey as answered on the phone: checked against its version by the survey
    service (app/services/surveys.py), in the application's own transaction."""

    version_id: int
    answers: dict[str, Any]


@dataclass(frozen=True)
class GroupEntry:
    """The joint-liability group the application joins (every member's manifest carries it whole)."""

    uuid: str
    name: str
    village: str
    size: int
    relatives: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Manifest:
    uuid: str
    captured_at: datetime
    borrower: BorrowerEntry
    product_id: int
    amount: Decimal
    term_months: int
    purpose: str
    gps: GpsFix | None
    photos: tuple[PhotoEntry, ...]
    survey: SurveyEntry | None = None
    group: GroupEntry | None = None


Errors = dict[str, tuple[str, dict[str, object]]]


class ManifestError(ValueError):
    def __init__(self, errors: Errors) -> None:
        super().__init__(errors)
        self.errors = errors


def canonical_sha256(data: Mapping[str, Any]) -> str:
    """Hash of the manifest as sent, independent of key order and whitespace."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid_mod.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        return None
    return value.strip()


def parse_manifest(
    data: Any,
    products: Mapping[int, ProductSpec],
    *,
    today: date,
    now: datetime,
    max_photo_bytes: int,
    gps_max_accuracy_m: int,
) -> Manifest:
    errors: Errors = {}

    def bad(field: str, message: str, **params: object) -> None:
        errors.setdefault(field, (message, params))

    if not isinstance(data, dict):
        raise ManifestError({"manifest": (N_("The application data is not a JSON object."), {})})

    app_uuid = _uuid(data.get("uuid"))
    if app_uuid is None:
        bad("uuid", N_("The application has no valid identifier."))
    captured_at = _time(data.get("captured_at"))
    if captured_at is None:
        bad("captured_at", N_("The capture time is missing or not a time with a time zone."))
    elif captured_at > now.astimezone(timezone.utc).replace(microsecond=0) + CLOCK_SLACK:
        bad("captured_at", N_("The capture time is in the future; check the phone's clock."))

    borrower = _parse_borrower(data.get("borrower"), today, bad)

    product = products.get(_int(data.get("product_id")) or -1)
    if product is None:
        bad("product_id", N_("Unknown loan type. Update the app's data and choose the loan type again."))

    amount: Decimal | None = None
    try:
        amount = parse_amount(str(data.get("amount", "")))
    except AmountError as e:
        bad("amount", e.message, **e.params)
    if amount is not None and product is not None:
        if not product.min_amount <= amount <= product.max_amount:
            bad("amount", N_("The amount must be between %(min)s and %(max)s yuan for this loan type."),
                min=f"{product.min_amount:,.2f}", max=f"{product.max_amount:,.2f}")
        elif amount <= 0:
            bad("amount", N_("The amount must be more than zero."))

    term = _int(data.get("term_months"))
    if term is None or term <= 0:
        bad("term_months", N_("The term must be a whole number of months."))
    elif product is not None and not product.min_term <= term <= product.max_term:
        bad("term_months", N_("The term must be between %(min)s and %(max)s months for this loan type."),
            min=product.min_term, max=product.max_term)

    purpose = _text(data.get("purpose"), MAX_PURPOSE)
    if not purpose:
        bad("purpose", N_("State what the loan is for (at most %(limit)s characters)."), limit=MAX_PURPOSE)

    gps = _parse_gps(data.get("gps"), gps_max_accuracy_m, bad)
    photos = _parse_photos(data.get("photos"), product, max_photo_bytes, bad)
    survey = _parse_survey(data.get("survey"), bad)
    group = _parse_group(data.get("group"), bad)

    if errors:
        raise ManifestError(errors)
    assert app_uuid and captured_at and borrower and product and amount is not None and term and purpose
    return Manifest(app_uuid, captured_at, borrower, product.id, amount, term, purpose, gps, photos, survey, group)


def _parse_survey(raw: Any, bad) -> SurveyEntry | None:
    """The shape is the API schema's (app/api/schemas.ManifestSurvey); the answers themselves are
    checked against their survey version by the survey service."""
    if raw is None:
        return None
    version_id = _int(raw.get("version_id")) if isinstance(raw, dict) else None
    answers = raw.get("answers") if isinstance(raw, dict) else None
    if version_id is None or version_id <= 0 or not isinstance(answers, dict):
        bad("survey", N_("The survey's answers could not be read."))
        return None
    return SurveyEntry(version_id, dict(answers))


MAX_GROUP_NAME = 50


def _parse_group(raw: Any, bad) -> GroupEntry | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        bad("group", N_("The group's details could not be read."))
        return None
    group_uuid = _uuid(raw.get("uuid"))
    name = _text(raw.get("name"), MAX_GROUP_NAME)
    village = _text(raw.get("village"), 100)
    size = _int(raw.get("size"))
    if group_uuid is None or size is None:
        bad("group", N_("The group's details could not be read."))
        return None
    if not name:
        bad("group.name", N_("Give the group a name (at most %(limit)s characters)."), limit=MAX_GROUP_NAME)
        return None
    if not village:
        bad("group.village", N_("Enter the group's village."))
        return None
    pairs: list[tuple[str, str]] = []
    for pair in raw.get("relatives") or ():
        uuids = [_uuid(u) for u in pair] if isinstance(pair, (list, tuple)) and len(pair) == 2 else [None]
        if any(u is None for u in uuids):
            bad("group.relatives", N_("The group's details could not be read."))
            return None
        pairs.append((uuids[0], uuids[1]))  # type: ignore[arg-type]
    return GroupEntry(group_uuid, name, village, size, tuple(pairs))


@dataclass(frozen=True)
class Resubmission:
    """What the officer adds to a returned application: a note and new photos."""

    note: str
    photos: tuple[PhotoEntry, ...]


def parse_resubmission(
    data: Any,
    product: ProductSpec,
    existing: Mapping[str, tuple[int, int]],
    *,
    max_photo_bytes: int,
) -> Resubmission:
    """``existing`` maps the uuids of photos the server holds to their (item, sequence)."""
    errors: Errors = {}

    def bad(field: str, message: str, **params: object) -> None:
        errors.setdefault(field, (message, params))

    if not isinstance(data, dict):
        raise ManifestError({"manifest": (N_("The application data is not a JSON object."), {})})
    note = _text(data.get("note"), MAX_NOTE)
    if note is None:
        bad("note", N_("The note is too long (at most %(limit)s characters)."), limit=MAX_NOTE)
    photos = _parse_photos(data.get("photos"), product, max_photo_bytes, bad, existing)
    if not errors and not note and not photos:
        bad("note", N_("Add the missing photos, or a note for the director, before resubmitting."))
    if errors:
        raise ManifestError(errors)
    return Resubmission(note or "", photos)


def _parse_borrower(raw: Any, today: date, bad) -> BorrowerEntry | None:
    if not isinstance(raw, dict):
        bad("borrower", N_("The borrower's details are missing."))
        return None
    ok = True
    borrower_uuid = _uuid(raw.get("uuid"))
    if borrower_uuid is None:
        bad("borrower.uuid", N_("The borrower has no valid identifier."))
        ok = False
    name, problem = check_name(raw.get("name") or "")
    if not name:
        bad("borrower.name", N_("Enter the borrower's name as on the ID card."))
        ok = False
    elif problem:
        bad("borrower.name", problem[0], **problem[1])
        ok = False
    info = None
    try:
        info = idcard.parse(str(raw.get("id_number", "")), today)
    except idcard.IdNumberError as e:
        bad("borrower.id_number", e.message, **dict(e.params))
        ok = False
    phone = str(raw.get("phone") or "").strip()
    if phone:
        try:
            phone = normalise_mobile(phone)
        except PhoneError as e:
            bad("borrower.phone", e.message)
            ok = False
    village = _text(raw.get("village"), 100)
    address = _text(raw.get("address"), 200)
    if village is None or address is None:
        bad("borrower.address", N_("The village or address is too long."))
        ok = False
    if not ok or info is None:
        return None
    household = _text(raw.get("household_key"), 50)
    if household is None:
        bad("borrower.household_key", N_("The household number is too long (at most %(limit)s characters)."), limit=50)
        return None
    return BorrowerEntry(borrower_uuid, name, info.number, info.sex, info.birth_date, phone, village or "",  # type: ignore[arg-type]
                         address or "", household)


def _parse_gps(raw: Any, max_accuracy: int, bad) -> GpsFix | None:
    """Shape, types and ranges (finite numbers, lat/lon on the globe, accuracy ≥ 0) are the API
    schema's (app/api/schemas.ManifestGps); here only the rule about a poor fix."""
    if raw is None:
        return None
    lat, lon, acc = float(raw["lat"]), float(raw["lon"]), float(raw["accuracy_m"])
    if not all(math.isfinite(v) for v in (lat, lon, acc)):  # never past the schema; a guard, not a check
        bad("gps", N_("The GPS position is not readable."))
        return None
    note = _text(raw.get("note"), 200) or ""
    if acc > max_accuracy and not note:
        bad("gps", N_("The GPS fix is only accurate to %(accuracy)s m (limit %(limit)s m): take it again outdoors, or note why."),
            accuracy=round(acc), limit=max_accuracy)  # type: ignore[arg-type]
        return None
    return GpsFix(lat, lon, int(round(acc)), _time(raw.get("at")), note)


def _parse_photos(
    raw: Any,
    product: ProductSpec | None,
    max_bytes: int,
    bad,
    existing: Mapping[str, tuple[int, int]] | None = None,
) -> tuple[PhotoEntry, ...]:
    """The new photos of ``raw``. ``existing`` maps the uuids the server already holds to
    their (item, sequence): those are skipped when resent, and counted toward each item."""
    existing = existing or {}
    if not isinstance(raw, list):
        bad("photos", N_("The list of photos is missing."))
        return ()
    entries: list[PhotoEntry] = []
    seen_uuids: set[str] = set()
    seen_slots: set[tuple[int, int]] = set(existing.values())
    items = {i.id: i for i in product.items} if product else {}
    for index, p in enumerate(raw):
        field = f"photos.{index}"
        if not isinstance(p, dict):
            bad(field, N_("Photo %(n)s is not described properly."), n=index + 1)
            continue
        photo_uuid = _uuid(p.get("uuid"))
        item_id, seq, size = _int(p.get("item_id")), _int(p.get("sequence")), _int(p.get("size"))
        sha = p.get("sha256")
        if photo_uuid is None or photo_uuid in seen_uuids or seq is None or seq < 1:
            bad(field, N_("Photo %(n)s is not described properly."), n=index + 1)
            continue
        if photo_uuid in existing:
            if existing[photo_uuid] != (item_id, seq):
                bad(field, N_("Photo %(n)s is not described properly."), n=index + 1)
            seen_uuids.add(photo_uuid)
            continue
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            bad(field, N_("Photo %(n)s has no valid SHA-256 checksum."), n=index + 1)
            continue
        if size is None or size <= 0:
            bad(field, N_("Photo %(n)s is empty; take it again."), n=index + 1)
            continue
        if size > max_bytes:
            bad(field, N_("Photo %(n)s is larger than %(limit)s MB."), n=index + 1, limit=max_bytes // (1024 * 1024))
            continue
        if product is not None and item_id not in items:
            bad(field, N_("Photo %(n)s belongs to a document this loan type does not ask for."), n=index + 1)
            continue
        if (item_id, seq) in seen_slots:  # type: ignore[comparison-overlap]
            bad(field, N_("Photo %(n)s repeats the number of another photo of the same document."), n=index + 1)
            continue
        seen_uuids.add(photo_uuid)
        seen_slots.add((item_id, seq))  # type: ignore[arg-type]
        entries.append(PhotoEntry(photo_uuid, item_id, seq, sha, size, _time(p.get("taken_at"))))  # type: ignore[arg-type]
    if product is not None:
        for item in product.items:
            count = sum(1 for e in entries if e.item_id == item.id)
            count += sum(1 for slot in existing.values() if slot[0] == item.id)
            if count < item.required:
                bad(f"items.{item.id}", N_("%(item)s needs %(required)s photo(s); %(count)s taken."),
                    item=item.name, required=item.required, count=count)
            elif count > item.max:
                bad(f"items.{item.id}", N_("%(item)s takes at most %(max)s photos; %(count)s taken."),
                    item=item.name, max=item.max, count=count)
    return tuple(entries)
