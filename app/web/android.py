"""The officer's Android app for people: the download page (/android) with QR codes for a new phone,
and the APK itself. Both public: a phone downloads and sets up the app before it is enrolled."""
from __future__ import annotations

from urllib.parse import quote

import segno
from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for

from app.http_edge import public
from app.services import android_releases

bp = Blueprint("android", __name__, url_prefix="/android")

APK_TYPE = "application/vnd.android.package-archive"


def setup_link(origin: str) -> str:
    """The app's first-start link (android_wrapper/PROTOCOL.md): opens the app set to this server."""
    return f"daidaitong-officer://setup?server={quote(origin, safe='')}"


def _qr(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=4)


@bp.route("")
@public
def page():
    release = android_releases.current()
    origin = request.host_url.rstrip("/")
    setup = setup_link(origin)
    download = url_for(".download", version_code=release.version_code, _external=True) if release else None
    return render_template("android/page.html", release=release, download=download, setup=setup, origin=origin,
                           download_qr=_qr(download) if download else None, setup_qr=_qr(setup))


@bp.route("/daidaitong-officer-<int:version_code>.apk")
@public
def download(version_code: int):
    release = android_releases.find(version_code)
    if release is None:
        abort(404)
    path = android_releases.files_from(current_app.config).path(release.file_key)
    if not path.is_file():
        current_app.logger.error("android release %s: file %s is missing", version_code, path)
        abort(404)
    # A published file never changes: its hash is its ETag, and it may be kept.
    return send_file(path, mimetype=APK_TYPE, as_attachment=True, download_name=f"daidaitong-officer-{version_code}.apk",
                     etag=release.sha256, conditional=True, max_age=86400)
