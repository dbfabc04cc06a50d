"""How does phone sync hold up when many officers send at once?

Run from the repository root:

    .venv/bin/python bench/sync_load.py [--phones 100] [--workers 2] [--threads 8]
                                        [--chunk-kib 256] [--database-url URL] [--timeout 600]

It builds a throw-away instance in a temporary folder (SQLite there by default; ``--database-url``
points at a MySQL/MariaDB server instead, whose database is created when missing and dropped
afterwards if this script created it), migrates it, loads the demo data, enrols N+1 phones for
one per bench officer (bench001, ...; the demo allows an officer a few phones at most), and serves the app with gunicorn (gthread) on a free port of 127.0.0.1.

Each phone holds one loan application with 5 distinct JPEG photos of 100-200 KB (the configured
PHOTO_LONG_EDGE and PHOTO_JPEG_QUALITY, 1600 px at 0.8; noise so they do not compress to nothing),
generated before any timing starts. A phone syncs like the officer's app (static/js/sync/ with
tus-js-client): POST the manifest to /api/v1/applications, then for each needed photo a tus 1.0.0
HEAD for the offset and PATCHes of --chunk-kib, resuming from a new HEAD after an error; then, to
prove idempotency under load, it resends the manifest (must answer 200 with nothing needed and the
application awaiting the director) and HEADs every photo (must answer offset == size and
X-Photo-Verified == its SHA-256).

First one phone syncs alone (the baseline), then N phones start together behind a barrier, one
thread and one keep-alive connection each. It prints throughput, latency percentiles per request
type beside the baseline, errors by status (a phone retries like the app, so an error need not
fail the run), where the server log says requests failed, and the CPU spent. Then it checks the
database and the photo store: N+1 new applications awaiting the director, 5 received photos each,
no duplicate photo rows, one photos_complete transition each, and every stored object hashing to
the manifest's SHA-256. Exit status 0 only when every check passes.

Client and server share this machine's cores, and so does anything else running: the CPU line
shows how much went elsewhere. The figures are a floor for a dedicated server.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterable

# Run as a plain script from the repo root: make app and tests importable. Nothing from app is
# imported at module level: app.config reads INSTANCE_DIR when first imported, so the environment
# must point at the temporary instance before that happens.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image, ImageDraw  # noqa: E402

HOST = "127.0.0.1"  # the only address this script talks to
OFFICES = ("CG", "HK")  # the demo's two branch offices (城关, 河口): the bench's officers alternate between them
PHOTOS_PER_APP = 5  # the demo credit product (XYD) requires one photo for each of 5 items
# The phone downscales to PHOTO_LONG_EDGE (1600 px) and encodes at PHOTO_JPEG_QUALITY (0.8); both
# are read from the app's config. Gaussian noise strengths that put such a 1600x1200 JPEG at
# quality 80 between ~105 and ~200 KB:
NOISE_SIGMAS = (12, 14, 16, 18, 20, 22)
NOISE_BLEND = 0.2
MAX_ATTEMPTS = 5  # per manifest / per photo, like the phone's queue before it waits for the next round
REQUEST_TIMEOUT = 120.0  # seconds per HTTP request; a queued request may wait behind many others
KINDS = ("manifest", "HEAD", "PATCH", "last PATCH", "manifest resend", "HEAD verify")


# --- plumbing ------------------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGTERM, turned into an exception so the cleanup in main() runs."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Interrupted()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return self.left() <= 0


# --- test data (generated before timing) ---------------------------------------------------------


class PhotoFactory:
    """Distinct 100-200 KB JPEGs, cheaply: a few noise textures cropped at random offsets."""

    MARGIN = 64

    def __init__(self, seed: int, long_edge: int, quality: int) -> None:
        self.rng = random.Random(seed)
        self.edges = (long_edge, long_edge * 3 // 4)  # 4:3, like a phone camera
        self.quality = quality
        side = long_edge + self.MARGIN
        self.textures = [Image.effect_noise((side, side), s).convert("RGB") for s in NOISE_SIGMAS]

    def make(self, label: str, portrait: bool) -> bytes:
        rng = self.rng
        width, height = (self.edges[1], self.edges[0]) if portrait else self.edges
        x, y = rng.randrange(self.MARGIN), rng.randrange(self.MARGIN)
        noise = rng.choice(self.textures).crop((x, y, x + width, y + height))
        base = Image.new("RGB", (width, height), tuple(rng.randrange(40, 216) for _ in range(3)))
        img = Image.blend(base, noise, NOISE_BLEND)
        draw = ImageDraw.Draw(img)
        # A few "document" blocks and the label make every photo's content its own.
        for _ in range(6):
            x0, y0 = rng.randrange(width - 200), rng.randrange(height - 80)
            draw.rectangle((x0, y0, x0 + rng.randrange(60, 200), y0 + rng.randrange(20, 80)),
                           fill=tuple(rng.randrange(256) for _ in range(3)))
        draw.text((40, 40), label, fill=(0, 0, 0))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=self.quality)
        return out.getvalue()


@dataclass
class Phone:
    index: int  # 0 is the baseline phone
    username: str
    headers: dict[str, str]
    manifest: dict[str, Any]
    body: bytes  # the manifest as sent: identical bytes on resend, as the phone's queue keeps them
    blobs: dict[str, bytes]  # photo uuid -> JPEG bytes
    sha: dict[str, str]  # photo uuid -> SHA-256


def bench_officers(app: Any, count: int) -> list[str]:
    """``count`` loan officers (bench001, ...), one phone each as in the field (an officer may hold
    at most a few phones: enrolling the 101st phone of three officers would revoke the others)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Office, User
    from app.services import staff

    names = [f"bench{i:03d}" for i in range(1, count + 1)]
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        offices = [db.session.scalar(select(Office.id).where(Office.code == code)) for code in OFFICES]
        for i, name in enumerate(names):
            if db.session.scalar(select(User.id).where(User.username == name)) is None:
                user, _ = staff.create_user(full_name="测试员", username=name, mobile="", roles={"officer"},
                                            office_id=offices[i % len(offices)], actor_id=admin_id,
                                            method="pbkdf2:sha256:1000")
                user.must_change_password = False  # as after the officer's first login
                db.session.commit()
        db.session.remove()
    return names


