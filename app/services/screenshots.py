"""Screenshots: a region of a photo that HQ keeps as its own attachment (and can OCR alone)."""
from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps

from app.domain.i18n import N_
from app.extensions import db
from app.models import Application, Photo, Screenshot, User
from app.services import audit
from app.services.errors import ServiceError
from app.storage import PhotoStore, sha256_of_file

ROTATIONS = (0, 90, 180, 270)
MIN_SIDE_PX = 16
_TURN = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


class ScreenshotError(ServiceError, ValueError):
    """A region that cannot be cut out of the photo; ``message`` is N_."""

    def __init__(self, message: str, params: dict | None = None) -> None:
        super().__init__("bad_region", message, **(params or {}))


def parse_region(form: dict[str, str]) -> tuple[int, tuple[float, float, float, float]]:
    """Rotation (quarter turns clockwise) and box (fractions of the turned photo) from a form."""
    try:
        rotation = int(form.get("rotation", "0")) % 360
        box = tuple(float(form.get(k, "")) for k in ("x0", "y0", "x1", "y1"))
    except ValueError:
        raise ScreenshotError(N_("Drag a box over the photo to choose a region.")) from None
    if rotation not in ROTATIONS:
        raise ScreenshotError(N_("Turn the photo by quarter turns only."))
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise ScreenshotError(N_("Drag a box over the photo to choose a region."))
    return rotation, (x0, y0, x1, y1)


def is_whole(rotation: int, box: tuple[float, float, float, float]) -> bool:
    return rotation == 0 and box == (0.0, 0.0, 1.0, 1.0)


def create(
    app: Application,
    photo: Photo,
    *,
    rotation: int,
    box: tuple[float, float, float, float],
    label: str,
    user: User,
    store: PhotoStore,
    now: datetime,
    ip: str = "",
) -> Screenshot:
    """Cut the region out of the original (upright, turned as the clerk saw it) and store it."""
    with store.open(photo.sha256) as f, Image.open(f) as image:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        turned = upright.transpose(_TURN[rotation]) if rotation else upright
        w, h = turned.size
        pixels = (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))
        if pixels[2] - pixels[0] < MIN_SIDE_PX or pixels[3] - pixels[1] < MIN_SIDE_PX:
            raise ScreenshotError(N_("The region is too small; drag a bigger box."))
        region = turned.crop(pixels).convert("RGB")
    fd, name = tempfile.mkstemp(suffix=".jpg", dir=store.uploads_dir)
    os.close(fd)
    tmp = Path(name)
    try:
        region.save(tmp, "JPEG", quality=90)
        digest = sha256_of_file(tmp)
        size = tmp.stat().st_size
        store.put_file(digest, tmp)  # moves the file into the store
    finally:
        tmp.unlink(missing_ok=True)
    shot = Screenshot(
        application=app, photo=photo, sha256=digest, size_bytes=size, width=region.width, height=region.height,
        rotation=rotation, box=list(pixels), label=label.strip()[:50], created_by_id=user.id, created_at=now,
    )
    db.session.add(shot)
    db.session.flush()
    audit.record("screenshot_saved", actor_id=user.id, object_type="application", object_id=app.id, ip=ip,
                 photo_id=photo.id, screenshot_id=shot.id, sha256=digest)
    db.session.commit()
    return shot
