"""Reading an application's photos: derivatives for the screen, a ZIP archive for download.

Only photos that arrived — whose bytes this application's own upload delivered — are shown or
zipped, and the ZIP holds each original cleaned (same pixels, no EXIF/GPS, nothing appended).
"""
from __future__ import annotations

import tempfile
import zipfile
from typing import IO

from app.domain.naming import photo_archive_name
from app.extensions import db
from app.models import Application, Photo, User
from app.services import audit
from app.storage import PhotoStore, clean_original

KINDS = ("thumb", "view")


def received_photo(application: Application, photo_id: int) -> Photo | None:
    # A photo deleted by the retention purge (app/services/retention.py) is gone, as if never received.
    return next((p for p in application.photos
                 if p.id == photo_id and p.received_at is not None and p.purged_at is None), None)


def archive_name(application: Application, photo: Photo) -> str:
    ext = "png" if photo.content_type == "image/png" else "jpg"
    return photo_archive_name(application.borrower.name, application.product.name, photo.item.name, photo.sequence, ext)


def build_zip(application: Application, store: PhotoStore, *, user: User, ip: str = "") -> IO[bytes]:
    """All received photos, cleaned, named by the institution's convention; spooled to disk past 16 MB."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    # JPEGs do not compress further: store them, which is also fastest.
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        for photo in application.photos:
            if photo.received_at is None or photo.purged_at is not None:
                continue
            info = zipfile.ZipInfo(archive_name(application, photo), date_time=photo.received_at.timetuple()[:6])
            archive.writestr(info, clean_original(store, photo.sha256))
    audit.record("photos_downloaded", actor_id=user.id, object_type="application", object_id=application.id, ip=ip)
    db.session.commit()
    spool.seek(0)
    return spool