def build_phones(app: Any, count: int, seed: int) -> list[Phone]:
    """Enrol ``count`` devices (one per bench officer) and write each one's manifest and photos."""
    from tests.sync_helpers import enrol, manifest, sha256, valid_id_number

    officers = bench_officers(app, count)

    # What the phone's upload settings say (GET /api/v1/bootstrap hands them to the phone).
    factory = PhotoFactory(seed, app.config["PHOTO_LONG_EDGE"], round(app.config["PHOTO_JPEG_QUALITY"] * 100))
    rng = random.Random(seed)
    serial = rng.randrange(100, 1000)
    phones: list[Phone] = []
    for i in range(count):
        username = officers[i]
        headers = enrol(app, username)
        # Captured after enrolment, as on a real phone (the server refuses captures that predate it).
        captured = datetime.now(timezone.utc).replace(microsecond=0)
        photos = [factory.make(f"bench phone {i} photo {k}", portrait=k < 2) for k in range(PHOTOS_PER_APP)]
        # One borrower per phone (distinct ID numbers): a shared borrower would serialise the
        # phones on one row and is not what a day in the villages looks like.
        birth = date(1970, 1, 1) + timedelta(days=37 * i + rng.randrange(30))
        body, blobs = manifest(
            app, photos,
            captured_at=captured.isoformat().replace("+00:00", "Z"),
            borrower={"uuid": str(uuid.uuid4()), "name": "测试农户", "phone": "13912345678",
                      "id_number": valid_id_number(serial, birth.strftime("%Y%m%d")),
                      "village": "红星村", "address": f"红星村{i % 9 + 1}组"},
        )
        if len(body["photos"]) != PHOTOS_PER_APP:
            raise SystemExit(f"the demo product asks for {len(body['photos'])} photos, expected {PHOTOS_PER_APP}")
        entries = body["photos"]
        phones.append(Phone(
            index=i, username=username, headers=headers, manifest=body,
            body=json.dumps(body, ensure_ascii=False).encode(),
            blobs={e["uuid"]: b for e, b in zip(entries, blobs)},
            sha={e["uuid"]: sha256(b) for e, b in zip(entries, blobs)},
        ))
    # Identical bytes would be deduplicated by the store and hide upload work.
    hashes = [h for p in phones for h in p.sha.values()]
    if len(set(hashes)) != len(hashes):
        raise SystemExit("generated photos are not all distinct")
    return phones


# --- the phone's HTTP client ---------------------------------------------------------------------


