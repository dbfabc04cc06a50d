"""A photo joins an application only through its own upload: knowing a stored photo's SHA-256 —
from a manifest, a log, a to-do list or an old ETag — attaches nothing and shows nothing."""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime, timezone

from sqlalchemy import select

from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, Photo, User
from app.services import applications as app_service
from tests.conftest import Auth
from tests.sync_helpers import enrol, jpeg_bytes, manifest, sha256, upload, valid_id_number

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def _office_a_application(app, client) -> tuple[dict, bytes]:
    """officer1 (城关) sends an application with all its photos; returns it and its first photo."""
    headers = enrol(app, "officer1")
    victim = jpeg_bytes(seed=501)
    body, blobs = manifest(app, [victim] + [jpeg_bytes(seed=s) for s in range(502, 506)])
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    for entry, data in zip(body["photos"], blobs):
        assert upload(client, headers, entry["uuid"], data).status_code == 204
    return body, victim


def _other_borrower() -> dict:
    return {"uuid": str(uuid.uuid4()), "name": "赵小红", "id_number": valid_id_number(456, "19900101"),
            "phone": "13912345679", "village": "石桥村", "address": "石桥村2组"}


def _photo(app, photo_uuid: str) -> Photo:
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid))
        db.session.expunge(photo)
        return photo


def _state(app, app_uuid: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Application.state).where(Application.uuid == app_uuid))


def test_a_manifest_naming_another_offices_photo_hash_gets_no_photo(app, client, demo):
    _, victim = _office_a_application(app, client)
    # officer3 (河口) learnt the hash and lists it in his own application, with no upload.
    thief = enrol(app, "officer3")
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(600, 605)], borrower=_other_borrower())
    body["photos"][0].update(sha256=sha256(victim), size=len(victim))
    r = client.post("/api/v1/applications", json=body, headers=thief)
    assert r.status_code == 201
    stolen = body["photos"][0]["uuid"]
    assert stolen in r.get_json()["needed"]
    for entry, data in list(zip(body["photos"], blobs))[1:]:
        assert upload(client, thief, entry["uuid"], data).status_code == 204
    # Asking where the upload stands does not hand it over either.
    head = client.head(f"/api/v1/uploads/{stolen}", headers=thief)
    assert head.headers["Upload-Offset"] == "0" and "X-Photo-Verified" not in head.headers
    # Bytes other than the announced ones are refused.
    fake = jpeg_bytes(600, 400, seed=606)
    assert upload(client, thief, stolen, fake + b"\0" * (len(victim) - len(fake))).status_code == 460
    photo = _photo(app, stolen)
    assert photo.received_at is None
    assert _state(app, body["uuid"]) == "uploading"  # not counted as arrived: the director does not see it yet
    # The thief's director cannot open it, alone or in the ZIP.
    director = Auth(app.test_client())
    director.login("director2")
    with app.app_context():
        app_id = db.session.scalar(select(Application.id).where(Application.uuid == body["uuid"]))
    for kind in ("thumb", "view", "original"):
        assert director.client.get(f"/applications/{app_id}/photos/{photo.id}/{kind}").status_code == 404
    page = director.client.get(f"/applications/{app_id}").get_data(as_text=True)
    assert f"/photos/{photo.id}/" not in page
    archive = director.client.get(f"/applications/{app_id}/photos.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.data)) as z:
        assert len(z.namelist()) == len(body["photos"]) - 1
        assert sha256(victim) not in {sha256(z.read(n)) for n in z.namelist()}


def test_a_resubmission_naming_a_stored_hash_gets_no_photo(app, client, demo):
    _, victim = _office_a_application(app, client)
    thief = enrol(app, "officer3")
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(700, 705)], borrower=_other_borrower())
    assert client.post("/api/v1/applications", json=body, headers=thief).status_code == 201
    for entry, data in zip(body["photos"], blobs):
        upload(client, thief, entry["uuid"], data)
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        director = db.session.scalar(select(User).where(User.username == "director2"))
        app_service.act(a.id, Event.DIRECTOR_RETURN, director, now=NOW, comment="请补拍身份证")
    added = {"uuid": str(uuid.uuid4()), "item_id": body["photos"][0]["item_id"], "sequence": 2,
             "sha256": sha256(victim), "size": len(victim), "taken_at": "2026-11-25T05:00:00Z"}
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit",
                    json={"note": "已补拍", "photos": body["photos"] + [added]}, headers=thief)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["needed"] == [added["uuid"]]
    assert _photo(app, added["uuid"]).received_at is None
    assert client.head(f"/api/v1/uploads/{added['uuid']}", headers=thief).headers["Upload-Offset"] == "0"
    assert _state(app, body["uuid"]) == "uploading"


def test_photo_answers_carry_no_content_hash(app, client, demo):
    body, victim = _office_a_application(app, client)
    viewer = Auth(app.test_client())
    viewer.login("director1")
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        app_id, photo_id = a.id, a.photos[0].id
    for kind in ("thumb", "view", "original"):
        r = viewer.client.get(f"/applications/{app_id}/photos/{photo_id}/{kind}")
        assert r.status_code == 200
        assert "ETag" not in r.headers
        assert not any(sha256(victim) in value for _, value in r.headers.items())
