"""Staff see the photos that arrived, and download them named by the institution's convention."""
from __future__ import annotations

import io
import zipfile

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Application, AuditLog
from tests.sync_helpers import GPS_IFD, ORIENTATION, enrol, jpeg_bytes, jpeg_with_gps, manifest, sha256, upload


def _sent_application(app, client, photos_to_send: int, first: bytes | None = None):
    headers = enrol(app, "officer1")
    body, blobs = manifest(app, ([first] if first else []) + [jpeg_bytes(seed=s) for s in range(5)])
    client.post("/api/v1/applications", json=body, headers=headers)
    for entry, data in list(zip(body["photos"], blobs))[:photos_to_send]:
        assert upload(client, headers, entry["uuid"], data).status_code == 204
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        return a.id, [(p.id, p.sha256, p.received_at is not None) for p in a.photos], blobs


def test_director_sees_arrived_photos_and_which_are_still_coming(app, client, auth, demo):
    app_id, photos, _ = _sent_application(app, client, photos_to_send=3)
    auth.login("director1")
    page = client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert "已收到3张，共5张" in page and page.count("上传中") >= 2
    photo_id = photos[0][0]
    thumb = client.get(f"/applications/{app_id}/photos/{photo_id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) == 320
    assert thumb.headers["Cache-Control"] == "no-store" and "ETag" not in thumb.headers
    original = client.get(f"/applications/{app_id}/photos/{photo_id}/original")
    assert sha256(original.data) == photos[0][1]
    missing = [pid for pid, _sha, received in photos if not received][0]
    assert client.get(f"/applications/{app_id}/photos/{missing}/view").status_code == 404


def test_photos_are_out_of_scope_for_another_office(app, client, auth, demo):
    app_id, photos, _ = _sent_application(app, client, photos_to_send=1)
    auth.login("director2")
    assert client.get(f"/applications/{app_id}/photos/{photos[0][0]}/thumb").status_code == 404
    assert client.get(f"/applications/{app_id}/photos.zip").status_code == 404


def test_zip_names_follow_the_convention_and_hold_the_exact_bytes(app, client, auth, demo):
    app_id, photos, blobs = _sent_application(app, client, photos_to_send=5)
    auth.login("clerk1")
    r = client.get(f"/applications/{app_id}/photos.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        names = archive.namelist()
        assert names[0] == "陈小春_农户小额信用贷款/陈小春的借款调查表(1).jpg"
        assert "陈小春_农户小额信用贷款/陈小春的房屋照片(1).jpg" in names
        assert sorted(sha256(archive.read(n)) for n in names) == sorted(sha256(b) for b in blobs)
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "photos_downloaded")).object_id == app_id


SCRIPT = b"<html><script>fetch('/x?c='+document.cookie)</script></html>"


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").tobytes()


def test_what_is_served_of_an_original_is_its_pixels_without_gps_or_appended_bytes(app, client, auth, demo):
    uploaded = jpeg_with_gps(seed=31, orientation=6, appended=SCRIPT)
    app_id, photos, _ = _sent_application(app, client, photos_to_send=5, first=uploaded)
    photo_id, stored_sha, received = next(p for p in photos if p[1] == sha256(uploaded))
    assert received
    auth.login("director1")
    original = client.get(f"/applications/{app_id}/photos/{photo_id}/original")
    assert original.status_code == 200 and original.mimetype == "image/jpeg"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script" not in original.data and b"HUAWEI" not in original.data
    assert original.data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(original.data)) as img:
        exif = img.getexif()
        assert not exif.get_ifd(GPS_IFD) and dict(exif) == {ORIENTATION: 6}  # still shown upright
    assert _pixels(original.data) == _pixels(uploaded)  # not re-encoded: the same pixels
    for kind in ("thumb", "view"):
        data = client.get(f"/applications/{app_id}/photos/{photo_id}/{kind}").data
        assert b"<script" not in data and not Image.open(io.BytesIO(data)).getexif()
    # The store keeps the upload untouched, as evidence.
    with app.app_context():
        from app.storage import make_store

        with make_store(app.config).open(stored_sha) as f:
            assert f.read() == uploaded


def test_the_zip_carries_no_location_and_no_appended_bytes(app, client, auth, demo):
    uploaded = jpeg_with_gps(seed=32, orientation=1, appended=SCRIPT)
    app_id, _, _ = _sent_application(app, client, photos_to_send=5, first=uploaded)
    auth.login("clerk1")
    r = client.get(f"/applications/{app_id}/photos.zip")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store" and "ETag" not in r.headers
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            assert b"<script" not in data and b"HUAWEI" not in data
            with Image.open(io.BytesIO(data)) as img:
                assert not img.getexif().get_ifd(GPS_IFD)
        assert _pixels(uploaded) in {_pixels(archive.read(n)) for n in archive.namelist()}