@dataclass
class Stats:
    """What one phone saw; merged after the run, so no locking is needed."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    reconnects: int = 0
    bytes_sent: int = 0
    problems: list[str] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        for kind, values in other.latency.items():
            self.latency[kind].extend(values)
        self.errors.update(other.errors)
        self.reconnects += other.reconnects
        self.bytes_sent += other.bytes_sent
        self.problems.extend(other.problems)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latency.values()) + sum(
            n for (_, status), n in self.errors.items() if status.startswith("conn")
        )


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection error)
    headers: http.client.HTTPMessage | None
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name) if self.headers is not None else None


Target = tuple[str, int]  # (host, port) of an app host


class Client:
    """One keep-alive connection, as a phone's WebView keeps one to the server. With several app
    hosts, a phone talks to one of them (``first``), or to each in turn request by request
    (``alternate``: a load balancer without stickiness)."""

    def __init__(self, targets: list[Target], headers: dict[str, str], stats: Stats, deadline: Deadline,
                 first: int = 0, alternate: bool = False) -> None:
        self.targets = targets
        self.turn = first
        self.alternate = alternate
        self.headers = headers
        self.stats = stats
        self.deadline = deadline
        self.conns: dict[Target, http.client.HTTPConnection] = {}
        self.answered: dict[Target, int] = {}  # requests answered on each target's current connection

    @property
    def target(self) -> Target:
        return self.targets[self.turn % len(self.targets)]

    @property
    def conn(self) -> http.client.HTTPConnection | None:
        return self.conns.get(self.target)

    def close(self) -> None:
        conn = self.conns.pop(self.target, None)
        if conn is not None:
            conn.close()
        self.answered.pop(self.target, None)

    def close_all(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()
        self.answered.clear()

    @property
    def used(self) -> int:
        return self.answered.get(self.target, 0)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        if self.conn is None:
            timeout = max(1.0, min(REQUEST_TIMEOUT, self.deadline.left()))
            self.conns[self.target] = http.client.HTTPConnection(*self.target, timeout=timeout)
        self.conn.request(method, path, body=body, headers={**self.headers, **headers})
        response = self.conn.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        else:
            self.answered[self.target] = self.used + 1
        return Reply(response.status, response.headers, data)

    def call(self, kind: str, method: str, path: str, ok: Iterable[int], body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        """One request, timed; statuses outside ``ok`` are counted as errors of ``kind``."""
        headers = headers or {}
        if self.alternate:
            self.turn += 1
        started = time.perf_counter()
        try:
            try:
                reply = self._send(method, path, body, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not self.used:
                    raise
                # The server closed an idle keep-alive connection: what any HTTP client retries.
                self.stats.reconnects += 1
                self.close()
                started = time.perf_counter()
                reply = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.stats.errors[(kind, f"conn:{type(exc).__name__}")] += 1
            return Reply(0, None, b"")
        self.stats.latency[kind].append(time.perf_counter() - started)
        if body and method == "PATCH":
            self.stats.bytes_sent += len(body)
        if reply.status not in ok:
            self.stats.errors[(kind, str(reply.status))] += 1
        return reply


def backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.1 * 2 ** attempt) * random.uniform(0.5, 1.5))


# --- one phone's sync ----------------------------------------------------------------------------


@dataclass
class PhoneResult:
    index: int
    started_at: float = 0.0  # perf_counter when the phone began (after the barrier)
    synced_at: float = 0.0  # perf_counter when every photo was verified (application complete)
    done_at: float = 0.0  # perf_counter after the resend and HEAD checks
    ok: bool = False


def post_manifest(client: Client, phone: Phone, kind: str) -> tuple[int, int, dict[str, Any]]:
    """POST the manifest until it is answered: (last status, attempts, last JSON body)."""
    status, body = 0, {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        reply = client.call(kind, "POST", "/api/v1/applications", (200, 201), phone.body,
                            {"Content-Type": "application/json"})
        status = reply.status
        try:
            body = json.loads(reply.body) if reply.body else {}
        except ValueError:
            body = {}
        if status in (200, 201) or status in (401, 403, 409, 422, 426):
            break  # answered, or refused in a way the officer must act on: retrying does not help
        backoff(attempt)
    return status, attempt, body


def upload_photo(client: Client, phone: Phone, photo_uuid: str, path: str, chunk: int) -> bool:
    """tus upload of one photo as tus-js-client does it with a known upload URL: HEAD for the
    offset, then PATCH chunks; after an error, HEAD again and resume. True when the server
    confirmed these exact bytes."""
    data, sha = phone.blobs[photo_uuid], phone.sha[photo_uuid]
    tus = {"Tus-Resumable": "1.0.0"}
    failures = 0
    while not client.deadline.passed():
        head = client.call("HEAD", "HEAD", path, (200,), headers=tus)
        if head.status == 200:
            offset = int(head.header("Upload-Offset") or 0)
            verified = head.header("X-Photo-Verified")
            if offset == len(data) and verified:
                return verified == sha
            while True:
                kind = "last PATCH" if offset + chunk >= len(data) else "PATCH"  # the one that verifies and stores
                reply = client.call(kind, "PATCH", path, (204,), data[offset:offset + chunk], {
                    **tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                if reply.status != 204:
                    break
                new_offset = int(reply.header("Upload-Offset") or -1)
                verified = reply.header("X-Photo-Verified")
                if new_offset == len(data) and verified:
                    return verified == sha
                if not offset < new_offset < len(data):
                    break  # no progress, or complete without confirmation: ask again
                offset = new_offset
        failures += 1
        if failures >= MAX_ATTEMPTS:
            return False
        backoff(failures)
    return False


def sync_phone(phone: Phone, targets: list[Target], chunk: int, deadline: Deadline, stats: Stats,
               barrier: threading.Barrier | None = None, alternate: bool = False) -> PhoneResult:
    result = PhoneResult(phone.index)
    client = Client(targets, phone.headers, stats, deadline, first=phone.index, alternate=alternate)
    problem = stats.problems.append
    if barrier is not None:
        barrier.wait()
    result.started_at = time.perf_counter()
    try:
        status, attempts, answer = post_manifest(client, phone, "manifest")
        if status not in (200, 201):
            problem(f"phone {phone.index}: manifest not accepted: {status} {json.dumps(answer, ensure_ascii=False)[:300]}")
            return result
        # 200 is right only if an earlier attempt created it and its answer was lost.
        if status != 201 and attempts == 1:
            problem(f"phone {phone.index}: first manifest answered {status}, expected 201")
        urls: dict[str, str] = answer.get("upload_urls", {})
        order = [e["uuid"] for e in phone.manifest["photos"]]
        if set(answer.get("needed", [])) != set(order):
            problem(f"phone {phone.index}: server needs {len(answer.get('needed', []))} of {len(order)} new photos")
        uploaded = True
        for photo_uuid in [u for u in order if u in urls]:
            if not upload_photo(client, phone, photo_uuid, urls[photo_uuid], chunk):
                problem(f"phone {phone.index}: photo {photo_uuid} not confirmed")
                uploaded = False
        if uploaded:
            result.synced_at = time.perf_counter()

        # Idempotency under load: the resend creates nothing and needs nothing.
        status, _, again = post_manifest(client, phone, "manifest resend")
        ok = uploaded
        if status != 200:
            problem(f"phone {phone.index}: resend answered {status}, expected 200")
            ok = False
        elif again.get("needed") or again.get("state") != "awaiting_director":
            problem(f"phone {phone.index}: after resend state={again.get('state')} needed={again.get('needed')}")
            ok = False
        elif again.get("application_id") != answer.get("application_id"):
            problem(f"phone {phone.index}: resend answered another application id")
            ok = False
        for photo_uuid in order:
            head = client.call("HEAD verify", "HEAD", f"/api/v1/uploads/{photo_uuid}", (200,),
                               headers={"Tus-Resumable": "1.0.0"})
            size = str(len(phone.blobs[photo_uuid]))
            if head.status != 200 or head.header("Upload-Offset") != size \
                    or head.header("X-Photo-Verified") != phone.sha[photo_uuid]:
                problem(f"phone {phone.index}: HEAD {photo_uuid}: status {head.status}, "
                        f"offset {head.header('Upload-Offset')}/{size}, verified {head.header('X-Photo-Verified')}")
                ok = False
        result.ok = ok
        return result
    finally:
        result.done_at = time.perf_counter()
        client.close_all()


def run_concurrent(phones: list[Phone], targets: list[Target], chunk: int, deadline: Deadline,
                   alternate: bool = False) -> tuple[float, list[PhoneResult], Stats, int]:
    """All phones at once; returns the start time, results, merged stats and unfinished phones."""
    barrier = threading.Barrier(len(phones) + 1)
    results: list[PhoneResult | None] = [None] * len(phones)
    stats = [Stats() for _ in phones]

    def run(slot: int) -> None:
        try:
            results[slot] = sync_phone(phones[slot], targets, chunk, deadline, stats[slot], barrier, alternate)
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:  # noqa: BLE001 — a bug in one phone must not hide the others' figures
            stats[slot].problems.append(f"phone {phones[slot].index}: {type(exc).__name__}: {exc}")

    # Daemon threads: if the deadline passes, exiting must not wait for stuck phones.
    threads = [threading.Thread(target=run, args=(i,), daemon=True, name=f"phone-{i}") for i in range(len(phones))]
    for t in threads:
        t.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for t in threads:
        t.join(timeout=deadline.left())
    unfinished = sum(t.is_alive() for t in threads)
    merged = Stats()
    for s in stats:
        merged.merge(s)
    return started, [r for r in results if r is not None], merged, unfinished


# --- round trips and CPU per request type (in process) -------------------------------------------

ROUND_TRIP_KINDS = ("manifest", "HEAD", "PATCH", "last PATCH", "manifest resend", "HEAD verify")


@dataclass
class Costs:
    """What one request type cost the server, summed over its requests."""

    requests: int = 0
    statements: int = 0  # SQL statements sent (before_cursor_execute)
    commits: int = 0  # COMMIT and ROLLBACK, the pool's reset on return included
    pings: int = 0  # pool_pre_ping's check on each checkout (MySQL/MariaDB)
    cpu: float = 0.0  # thread CPU seconds

    @property
    def round_trips(self) -> int:
        return self.statements + self.commits + self.pings


def request_costs(app: Any, phone: Phone, chunk: int, profile_dir: Path | None = None) -> dict[str, Costs]:
    """Sync one phone through the app in this process (Flask's test client: no HTTP, no other
    load) and count, per request type, the database round trips and the CPU it took. With
    ``profile_dir``, each type's cProfile statistics are written there (<kind>.pstats)."""
    import cProfile

    from sqlalchemy import event

    from app.extensions import db

    costs = {k: Costs() for k in ROUND_TRIP_KINDS}
    # CPU time, not wall time: on a shared machine waiting is not cost.
    profiles = {k: cProfile.Profile(time.thread_time) for k in ROUND_TRIP_KINDS} if profile_dir else {}
    current: list[str | None] = [None]
    with app.app_context():
        engine = db.engine
    mysql = engine.dialect.name in ("mysql", "mariadb")

    def count(attr: str) -> Callable[..., None]:
        def listener(*_args: Any, **_kwargs: Any) -> None:
            if current[0] is not None:
                setattr(costs[current[0]], attr, getattr(costs[current[0]], attr) + 1)
        return listener

    def reset(_dbapi_connection: Any, _record: Any, state: Any) -> None:
        # The pool's rollback on return, unless the session's own rollback already ended the transaction.
        if current[0] is not None and not state.transaction_was_reset:
            costs[current[0]].commits += 1

    listeners = [
        (engine, "before_cursor_execute", count("statements")),
        (engine, "commit", count("commits")),
        (engine, "rollback", count("commits")),
        (engine.pool, "reset", reset),
    ]
    if mysql and engine.pool._pre_ping:  # noqa: SLF001 — the ping is a round trip of its own
        listeners.append((engine.pool, "checkout", count("pings")))
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    client = app.test_client()

    def call(kind: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        current[0] = kind
        started = time.thread_time()
        prof = profiles.get(kind)
        if prof is not None:
            prof.enable()
        try:
            return client.open(path, method=method, data=body, headers={**phone.headers, **(headers or {})})
        finally:
            if prof is not None:
                prof.disable()
            costs[kind].cpu += time.thread_time() - started
            costs[kind].requests += 1
            current[0] = None

    try:
        json_headers = {"Content-Type": "application/json"}
        answer = call("manifest", "POST", "/api/v1/applications", phone.body, json_headers)
        if answer.status_code != 201:
            raise SystemExit(f"in-process manifest answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")
        tus = {"Tus-Resumable": "1.0.0"}
        for photo_uuid, path in answer.get_json()["upload_urls"].items():
            data = phone.blobs[photo_uuid]
            head = call("HEAD", "HEAD", path, headers=tus)
            offset = int(head.headers["Upload-Offset"])
            while offset < len(data):
                part = data[offset:offset + chunk]
                kind = "last PATCH" if offset + len(part) == len(data) else "PATCH"
                reply = call(kind, "PATCH", path, part, {
                    **tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                if reply.status_code != 204:
                    raise SystemExit(f"in-process PATCH answered {reply.status_code}: {reply.get_data(as_text=True)[:300]}")
                offset = int(reply.headers["Upload-Offset"])
            if reply.headers.get("X-Photo-Verified") != phone.sha[photo_uuid]:
                raise SystemExit("in-process upload not confirmed")
        again = call("manifest resend", "POST", "/api/v1/applications", phone.body, json_headers)
        if again.status_code != 200 or again.get_json()["state"] != "awaiting_director":
            raise SystemExit(f"in-process resend answered {again.status_code}: {again.get_data(as_text=True)[:300]}")
        for photo_uuid in phone.blobs:
            head = call("HEAD verify", "HEAD", f"/api/v1/uploads/{photo_uuid}", headers=tus)
            if head.headers.get("X-Photo-Verified") != phone.sha[photo_uuid]:
                raise SystemExit("in-process HEAD verify not confirmed")
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # hold no SQLite handle while the server writes
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        for kind, prof in profiles.items():
            prof.dump_stats(profile_dir / f"{kind.replace(' ', '_')}.pstats")
    return costs


def print_costs(costs: dict[str, Costs]) -> None:
    total = Costs()
    print("one application in process (test client, no HTTP, nothing else running in the server):")
    print(f"{'request type':<16}{'n':>4}{'round trips':>13}{'(SQL':>6}{'commit':>8}{'ping)':>7}{'per request':>13}{'CPU ms/req':>12}")
    for kind, c in costs.items():
        n = max(c.requests, 1)
        print(f"{kind:<16}{c.requests:>4}{c.round_trips:>13}{c.statements:>6}{c.commits:>8}{c.pings:>7}"
              f"{c.round_trips / n:>13.1f}{c.cpu / n * 1000:>12.1f}")
        for attr in ("requests", "statements", "commits", "pings", "cpu"):
            setattr(total, attr, getattr(total, attr) + getattr(c, attr))
    print(f"{'per application':<16}{total.requests:>4}{total.round_trips:>13}{total.statements:>6}{total.commits:>8}"
          f"{total.pings:>7}{'':>13}{total.cpu * 1000:>9.1f} ms")
    print()


# --- instance, database and server ---------------------------------------------------------------


def prepare_database(url: str) -> Callable[[], None]:
    """Create the MySQL/MariaDB database named in ``url`` when missing; returns drop-if-created."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    parsed = make_url(url)
    if not parsed.get_backend_name().startswith(("mysql", "mariadb")) or not parsed.database:
        return lambda: None
    name = parsed.database
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    # A server-level connection: the database may not exist yet. (URL.set ignores None.)
    server = create_engine(parsed.set(database=""))
    try:
        with server.connect() as conn:
            existed = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
                                   {"n": name}).first() is not None
            if not existed:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    except OperationalError as exc:
        raise SystemExit(f"cannot prepare database {name!r}: {exc.orig}") from None
    finally:
        server.dispose()

    def drop() -> None:
        if existed:
            return  # not ours to drop
        engine = create_engine(parsed.set(database=""))
        try:
            with engine.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        finally:
            engine.dispose()

    return drop


def flask_cli(*args: str, env: dict[str, str], deadline: Deadline) -> None:
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run([str(flask), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=deadline.left())
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


class Gunicorn:
    def __init__(self, workers: int, threads: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._log_file = log.open("wb")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        # Own session: a Ctrl-C in the terminal reaches this script, which then stops the server
        # in order, instead of both racing to shut down.
        self.proc = subprocess.Popen(
            [str(gunicorn), "--bind", f"{HOST}:{self.port}", "--workers", str(workers), "--threads", str(threads),
             "--worker-class", "gthread", "app:create_app()"],
            cwd=REPO_ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, deadline: Deadline) -> None:
        url = f"http://{HOST}:{self.port}/healthz"
        while not deadline.passed():
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz in time")

    def cpu_seconds(self) -> float:
        """User+system CPU of the master and its live workers, from /proc (Linux)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a process that just ended
            pid, ppid = int(stat.parent.name), int(fields[1])
            if self.proc.pid in (pid, ppid):
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn: SIGTERM is a graceful stop of all workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


def wait_ready(host: str, port: int, deadline: Deadline) -> None:
    """Wait for an app host started elsewhere to answer /healthz."""
    while not deadline.passed():
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{host}:{port} did not answer /healthz in time")


class Cpu:
    """CPU seconds since the last lap: the server, this process, and the whole machine.

    The machine figure shows how much other processes took: on a shared box they skew every number.
    """

    def __init__(self, server: Gunicorn | None) -> None:
        self.server = server  # None: app hosts not started here, their CPU is not seen
        self.last = self._now()

    def _now(self) -> tuple[float, float, float]:
        own = os.times()
        with open("/proc/stat") as f:
            jiffies = [int(x) for x in f.readline().split()[1:]]
        busy = sum(jiffies) - jiffies[3] - jiffies[4]  # all but idle and iowait
        server = self.server.cpu_seconds() if self.server is not None else 0.0
        return server, own.user + own.system, busy / os.sysconf("SC_CLK_TCK")

    def lap(self) -> tuple[float, float, float]:
        now = self._now()
        spent = (now[0] - self.last[0], now[1] - self.last[1], now[2] - self.last[2])
        self.last = now
        return spent


def warm_up(targets: list[Target], headers: dict[str, str], workers: int) -> None:
    """A few untimed API calls on fresh connections, so every worker has imported and connected."""
    for i in range(4 * workers * len(targets)):
        conn = http.client.HTTPConnection(*targets[i % len(targets)], timeout=30)
        try:
            conn.request("GET", "/api/v1/bootstrap", headers=headers)
            conn.getresponse().read()
        finally:
            conn.close()


# --- verification against the database and the store ---------------------------------------------


def verify(app: Any, phones: list[Phone], apps_before: int) -> tuple[list[str], int, int]:
    """Check what the server kept; returns problems, lost photos and duplicated photos."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Application, Photo, Transition
    from app.storage import make_store

    problems: list[str] = []
    expected = {u: (p.manifest["uuid"], p.sha[u], len(b)) for p in phones for u, b in p.blobs.items()}
    officer_of = {p.manifest["uuid"]: p.username for p in phones}
    store = make_store(app.config)
    with app.app_context():
        new = db.session.scalar(select(func.count(Application.id))) - apps_before
        if new != len(phones):
            problems.append(f"{new} new applications, expected {len(phones)}")
        apps = db.session.scalars(select(Application).where(Application.uuid.in_(list(officer_of)))).all()
        if len(apps) != len(phones):
            problems.append(f"{len(apps)} of {len(phones)} manifests have an application")
        by_id = {a.id: a for a in apps}
        for a in apps:
            if a.state != "awaiting_director":
                problems.append(f"application {a.uuid}: state {a.state}")
            if a.officer.username != officer_of[a.uuid]:
                problems.append(f"application {a.uuid}: officer {a.officer.username}, expected {officer_of[a.uuid]}")
        completes = Counter(db.session.scalars(
            select(Transition.application_id).where(Transition.application_id.in_(list(by_id)),
                                                    Transition.event == "photos_complete")
        ).all())
        for app_id, a in by_id.items():
            if completes[app_id] != 1:
                problems.append(f"application {a.uuid}: {completes[app_id]} photos_complete transitions")

        rows = db.session.scalars(select(Photo).where(Photo.application_id.in_(list(by_id)))).all()
        per_app = Counter(r.application_id for r in rows)
        for app_id, a in by_id.items():
            if per_app[app_id] != PHOTOS_PER_APP:
                problems.append(f"application {a.uuid}: {per_app[app_id]} photo rows")
        per_uuid = Counter(r.uuid for r in rows)
        duplicated = sum(n - 1 for n in per_uuid.values()) + sum(1 for u in per_uuid if u not in expected)
        if len(rows) != PHOTOS_PER_APP * len(phones):
            problems.append(f"{len(rows)} photo rows, expected {PHOTOS_PER_APP * len(phones)}")

        lost = 0
        seen = {r.uuid: r for r in rows}
        for photo_uuid, (app_uuid, sha, size) in expected.items():
            row = seen.get(photo_uuid)
            why = None
            if row is None:
                why = "no row"
            elif by_id[row.application_id].uuid != app_uuid:
                why = "attached to another application"
            elif row.received_at is None:
                why = "not received"
            elif row.sha256 != sha or row.size_bytes != size:
                why = "row differs from the manifest"
            else:
                try:
                    with store.open(sha) as f:
                        content = f.read()
                except FileNotFoundError:
                    why = "object missing from the store"
                else:
                    if hashlib.sha256(content).hexdigest() != sha or len(content) != size:
                        why = "stored bytes differ"
            if why:
                lost += 1
                problems.append(f"photo {photo_uuid}: {why}")
        db.session.remove()
        db.engine.dispose()
    leftovers = list(store.uploads_dir.glob("*.part"))
    if leftovers:
        problems.append(f"{len(leftovers)} partial uploads left in {store.uploads_dir}")
    # Not a failure, but worth seeing: per-photo lock files are never removed by the server.
    print(f"uploads dir after the run: {len(leftovers)} .part, {len(list(store.uploads_dir.glob('*.lock')))} .lock files")
    return problems, lost, duplicated


def count_applications(app: Any) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Application

    with app.app_context():
        n = db.session.scalar(select(func.count(Application.id)))
        db.session.remove()
        db.engine.dispose()  # hold no SQLite handle while the server writes
        return n


# --- report --------------------------------------------------------------------------------------


@dataclass
class Run:
    """The concurrent phase and its baseline, as measured."""

    phones: int
    wall: float  # barrier release to the last phone's last check
    synced: float  # barrier release to the last application complete
    stats: Stats
    base: Stats
    base_time: float
    per_phone: list[float]
    completed: list[bool]  # per phone: synced and passed its own checks
    cpu: tuple[float, float, float]  # server, this client, whole machine (CPU seconds)
    base_cpu: float  # server CPU seconds for the baseline phone
    load_before: str


def failures_in_log(log: str) -> Counter[tuple[str, str]]:
    """Tracebacks in the server log by (deepest frame in app/, exception line), to say where it broke."""
    found: Counter[tuple[str, str]] = Counter()
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last):"):
            continue
        where, j = "?", i + 1  # the deepest frame wins: it is the app line that raised
        while j < len(lines) and lines[j].startswith(" "):
            frame = re.match(r'\s+File "(.*)", line (\d+), in (.+)', lines[j])
            if frame and f"{os.sep}app{os.sep}" in frame.group(1) and "site-packages" not in frame.group(1):
                where = f"{os.path.relpath(frame.group(1), REPO_ROOT)}:{frame.group(2)} in {frame.group(3)}"
            j += 1
        # A block without a frame in app/ is the driver's cause of a chained exception: counted once.
        if j < len(lines) and where != "?":
            found[(where, lines[j].strip())] += 1
    return found


def print_report(args: argparse.Namespace, db_label: str, run: Run, server_log: str | None) -> None:
    wall, stats, base = max(run.wall, 1e-9), run.stats, run.base
    print()
    print(f"phones:          {run.phones} at once (+1 baseline alone before them)")
    if server_log is None:
        print(f"app hosts:       {len(args.base_url)} started elsewhere")
    else:
        print(f"gunicorn:        {args.workers} workers x {args.threads} threads (gthread)")
    print(f"database:        {db_label}")
    print(f"upload:          {PHOTOS_PER_APP} photos per application, {args.chunk_kib} KiB chunks")
    print(f"total wall time: {run.wall:8.2f} s   (last application complete after {run.synced:.2f} s)")
    completed = sum(1 for ok in run.completed if ok)
    print(f"applications/s:  {completed / wall:8.2f}   (counting to complete only: {completed / max(run.synced, 1e-9):.2f}; "
          f"{completed} of {run.phones} phones finished cleanly)")
    print(f"requests/s:      {stats.requests / wall:8.1f}   ({stats.requests} requests)")
    print(f"uploaded:        {stats.bytes_sent / 1e6 / wall:8.2f} MB/s   ({stats.bytes_sent / 1e6:.1f} MB)")
    print(f"per phone:       p50 {percentile(run.per_phone, 50):.2f} s, p95 {percentile(run.per_phone, 95):.2f} s, "
          f"max {max(run.per_phone, default=0):.2f} s   (baseline phone alone: {run.base_time:.2f} s)")
    print()
    print(f"{'latency ms':<16}{'n':>5}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   | alone:{'n':>3}{'p50':>9}{'p95':>9}{'max':>9}")
    for kind in KINDS:
        v, b = stats.latency[kind], base.latency[kind]
        print(f"{kind:<16}{len(v):>5}{ms(percentile(v, 50))}{ms(percentile(v, 95))}{ms(percentile(v, 99))}"
              f"{ms(max(v, default=0))}   |   {len(b):>6}{ms(percentile(b, 50))}{ms(percentile(b, 95))}{ms(max(b, default=0))}")
    print("  (HEAD: tus-js-client's offset query before each upload; last PATCH: the chunk that completes a photo,\n"
          "   verified and stored before the answer; HEAD verify: the final check)")
    print()
    errors = stats.errors + base.errors
    listed = ", ".join(f"{kind} {status}: {count}" for (kind, status), count in sorted(errors.items()))
    print(f"errors:          {listed or 'none'}")
    print(f"reconnects:      {stats.reconnects + base.reconnects} (server closed an idle keep-alive connection)")
    if server_log is None:
        print("server log:      on the app hosts (not read here)")
    else:
        print(f"server log:      {server_log.count('Exception on /')} unhandled exceptions, "
              f"{server_log.count('database is locked')} 'database is locked', "
              f"{server_log.count('Deadlock found')} deadlocks, {server_log.count('WORKER TIMEOUT')} worker timeouts")
        for (where, what), count in failures_in_log(server_log).most_common(5):
            print(f"  {count} x {what[:160]}\n      last app frame: {where}")
    server_s, client_s, machine_s = run.cpu
    cores = os.cpu_count() or 1
    other = max(0.0, machine_s - server_s - client_s)
    if server_log is None:
        print(f"CPU:             app hosts not measured here; this client {client_s:.1f} s;")
    else:
        print(f"CPU:             server {server_s:.1f} s = {server_s / run.phones * 1000:.0f} ms per application "
              f"(alone: {run.base_cpu * 1000:.0f} ms); this client {client_s:.1f} s;")
    print(f"                 other processes (a local database server too) {other:.1f} s; "
          f"machine {machine_s / (wall * cores) * 100:.0f} % busy on {cores} cores; load average before: {run.load_before}")
    if server_log is not None and server_s > 0:
        # What the same CPU per application would give if the server and this client had the machine to
        # themselves: a projection from measured CPU, not a measurement (a local database's CPU not counted).
        per_app = (server_s + client_s) / run.phones
        print(f"                 the server had {server_s / (wall * cores) * 100:.0f} % of the machine; with the cores "
              f"to itself and this client: about {cores / per_app:.0f} applications/s (projection)")
    print()


# --- main ----------------------------------------------------------------------------------------


def base_url(raw: str) -> Target:
    parsed = urllib.parse.urlsplit(raw)
    if parsed.scheme != "http" or not parsed.hostname or parsed.path not in ("", "/"):
        raise argparse.ArgumentTypeError(f"{raw!r}: expected http://host:port")
    return parsed.hostname, parsed.port or 80


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=100, help="phones syncing at once (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--database-url", default="", help="MySQL/MariaDB URL (default: SQLite in the temp instance)")
    parser.add_argument("--chunk-kib", type=int, default=256, help="tus PATCH size in KiB (default 256, as the phone)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    parser.add_argument("--seed", type=int, default=1, help="seed for photos and borrowers")
    parser.add_argument("--base-url", action="append", default=[], metavar="URL", type=base_url,
                        help="an app host already running (http://host:port), repeat for several; then no server "
                             "is started here, --database-url must name the hosts' database and the photo store "
                             "comes from the environment as theirs does (PHOTO_STORE, S3_ENDPOINT_URL, AWS_*)")
    parser.add_argument("--alternate", action="store_true",
                        help="with several --base-url: every phone sends each request to the next host in turn")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="write cProfile statistics of the in-process phone, one file per request type, to DIR")
    args = parser.parse_args()
    if not 1 <= args.phones <= 1000:
        parser.error("--phones must be between 1 and 1000")
    if args.workers < 1 or args.threads < 1 or args.chunk_kib < 1 or args.timeout <= 0:
        parser.error("--workers, --threads, --chunk-kib and --timeout must be positive")
    if args.base_url and not args.database_url:
        parser.error("--base-url needs --database-url: the hosts' database, where the bench enrols its phones")
    return args


def bench(args: argparse.Namespace, tmp: Path, deadline: Deadline, on_exit: list[Callable[[], None]]) -> int:
    database_url = args.database_url or f"sqlite:///{tmp / 'daidaitong.sqlite3'}"
    on_exit.append(prepare_database(database_url))
    env = {
        **os.environ, "FLASK_APP": "app", "INSTANCE_DIR": str(tmp), "DATABASE_URL": database_url,
        "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "sync-load-bench",
    }
    # This process opens the same instance (enrolment, verification) through create_app().
    os.environ.update({k: env[k] for k in ("INSTANCE_DIR", "DATABASE_URL", "PHOTO_DIR", "SECRET_KEY")})
    from sqlalchemy import make_url

    db_label = make_url(database_url).render_as_string(hide_password=True)
    if db_label.startswith("sqlite"):
        db_label = f"SQLite (WAL), {db_label}"
    print(f"instance: {tmp}")
    flask_cli("db", "upgrade", env=env, deadline=deadline)
    flask_cli("demo", "load", "--if-empty", env=env, deadline=deadline)

    from app import create_app

    app = create_app()
    started = time.perf_counter()
    phones = build_phones(app, args.phones + 3, args.seed)
    sizes = [len(b) for p in phones for b in p.blobs.values()]
    print(f"prepared {len(phones)} enrolled phones, {len(sizes)} photos of {min(sizes) // 1024}-{max(sizes) // 1024} KB "
          f"(mean {sum(sizes) // len(sizes) // 1024} KB) in {time.perf_counter() - started:.1f} s")
    # Two phones synced in this process first: the first warms imports and caches, the second is counted.
    request_costs(app, phones.pop(), args.chunk_kib * 1024)
    costs = request_costs(app, phones.pop(), args.chunk_kib * 1024, args.profile)
    sizes = [len(b) for p in phones for b in p.blobs.values()]
    apps_before = count_applications(app)

    server: Gunicorn | None = None
    if args.base_url:
        targets = args.base_url
        for host, port in targets:
            wait_ready(host, port, deadline)
        print(f"app hosts (not started here): {', '.join(f'{h}:{p}' for h, p in targets)}"
              f"{'; each phone alternates between them request by request' if args.alternate else ''}")
    else:
        server = Gunicorn(args.workers, args.threads, env, tmp / "gunicorn.log")
        on_exit.append(server.stop)
        server.wait_ready(deadline)
        targets = [(HOST, server.port)]
        print(f"gunicorn on {HOST}:{server.port}")
    chunk = args.chunk_kib * 1024
    warm_up(targets, phones[0].headers, args.workers)
    load_before = Path("/proc/loadavg").read_text().split()[0]

    # Baseline: one phone alone, same server, same code path; then everyone else at once.
    cpu = Cpu(server)
    base = Stats()
    solo = sync_phone(phones[0], targets, chunk, deadline, base, alternate=args.alternate)
    base_cpu = cpu.lap()[0]
    start, results, stats, unfinished = run_concurrent(phones[1:], targets, chunk, deadline, args.alternate)
    load_cpu = cpu.lap()
    if server is not None:
        server.stop()  # flushes the log; a stopped server also cannot touch the data being checked
    run = Run(
        phones=args.phones,
        wall=max((r.done_at for r in results), default=start) - start,
        # Only phones that got as far as completing their application count here.
        synced=max((r.synced_at for r in results if r.synced_at), default=start) - start,
        stats=stats, base=base, base_time=solo.done_at - solo.started_at,
        per_phone=[r.done_at - r.started_at for r in results],
        completed=[r.ok for r in results],
        cpu=load_cpu, base_cpu=base_cpu, load_before=load_before,
    )
    print_report(args, db_label, run, server.log.read_text(errors="replace") if server is not None else None)
    print_costs(costs)

    problems = base.problems + stats.problems
    if unfinished:
        problems.insert(0, f"{unfinished} phones still running at the deadline")
    db_problems, lost, duplicated = verify(app, phones, apps_before)
    problems.extend(db_problems)
    print(f"verified in the database and the photo store: {len(phones)} applications, {len(sizes)} photos")
    print(f"lost photos: {lost}, duplicated photos: {duplicated}")
    if problems:
        print(f"FAILED: {len(problems)} problems")
        for line in problems[:30]:
            print(f"  - {line}")
        if len(problems) > 30:
            print(f"  ... and {len(problems) - 30} more")
        return 1
    print("all checks passed")
    return 0


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="ddt-sync-load-"))
    on_exit: list[Callable[[], None]] = []
    try:
        return bench(args, tmp, Deadline(args.timeout), on_exit)
    finally:
        # Newest first: stop the server before dropping its database and deleting its files.
        for action in reversed(on_exit):
            try:
                action()
            except Exception as exc:  # noqa: BLE001 — clean up the rest regardless
                print(f"cleanup: {type(exc).__name__}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        print("interrupted; server stopped and temporary files removed", file=sys.stderr)
        sys.exit(130)
