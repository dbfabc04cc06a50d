"""The phone's sync path stays lean: database round trips per request type of one application.

Issue 16: a full application (manifest, five photos by tus, the resend and the final checks) cost
239 round trips; bench/sync_load.py prints the same count per request type, and
docs/MEASUREMENTS.md has the figures before and after. Counted here: every SQL statement, COMMIT
and ROLLBACK the app's engine sends, except the named upload lock's own GET_LOCK/RELEASE_LOCK
and the ROLLBACK that ends them (MariaDB; a file lock on SQLite), the same on every path.
"""
from __future__ import annotations

import weakref
from collections import Counter
from contextlib import contextmanager

from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Application, AuditLog, Photo, Transition
from tests.sync_helpers import enrol, jpeg_bytes, manifest, sha256

TUS = {"Tus-Resumable": "1.0.0"}


@contextmanager
def counting(app):
    """Counts the round trips of each request made inside, by the name given to ``seen.kind``."""
    with app.app_context():
        engine = db.engine
    seen = Counter()
    seen.kind = None  # type: ignore[attr-defined]
    lock_connections = weakref.WeakSet()  # the lock's own connection ends with a ROLLBACK of its own

    def statement(conn, _cursor, sql, *_args):
        if "_LOCK(" in sql:
            lock_connections.add(conn)
        elif seen.kind is not None:  # type: ignore[attr-defined]
            seen[seen.kind] += 1  # type: ignore[attr-defined]

    def end(conn):
        if seen.kind is not None and conn not in lock_connections:  # type: ignore[attr-defined]
            seen[seen.kind] += 1  # type: ignore[attr-defined]

    listeners = [(engine, "before_cursor_execute", statement), (engine, "commit", end), (engine, "rollback", end)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield seen
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)


def test_one_application_costs_few_round_trips_per_request(app, client, demo):
    headers = enrol(app, "officer1")
    client.get("/api/v1/device", headers=headers)  # the once-a-minute last-seen write is behind us
    photos = [jpeg_bytes(seed=40 + i) for i in range(5)]
    body, blobs = manifest(app, photos)
    per_request: dict[str, list[int]] = {}

    with counting(app) as seen:
        def call(kind, method, path, **kw):
            before = seen[kind]
            seen.kind = kind
            try:
                response = client.open(path, method=method, **kw)
            finally:
                seen.kind = None
            per_request.setdefault(kind, []).append(seen[kind] - before)
            return response

        r = call("manifest", "POST", "/api/v1/applications", json=body, headers=headers)
        assert r.status_code == 201
        urls = r.get_json()["upload_urls"]
        assert len(urls) == 5
        for entry, data in zip(body["photos"], blobs):
            path = urls[entry["uuid"]]
            head = call("HEAD", "HEAD", path, headers={**headers, **TUS})
            assert head.headers["Upload-Offset"] == "0"
            half = len(data) // 2
            r = call("PATCH", "PATCH", path, data=data[:half], headers={
                **headers, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
            assert r.status_code == 204 and r.headers["Upload-Offset"] == str(half)
            assert "X-Photo-Verified" not in r.headers
            r = call("last PATCH", "PATCH", path, data=data[half:], headers={
                **headers, **TUS, "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"})
            assert r.status_code == 204 and r.headers["X-Photo-Verified"] == sha256(data)
            assert r.headers["Upload-Offset"] == r.headers["Upload-Length"] == str(len(data))
        r = call("manifest resend", "POST", "/api/v1/applications", json=body, headers=headers)
        assert r.status_code == 200 and r.get_json()["state"] == "awaiting_director" and not r.get_json()["needed"]
        for entry, data in zip(body["photos"], blobs):
            head = call("HEAD verify", "HEAD", f"/api/v1/uploads/{entry['uuid']}", headers={**headers, **TUS})
            assert head.headers["X-Photo-Verified"] == sha256(data)

    # Every guarantee still holds: one application, five received photos, one transition, the audit.
    with app.app_context():
        application = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert application.state == "awaiting_director"
        assert db.session.scalar(select(func.count(Photo.id)).where(
            Photo.application_id == application.id, Photo.received_at.is_not(None))) == 5
        assert db.session.scalar(select(func.count(Transition.id)).where(
            Transition.application_id == application.id, Transition.event == "photos_complete")) == 1
        assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "photo_received")) == 5
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action == "application_received", AuditLog.object_id == application.id)) == 1

    # Before issue 16 (same requests): manifest 21, HEAD 7, PATCH 10, last PATCH 18 (28 for the
    # application's last photo), resend 8, HEAD verify 8; 254 in all.
    budget = {"manifest": 14, "HEAD": 4, "PATCH": 6, "last PATCH": 10, "manifest resend": 6, "HEAD verify": 4}
    for kind, counts in per_request.items():
        # The application's last photo also moves it on to the director: a transition, its audit, one commit.
        extra = [0] * (len(counts) - 1) + [10] if kind == "last PATCH" else [0] * len(counts)
        over = [n for n, more in zip(counts, extra) if n > budget[kind] + more]
        assert not over, f"{kind}: {counts} round trips, budget {budget[kind]}; all: {per_request}"
    assert sum(map(sum, per_request.values())) <= 150, per_request
