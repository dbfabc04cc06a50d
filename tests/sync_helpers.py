"""Helpers for tests that act as the officer's phone against /api/v1."""
from __future__ import annotations

import hashlib
import io
import random
import uuid
from datetime import datetime, timezone

from PIL import Image
from sqlalchemy import select

from app.domain.idcard import check_digit
from app.extensions import db
from app.models import Product, User
from app.services import devices as device_service


def jpeg_bytes(width: int = 1200, height: int = 900, seed: int = 1, quality: int = 85) -> bytes:
    """A real JPEG with noise in it, so it does not compress to nothing."""
    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    noise = Image.effect_noise((width, height), 60).convert("RGB")
    img = Image.blend(img, noise, 0.5)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(width: int = 1200, height: int = 900, seed: int = 1, orientation: int = 6, appended: bytes = b"") -> bytes:
    """A phone-like JPEG: EXIF with GPS (a home in Chengdu), camera make and orientation, then
    ``appended`` after the end-of-image marker (where a polyglot file hides its HTML)."""
    img = Image.open(io.BytesIO(jpeg_bytes(width, height, seed)))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "HUAWEI"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (30.0, 39.0, 36.5), 3: "E", 4: (104.0, 5.0, 28.1)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue() + appended


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def enrol(app, username: str) -> dict:
    """Enrol a device for ``username`` the way the admin and the officer would; returns API headers."""
    now = datetime.now(timezone.utc)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        user = db.session.scalar(select(User).where(User.username == username))
        code = device_service.create_enrolment_code(user, admin=admin, now=now)
        # One phone in use per officer: a further one replaces it, as the officer confirms on the phone.
        enrolled = device_service.redeem(code, user, label="test phone", phone_number="", now=now, replace=True)
        return {
            "Authorization": f"Bearer {enrolled.token}",
            "X-Device-Id": enrolled.device.uuid,
            "X-Client-Version": app.config["CLIENT_VERSION"],
        }


def valid_id_number(serial: int = 123, birth: str = "19850612") -> str:
    first17 = f"513401{birth}{serial:03d}"
    return first17 + check_digit(first17)


def manifest(app, photos: list[bytes], *, product_code: str = "XYD", **overrides) -> tuple[dict, list[bytes]]:
    """A complete manifest for the demo credit product: one photo per required item."""
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == product_code))
        items = [(i.id, i.required_count) for i in product.items]
        product_id = product.id
    entries, blobs = [], []
    index = 0
    for item_id, required in items:
        for seq in range(1, required + 1):
            data = photos[index % len(photos)] if index < len(photos) else jpeg_bytes(seed=index + 100)
            index += 1
            blobs.append(data)
            entries.append({
                "uuid": str(uuid.uuid4()), "item_id": item_id, "sequence": seq,
                "sha256": sha256(data), "size": len(data), "taken_at": "2026-11-25T02:00:00Z",
            })
    body = {
        "uuid": str(uuid.uuid4()),
        "captured_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "borrower": {"uuid": str(uuid.uuid4()), "name": "陈小春", "id_number": valid_id_number(),
                     "phone": "13912345678", "village": "红星村", "address": "红星村5组"},
        "product_id": product_id,
        "amount": "12000.00",
        "term_months": 12,
        "purpose": "购买化肥",
        "gps": {"lat": 30.6601, "lon": 104.0911, "accuracy_m": 12, "at": "2026-11-25T02:20:00Z", "note": ""},
        "photos": entries,
    }
    body.update(overrides)
    return body, blobs


def upload(client, headers: dict, photo_uuid: str, data: bytes, chunk: int = 64 * 1024, start: int = 0):
    """PATCH the bytes in chunks the way tus-js-client does; returns the last response."""
    offset = start
    response = None
    while offset < len(data) or response is None:
        piece = data[offset:offset + chunk]
        response = client.patch(
            f"/api/v1/uploads/{photo_uuid}", data=piece,
            headers={**headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                     "Content-Type": "application/offset+octet-stream"},
        )
        if response.status_code != 204:
            return response
        offset = int(response.headers["Upload-Offset"])
        if not piece:
            break
    return response
