"""The one way an image or a photo archive leaves the server: photos, screenshots, receipts,
visit photos and the application ZIP all answer through here, with the same headers.

They are identity documents and personal data, so every answer is:

- ``Cache-Control: no-store`` — kept by no browser cache and no proxy; a later user of a shared
  computer cannot reopen them, and every view passes the scope check again;
- without ``ETag`` or ``Last-Modified`` — nothing to revalidate under no-store, and no content hash
  (the store addresses files by SHA-256) is handed to anyone;
- ``X-Content-Type-Options: nosniff`` with the real type, a ``Content-Security-Policy`` with ``sandbox`` and
  ``Cross-Origin-Resource-Policy: same-origin`` — a file opened on its own is only ever an image,
  never a page that runs script, and other sites cannot embed it;
- made of clean bytes: derivatives are re-encoded, and in place of an original the server sends
  ``storage.clean_original`` — the same pixels without EXIF/GPS or anything appended.
"""
from __future__ import annotations

import io
from typing import IO

from flask import Response, send_file

from app.extensions import photo_store
from app.storage import clean_original

KINDS = ("thumb", "view", "original")

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def stored_image(sha256: str, kind: str, *, mimetype: str = "image/jpeg", download_name: str | None = None) -> Response:
    """A stored image as ``kind``: "thumb" or "view" (JPEG derivatives) or "original" (cleaned,
    in its own format ``mimetype``, inline under ``download_name`` for "save as")."""
    if kind not in KINDS:
        raise ValueError(f"unknown image kind {kind!r}")
    store = photo_store()
    if kind == "original":
        return _send(io.BytesIO(clean_original(store, sha256)), mimetype, download_name=download_name)
    return _send(io.BytesIO(store.derivative(sha256, kind)), "image/jpeg")


def stored_document(sha256: str, mimetype: str, *, download_name: str) -> Response:
    """A stored document that is not a photo (a credit-bureau report): an image cleaned like a
    photo's original and shown inline; a PDF as it was uploaded, as a download (never opened in
    the site's own origin), with the same headers."""
    if mimetype in ("image/jpeg", "image/png"):
        return _send(io.BytesIO(clean_original(photo_store(), sha256)), mimetype, download_name=download_name)
    with photo_store().open(sha256) as f:
        body = f.read()
    return _send(io.BytesIO(body), "application/pdf", download_name=download_name, as_attachment=True)


def archive_response(archive: IO[bytes], download_name: str) -> Response:
    """A ZIP of photos (already cleaned by the service that built it), as a download."""
    return _send(archive, "application/zip", download_name=download_name, as_attachment=True)


def _send(body: IO[bytes], mimetype: str, *, download_name: str | None = None, as_attachment: bool = False) -> Response:
    # send_file encodes a Chinese file name for Content-Disposition (RFC 5987).
    response = send_file(
        body, mimetype=mimetype, download_name=download_name, as_attachment=as_attachment,
        etag=False, conditional=False, last_modified=None, max_age=None,
    )
    response.headers.pop("ETag", None)
    response.headers.pop("Last-Modified", None)
    response.headers.update(_HEADERS)
    return response
