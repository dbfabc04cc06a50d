"""The phone's API: device checks, idempotent manifests, resumable verified uploads, bad input."""
from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Device, Photo, User
from app.services import devices as device_service
from app.storage import make_store
from tests.support.stores import staged_uploads
from tests.sync_helpers import enrol, jpeg_bytes, manifest, sha256, upload, valid_id_number


def _counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Application, Photo, Borrower))


def _stored(app, digest: str) -> bool:
    with app.app_context():
        return make_store(app.config).exists(digest)


def _parts(app) -> list:
    """The uploads with bytes staged, on disk or in the bucket (TEST_PHOTO_STORE=s3)."""
    with app.app_context():
        return staged_uploads(make_store(app.config))


def _staging(app):
    from app.services.locks import lock_factory

    return make_store(app.config).upload_staging(lock_factory("upload"))


def test_version_is_public(client):
    data = client.get("/api/v1/version").get_json()
    assert data["current"] and data["min_supported"]


def test_calls_without_a_valid_device_are_refused(app, client, demo):
    assert client.get("/api/v1/device").status_code == 401
    headers = enrol(app, "officer1")
    r = client.get("/api/v1/device", headers={**headers, "Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.get_json()["error"] == "unknown_device"
    r = client.get("/api/v1/device", headers=headers)
    assert r.status_code == 200 and r.get_json()["user"]["name"] == "李明"


def test_outdated_client_must_update_first(app, client, demo):
    headers = enrol(app, "officer1")
    r = client.get("/api/v1/bootstrap", headers={**headers, "X-Client-Version": "0.0.9"})
    assert r.status_code == 426 and r.get_json()["error"] == "client_outdated"


def test_revoked_device_is_told_to_wipe_and_its_officer_logged_out(app, client, auth, demo):
    headers = enrol(app, "officer1")
    auth.login("officer1")
    assert client.get("/").status_code == 200
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "revoked", admin=admin, now=datetime.now(timezone.utc))
    r = client.get("/api/v1/device", headers=headers)
    assert r.status_code == 401
    body = r.get_json()
    assert body["wipe"] is True and "已被停用" in body["message"]
    assert client.get("/").status_code == 302  # the web session ended too


def test_bootstrap_holds_products_and_only_own_borrowers(app, client, demo):
    headers = enrol(app, "officer3")
    data = client.get("/api/v1/bootstrap", headers=headers).get_json()
    assert {p["name"] for p in data["products"]} == {"农户小额信用贷款", "农户联保贷款"}
    assert all(p["items"] for p in data["products"])
    with app.app_context():
        own = set(db.session.scalars(select(Borrower.name).where(Borrower.officer_id == demo["officer3"])).all())
    assert {b["name"] for b in data["borrowers"]} == own
    assert data["settings"]["upload_chunk_bytes"] > 0


def test_manifest_then_photos_moves_the_application_to_the_director(app, client, demo):
    headers = enrol(app, "officer1")
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(5)])
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    receipt = r.get_json()
    assert receipt["state"] == "uploading"
    assert receipt["needed"] == [p["uuid"] for p in body["photos"]]
    for entry, data in zip(body["photos"], blobs):
        head = client.head(f"/api/v1/uploads/{entry['uuid']}", headers=headers)
        assert head.headers["Upload-Offset"] == "0" and head.headers["Upload-Length"] == str(len(data))
        last = upload(client, headers, entry["uuid"], data)
        assert last.status_code == 204
        assert last.headers["X-Photo-Verified"] == entry["sha256"]
        assert _stored(app, entry["sha256"])
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert a.state == "awaiting_director"
        assert all(p.received_at and p.width == 1200 for p in a.photos)
        assert [t.event for t in a.transitions] == ["photos_complete"]
        with make_store(app.config).open(body["photos"][0]["sha256"]) as f:
            assert sha256(f.read()) == body["photos"][0]["sha256"]
    assert _parts(app) == []


