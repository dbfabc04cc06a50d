"""A director returns an application; it reaches the officer's phone as a to-do, the officer
adds photos and resubmits, and the director sees it again once the photos are in."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select

from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, AuditLog, Photo, User
from app.services import applications as app_service
from tests.sync_helpers import enrol, jpeg_bytes, manifest, sha256, upload

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def _sent_and_returned(app, client, headers, reason="借据照片模糊，请补拍"):
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(5)])
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    for entry, data in zip(body["photos"], blobs):
        upload(client, headers, entry["uuid"], data)
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        director = db.session.scalar(select(User).where(User.username == "director1"))
        app_service.act(a.id, Event.DIRECTOR_RETURN, director, now=NOW, comment=reason)
    return body


def _extra_photo(body, seed=77, sequence=2):
    data = jpeg_bytes(seed=seed)
    item_id = body["photos"][0]["item_id"]
    return {"uuid": str(uuid.uuid4()), "item_id": item_id, "sequence": sequence,
            "sha256": sha256(data), "size": len(data), "taken_at": "2026-11-25T05:00:00Z"}, data


def _state(app, app_uuid):
    with app.app_context():
        return db.session.scalar(select(Application.state).where(Application.uuid == app_uuid))


def test_a_return_reaches_the_phone_with_its_reason_and_existing_photos(app, client, demo):
    headers = enrol(app, "officer1")
    body = _sent_and_returned(app, client, headers)
    todo = client.get("/api/v1/returned", headers=headers).get_json()["applications"]
    assert [t["uuid"] for t in todo] == [body["uuid"]]
    assert todo[0]["reason"] == "借据照片模糊，请补拍"
    assert todo[0]["returned_by"] == "陈建国"
    assert {p["uuid"] for p in todo[0]["photos"]} == {p["uuid"] for p in body["photos"]}
    # Another officer's phone sees none of it.
    other = enrol(app, "officer3")
    assert all(t["uuid"] != body["uuid"] for t in client.get("/api/v1/returned", headers=other).get_json()["applications"])


def test_added_photos_travel_then_the_director_sees_it_again(app, client, demo):
    headers = enrol(app, "officer1")
    body = _sent_and_returned(app, client, headers)
    entry, data = _extra_photo(body)
    payload = {"note": "已补拍借据", "photos": body["photos"] + [entry]}
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json=payload, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "uploading" and r.get_json()["needed"] == [entry["uuid"]]
    # A resend of the same answer (the response was lost) changes nothing.
    again = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json=payload, headers=headers)
    assert again.status_code == 200 and again.get_json()["needed"] == [entry["uuid"]]
    assert upload(client, headers, entry["uuid"], data).headers["X-Photo-Verified"] == entry["sha256"]
    assert _state(app, body["uuid"]) == "awaiting_director"
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert [t.event for t in a.transitions][-3:] == ["director_return", "resubmit", "photos_complete"]
        assert a.transitions[-2].comment == "已补拍借据"
        assert len(a.photos) == len(body["photos"]) + 1
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "application_amended")) == 1
    assert client.get("/api/v1/returned", headers=headers).get_json()["applications"] == []


def test_a_note_alone_sends_it_straight_back_to_the_director(app, client, demo):
    headers = enrol(app, "officer1")
    body = _sent_and_returned(app, client, headers, reason="请核实借款用途")
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit",
                    json={"note": "已核实：购买化肥", "photos": body["photos"]}, headers=headers)
    assert r.status_code == 200 and r.get_json()["state"] == "awaiting_director"


def test_an_empty_or_bad_resubmission_is_explained_and_writes_nothing(app, client, demo):
    headers = enrol(app, "officer1")
    body = _sent_and_returned(app, client, headers)
    with app.app_context():
        photos_before = db.session.scalar(select(func.count()).select_from(Photo))
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json={"note": "", "photos": body["photos"]}, headers=headers)
    assert r.status_code == 422 and "备注" in r.get_json()["fields"]["note"]
    # A new photo that takes the number of one already on the server.
    entry, _ = _extra_photo(body, sequence=1)
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json={"photos": body["photos"] + [entry]}, headers=headers)
    assert r.status_code == 422 and "photos." + str(len(body["photos"])) in r.get_json()["fields"]
    # A photo already on the server, moved to another slot.
    moved = dict(body["photos"][0], sequence=9)
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json={"photos": [moved]}, headers=headers)
    assert r.status_code == 422
    assert _state(app, body["uuid"]) == "returned"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Photo)) == photos_before


def test_only_a_returned_application_of_ones_own_can_be_resubmitted(app, client, demo):
    headers = enrol(app, "officer1")
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(5)])
    client.post("/api/v1/applications", json=body, headers=headers)
    entry, _ = _extra_photo(body)
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json={"photos": [entry]}, headers=headers)
    assert r.status_code == 409 and r.get_json()["error"] == "not_returned"
    other = enrol(app, "officer3")
    r = client.post(f"/api/v1/applications/{body['uuid']}/resubmit", json={"note": "x", "photos": []}, headers=other)
    assert r.status_code == 403
    r = client.post(f"/api/v1/applications/{uuid.uuid4()}/resubmit", json={"note": "x", "photos": []}, headers=headers)
    assert r.status_code == 404