def test_resending_everything_creates_everything_once(app, client, demo):
    headers = enrol(app, "officer1")
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(5)])
    before = _counts(app)
    for attempt in range(3):
        r = client.post("/api/v1/applications", json=body, headers=headers)
        assert r.status_code == (201 if attempt == 0 else 200)
    for entry, data in zip(body["photos"], blobs):
        r = upload(client, headers, entry["uuid"], data)
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    for entry, data in zip(body["photos"], blobs):
        # A phone that lost the last answer asks again (HEAD, as tus does) and sends nothing more.
        head = client.head(f"/api/v1/uploads/{entry['uuid']}", headers=headers)
        assert head.headers["Upload-Offset"] == str(len(data))
        assert head.headers["X-Photo-Verified"] == entry["sha256"]
        again = upload(client, headers, entry["uuid"], data)
        assert again.status_code == 409 and again.get_json()["offset"] == len(data)
    after = _counts(app)
    assert after == (before[0] + 1, before[1] + 5, before[2] + 1)
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 200 and r.get_json()["needed"] == []
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert [t.event for t in a.transitions] == ["photos_complete"]


def test_concurrent_identical_manifests_make_one_application(app, demo):
    headers = enrol(app, "officer2")
    body, _ = manifest(app, [jpeg_bytes(seed=9)])
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def send():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/applications", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Application.uuid == body["uuid"])) == 1


def test_a_resend_with_different_content_is_refused(app, client, demo):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes(seed=1)])
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    changed = {**body, "amount": "15000.00"}
    r = client.post("/api/v1/applications", json=changed, headers=headers)
    assert r.status_code == 409 and "不同" in r.get_json()["message"]
    with app.app_context():
        assert str(db.session.scalar(select(Application.amount).where(Application.uuid == body["uuid"]))) == "12000.00"


def test_content_the_store_already_holds_is_still_uploaded_for_each_photo(app, client, demo):
    # Possession, not knowledge: naming a hash the store holds attaches nothing by itself.
    headers = enrol(app, "officer1")
    same = jpeg_bytes(seed=42)
    first, blobs = manifest(app, [same])
    client.post("/api/v1/applications", json=first, headers=headers)
    upload(client, headers, first["photos"][0]["uuid"], same)
    second, _ = manifest(app, [same], borrower={**first["borrower"], "uuid": first["borrower"]["uuid"]})
    r = client.post("/api/v1/applications", json=second, headers=headers)
    assert second["photos"][0]["uuid"] in r.get_json()["needed"]
    with app.app_context():
        assert db.session.scalar(select(Photo.received_at).where(Photo.uuid == second["photos"][0]["uuid"])) is None
    # The upload of bytes the store already holds goes through and is confirmed as usual.
    done = upload(client, headers, second["photos"][0]["uuid"], same)
    assert done.status_code == 204 and done.headers["X-Photo-Verified"] == sha256(same)
    assert _parts(app) == []


@pytest.mark.parametrize(
    "change,field,text",
    [
        ({"product_id": 999}, "product_id", "未知的贷款类型"),
        ({"borrower": {"uuid": "7f1d1b2e-0000-4000-8000-000000000001", "name": "陈小春", "id_number": "51340119850612123"}}, "borrower.id_number", "18位"),
        ({"borrower": {"uuid": "7f1d1b2e-0000-4000-8000-000000000001", "name": "陈小春", "id_number": valid_id_number()[:-1] + ("0" if valid_id_number()[-1] != "0" else "1")}}, "borrower.id_number", "校验码"),
        ({"amount": "999999"}, "amount", "之间"),
        ({"amount": "-5"}, "amount", "负数"),
        ({"term_months": 0}, "term_months", "整数"),
        ({"purpose": ""}, "purpose", "用途"),
        ({"gps": {"lat": 30.1, "lon": 104.1, "accuracy_m": 400, "note": ""}}, "gps", "400"),
        ({"captured_at": "2099-01-01T00:00:00Z"}, "captured_at", "时钟"),
    ],
)
def test_a_bad_manifest_is_explained_and_writes_nothing(app, client, demo, change, field, text):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes()])
    body.update(change)
    before = _counts(app)
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 422
    data = r.get_json()
    assert data["error"] == "invalid_manifest"
    assert text in data["fields"][field], data["fields"]
    assert _counts(app) == before


def test_manifest_photo_list_problems(app, client, demo):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes()])
    body["photos"] = body["photos"][1:]  # the survey form photo is missing
    body["photos"][0]["size"] = 0
    r = client.post("/api/v1/applications", json=body, headers=headers)
    fields = r.get_json()["fields"]
    assert r.status_code == 422
    assert any("借款调查表" in v for v in fields.values())
    assert any("空" in v for v in fields.values())


def _one_photo_application(app, client, headers, data: bytes, declared: bytes | None = None):
    """A manifest whose first photo announces ``declared`` (default: the same bytes)."""
    declared = data if declared is None else declared
    body, blobs = manifest(app, [jpeg_bytes(seed=7)])
    body["photos"][0]["sha256"] = sha256(declared)
    body["photos"][0]["size"] = len(declared)
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    return body["photos"][0]["uuid"]


def _truncated() -> bytes:
    data = jpeg_bytes(seed=3)
    return data[: len(data) // 2]


def _hundred_megapixels() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (10_000, 10_000), 255).save(out, "JPEG", quality=20)
    return out.getvalue()


@pytest.mark.parametrize(
    "make,status,text",
    [
        (lambda: b"this is a text file, not a photo" * 10, 422, "不是照片"),
        (_truncated, 422, "不完整"),
        (_hundred_megapixels, 422, "像素"),
    ],
)
def test_bad_photo_bytes_are_refused_and_nothing_is_kept(app, client, demo, make, status, text):
    headers = enrol(app, "officer1")
    data = make()
    photo_uuid = _one_photo_application(app, client, headers, data)
    r = upload(client, headers, photo_uuid, data)
    assert r.status_code == status
    assert text in r.get_json()["message"]
    assert not _stored(app, sha256(data)) and _parts(app) == []
    with app.app_context():
        assert db.session.scalar(select(Photo.received_at).where(Photo.uuid == photo_uuid)) is None
    # The phone may try again from the start: the server holds nothing of it.
    assert client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers).headers["Upload-Offset"] == "0"


def test_wrong_hash_is_refused_and_the_partial_upload_dropped(app, client, demo):
    headers = enrol(app, "officer1")
    real = jpeg_bytes(seed=5)
    damaged = bytearray(real)
    damaged[len(damaged) // 2] ^= 0xFF
    photo_uuid = _one_photo_application(app, client, headers, bytes(damaged), declared=real)
    r = upload(client, headers, photo_uuid, bytes(damaged))
    assert r.status_code == 460 and r.get_json()["error"] == "hash_mismatch"
    assert _parts(app) == [] and not _stored(app, sha256(real))
    assert upload(client, headers, photo_uuid, real).status_code == 204


def test_upload_offsets_and_format_are_checked(app, client, demo):
    headers = enrol(app, "officer1")
    data = jpeg_bytes(seed=8)
    photo_uuid = _one_photo_application(app, client, headers, data)
    r = client.patch(f"/api/v1/uploads/{photo_uuid}", data=data[:1000],
                     headers={**headers, "Upload-Offset": "500", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 409 and r.get_json()["offset"] == 0
    r = client.patch(f"/api/v1/uploads/{photo_uuid}", data=data[:1000],
                     headers={**headers, "Upload-Offset": "0", "Content-Type": "image/jpeg"})
    assert r.status_code == 415
    r = client.patch(f"/api/v1/uploads/{photo_uuid}", data=data + b"extra",
                     headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 413
    # A resumed upload continues where the server stopped.
    first = client.patch(f"/api/v1/uploads/{photo_uuid}", data=data[:4000],
                         headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert first.headers["Upload-Offset"] == "4000"
    assert upload(client, headers, photo_uuid, data, start=4000).headers["X-Photo-Verified"] == sha256(data)


def test_someone_elses_photo_is_not_found(app, client, demo):
    owner = enrol(app, "officer1")
    other = enrol(app, "officer3")
    data = jpeg_bytes(seed=2)
    photo_uuid = _one_photo_application(app, client, owner, data)
    assert client.head(f"/api/v1/uploads/{photo_uuid}", headers=other).status_code == 404
    r = upload(client, other, photo_uuid, data)
    assert r.status_code == 404 and "不属于" in r.get_json()["message"]
    assert _parts(app) == []
    body, _ = manifest(app, [data])
    client.post("/api/v1/applications", json=body, headers=owner)
    r = client.post("/api/v1/applications", json=body, headers=other)
    assert r.status_code == 403


def test_a_retired_phone_hands_in_old_work_but_starts_nothing_new(app, client, demo):
    headers = enrol(app, "officer1")
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "retired", admin=admin, now=datetime.now(timezone.utc))
    old, _ = manifest(app, [jpeg_bytes()], captured_at=(datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat())
    assert client.post("/api/v1/applications", json=old, headers=headers).status_code == 201
    new, _ = manifest(app, [jpeg_bytes()], captured_at=(datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat())
    r = client.post("/api/v1/applications", json=new, headers=headers)
    assert r.status_code == 403 and r.get_json()["error"] == "device_retired"


def test_enrolment_code_is_single_use_and_personal(app, client, auth, demo):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        officer = db.session.scalar(select(User).where(User.username == "officer2"))
        code = device_service.create_enrolment_code(officer, admin=admin, now=datetime.now(timezone.utc))
    auth.login("officer1")
    token = client.get("/m/enrol").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    r = client.post("/m/enrol", json={"code": code}, headers={"X-CSRFToken": token})
    assert r.status_code == 400 and "无效" in r.get_json()["message"]
    auth.post("/logout")
    auth.login("officer2")
    token = client.get("/m/enrol").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    r = client.post("/m/enrol", json={"code": code.lower()}, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["token"]
    r = client.post("/m/enrol", json={"code": code}, headers={"X-CSRFToken": token})
    assert r.status_code == 400 and "已经用过" in r.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditLog.action == "device_enrolled")) == 1


def test_a_phone_cannot_attach_to_another_officers_customer(app, client, demo):
    with app.app_context():
        other = db.session.scalar(select(Borrower).where(Borrower.officer_id == demo["officer1"]))
        other_id, other_name, other_phone = other.id_number, other.name, other.phone
    headers = enrol(app, "officer3")
    body, _ = manifest(app, [jpeg_bytes()])
    body["borrower"] = {**body["borrower"], "id_number": other_id, "name": "完全不同", "phone": "13700000000"}
    before = _counts(app)
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 422 and "其他客户经理" in r.get_json()["fields"]["borrower.id_number"]
    assert _counts(app) == before
    with app.app_context():
        unchanged = db.session.scalar(select(Borrower).where(Borrower.id_number == other_id))
        assert (unchanged.name, unchanged.phone) == (other_name, other_phone)


def test_own_returning_customer_must_keep_the_registered_name(app, client, demo):
    with app.app_context():
        own = db.session.scalar(select(Borrower).where(Borrower.officer_id == demo["officer1"]))
        own_id, own_name = own.id_number, own.name
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes()])
    body["borrower"] = {**body["borrower"], "id_number": own_id, "name": "别的名字"}
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 422 and own_name in r.get_json()["fields"]["borrower.name"]
    body["borrower"]["name"] = own_name
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201


def test_a_capture_dated_before_enrolment_is_refused(app, client, demo):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes()], captured_at="2020-01-01T00:00:00Z")
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 422 and r.get_json()["error"] == "captured_before_enrolment"


def test_a_complete_upload_left_unverified_by_a_crash_is_finished_on_the_next_head(app, client, demo):
    headers = enrol(app, "officer1")
    data = jpeg_bytes(seed=11)
    photo_uuid = _one_photo_application(app, client, headers, data)
    # A worker wrote the last byte and died before verifying it.
    with app.app_context():
        staging = _staging(app)
        with staging.lock(photo_uuid):
            staging.append(photo_uuid, io.BytesIO(data), room=len(data))
    assert _parts(app) == [photo_uuid]
    head = client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers)
    assert head.headers["Upload-Offset"] == str(len(data))
    assert head.headers["X-Photo-Verified"] == sha256(data)
    assert _stored(app, sha256(data)) and _parts(app) == []


def test_revoked_device_is_told_to_wipe_even_on_a_head_request(app, client, demo):
    headers = enrol(app, "officer1")
    photo_uuid = _one_photo_application(app, client, headers, jpeg_bytes(seed=12))
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "revoked", admin=admin, now=datetime.now(timezone.utc))
    r = client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers)
    assert r.status_code == 401 and r.headers["X-Device-Wipe"] == "1"


def test_a_retired_phone_no_longer_receives_the_customer_list(app, client, demo):
    headers = enrol(app, "officer1")
    assert client.get("/api/v1/bootstrap", headers=headers).get_json()["borrowers"]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "retired", admin=admin, now=datetime.now(timezone.utc))
    data = client.get("/api/v1/bootstrap", headers=headers).get_json()
    assert data["borrowers"] == [] and data["products"]


def test_a_photo_stored_but_not_recorded_is_settled_without_a_second_upload(app, client, demo):
    headers = enrol(app, "officer1")
    data = jpeg_bytes(seed=13)
    photo_uuid = _one_photo_application(app, client, headers, data)
    # A worker verified this photo's upload, noted it, moved the file into the store and died
    # before its commit.
    with app.app_context():
        staging = _staging(app)
        copy = staging.store.uploads_dir / "stray"
        copy.write_bytes(data)
        with staging.lock(photo_uuid):
            staging.store_verified(photo_uuid, sha256(data), copy)  # the note, then the object
        assert staging.has_proof(photo_uuid)
    head = client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers)
    assert head.headers["Upload-Offset"] == str(len(data)) and head.headers["X-Photo-Verified"] == sha256(data)
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid))
        assert photo.received_at is not None and (photo.width, photo.height) == (1200, 900)
        assert not _staging(app).has_proof(photo_uuid)


def test_an_object_in_the_store_settles_no_photo_that_did_not_upload_it(app, client, demo):
    headers = enrol(app, "officer1")
    data = jpeg_bytes(seed=14)
    photo_uuid = _one_photo_application(app, client, headers, data)
    # The same content reached the store through somebody else's upload, not this photo's.
    with app.app_context():
        store = make_store(app.config)
        part = store.uploads_dir / "stray"
        part.write_bytes(data)
        store.put_file(sha256(data), part)
    head = client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers)
    assert head.headers["Upload-Offset"] == "0" and "X-Photo-Verified" not in head.headers
    with app.app_context():
        assert db.session.scalar(select(Photo.received_at).where(Photo.uuid == photo_uuid)) is None
    # Its own upload then proves it.
    assert upload(client, headers, photo_uuid, data).headers["X-Photo-Verified"] == sha256(data)


def test_a_retired_phone_is_told_only_of_the_returns_it_captured_itself(app, client, demo):
    headers = enrol(app, "officer3")
    body, _ = manifest(app, [jpeg_bytes(seed=21)],
                       captured_at=(datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat())
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    with app.app_context():
        mine = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        mine.state = "returned"  # the listing reads the state alone; how it got there is another test's
        db.session.commit()
    listed = {r["uuid"] for r in client.get("/api/v1/returned", headers=headers).get_json()["applications"]}
    assert body["uuid"] in listed and len(listed) > 1  # the demo's return (孙八), captured elsewhere, too
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "retired", admin=admin, now=datetime.now(timezone.utc))
    rows = client.get("/api/v1/returned", headers=headers).get_json()["applications"]
    assert [r["uuid"] for r in rows] == [body["uuid"]]
