"""How does phone sync hold up when many officers send at once?

Run from the repository root:

    .venv/bin/python bench/sync_load.py [--phones 100] [--workers 2] [--threads 8]
                                        [--chunk-kib 256] [--database-url URL] [--timeout 600]

It builds a throw-away instance in a temporary folder (SQLite there by default; ``--database-url``
points at a MySQL/MariaDB server instead, whose database is created when missing and dropped
afterwards if this script created it), migrates it, loads the demo data, enrols N+1 phones for
officer1/2/3 in turn, and serves the app with gunicorn (gthread) on a free port of 127.0.0.1.

Each phone holds one loan application with 5 distinct JPEG photos of 100-200 KB (1600 px long edge,
quality 0.7, noise so they do not compress to nothing), generated before any timing starts. A phone
syncs like the officer's app: POST the manifest to /api/v1/applications, PATCH each needed photo
(tus 1.0.0) in --chunk-kib chunks, resuming from HEAD after an error; then, to prove idempotency
under load, it resends the manifest (must answer 200 with nothing needed) and HEADs every photo
(must answer offset == size and X-Photo-Verified == its SHA-256).

First one phone syncs alone (the baseline), then N phones start together behind a barrier, one
thread and one keep-alive connection each. It prints throughput, latency percentiles per request
type beside the baseline, errors by status, and then checks the database and the photo store:
N+1 new applications awaiting the director, 5 received photos each, no duplicate photo rows, one
photos_complete transition each, and every stored object hashing to the manifest's SHA-256.
Exit status 0 only when every check passes.

Client and server share this machine's cores, so the figures are a floor for a real server.
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
OFFICERS = ("officer1", "officer2", "officer3")
PHOTOS_PER_APP = 5  # the demo credit product (XYD) requires one photo for each of 5 items
PHOTO_EDGES = (1600, 1200)  # the phone downscales to a 1600 px long edge
JPEG_QUALITY = 70  # PHOTO_JPEG_QUALITY = 0.7
# Gaussian noise strengths that put a 1600x1200 JPEG at quality 70 between ~110 and ~200 KB.
NOISE_SIGMAS = (18, 22, 25, 28, 32)
NOISE_BLEND = 0.2
MAX_ATTEMPTS = 5  # per manifest / per photo, like the phone's queue before it waits for the next round
REQUEST_TIMEOUT = 120.0  # seconds per HTTP request; a queued request may wait behind many others
KINDS = ("manifest", "PATCH", "manifest resend", "HEAD")


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

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        side = max(PHOTO_EDGES) + self.MARGIN
        self.textures = [Image.effect_noise((side, side), s).convert("RGB") for s in NOISE_SIGMAS]

    def make(self, label: str, portrait: bool) -> bytes:
        rng = self.rng
        width, height = (PHOTO_EDGES[1], PHOTO_EDGES[0]) if portrait else PHOTO_EDGES
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
        img.save(out, "JPEG", quality=JPEG_QUALITY)
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


def build_phones(app: Any, count: int, seed: int) -> list[Phone]:
    """Enrol ``count`` devices (officer1/2/3 in turn) and write each one's manifest and photos."""
    from tests.sync_helpers import enrol, manifest, sha256, valid_id_number

    factory = PhotoFactory(seed)
    rng = random.Random(seed)
    serial = rng.randrange(100, 1000)
    captured = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    phones: list[Phone] = []
    for i in range(count):
        username = OFFICERS[i % len(OFFICERS)]
        headers = enrol(app, username)
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


class Client:
    """One keep-alive connection, as a phone's WebView keeps one to the server."""

    def __init__(self, port: int, headers: dict[str, str], stats: Stats, deadline: Deadline) -> None:
        self.port = port
        self.headers = headers
        self.stats = stats
        self.deadline = deadline
        self.conn: http.client.HTTPConnection | None = None
        self.used = 0  # requests answered on the current connection

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, 0

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        if self.conn is None:
            timeout = max(1.0, min(REQUEST_TIMEOUT, self.deadline.left()))
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        self.conn.request(method, path, body=body, headers={**self.headers, **headers})
        response = self.conn.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        else:
            self.used += 1
        return Reply(response.status, response.headers, data)

    def call(self, kind: str, method: str, path: str, ok: Iterable[int], body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        """One request, timed; statuses outside ``ok`` are counted as errors of ``kind``."""
        headers = headers or {}
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


def post_manifest(client: Client, phone: Phone, kind: str) -> tuple[int, dict[str, Any] | None]:
    """POST the manifest until it is answered; returns the first answer's status and the body."""
    first = 0
    for attempt in range(MAX_ATTEMPTS):
        reply = client.call(kind, "POST", "/api/v1/applications", (200, 201), phone.body,
                            {"Content-Type": "application/json"})
        first = first or reply.status
        if reply.status in (200, 201):
            return first, json.loads(reply.body)
        if reply.status in (401, 403, 409, 422, 426):
            break  # refusals the phone shows to the officer: retrying does not help
        backoff(attempt)
    return first, None


def upload_photo(client: Client, phone: Phone, photo_uuid: str, path: str, chunk: int) -> bool:
    """tus upload of one photo; True when the server confirmed these exact bytes."""
    data, sha = phone.blobs[photo_uuid], phone.sha[photo_uuid]
    offset, failures = 0, 0
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    while not client.deadline.passed():
        piece = data[offset:offset + chunk]
        reply = client.call("PATCH", "PATCH", path, (204,), piece, {**tus, "Upload-Offset": str(offset)})
        if reply.status == 204:
            new_offset = int(reply.header("Upload-Offset") or -1)
            if new_offset == len(data) and reply.header("X-Photo-Verified"):
                return reply.header("X-Photo-Verified") == sha
            if offset < new_offset < len(data):
                offset = new_offset
                continue
            # 204 but no progress or no confirmation: ask where the server stands.
        failures += 1
        if failures >= MAX_ATTEMPTS:
            return False
        backoff(failures)
        head = client.call("HEAD", "HEAD", path, (200,), headers={"Tus-Resumable": "1.0.0"})
        if head.status == 200:
            offset = int(head.header("Upload-Offset") or 0)
            if offset == len(data) and head.header("X-Photo-Verified"):
                return head.header("X-Photo-Verified") == sha
    return False


def sync_phone(phone: Phone, port: int, chunk: int, deadline: Deadline, stats: Stats,
               barrier: threading.Barrier | None = None) -> PhoneResult:
    result = PhoneResult(phone.index)
    client = Client(port, phone.headers, stats, deadline)
    problem = stats.problems.append
    if barrier is not None:
        barrier.wait()
    result.started_at = time.perf_counter()
    try:
        status, answer = post_manifest(client, phone, "manifest")
        if answer is None:
            problem(f"phone {phone.index}: manifest not accepted (status {status})")
            return result
        if status != 201:
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
        result.synced_at = time.perf_counter()

        # Idempotency under load: the resend creates nothing and needs nothing.
        status, again = post_manifest(client, phone, "manifest resend")
        ok = uploaded
        if again is None or status != 200:
            problem(f"phone {phone.index}: resend answered {status}, expected 200")
            ok = False
        elif again.get("needed") or again.get("state") != "awaiting_director":
            problem(f"phone {phone.index}: after resend state={again.get('state')} needed={again.get('needed')}")
            ok = False
        elif again.get("application_id") != answer.get("application_id"):
            problem(f"phone {phone.index}: resend answered another application id")
            ok = False
        for photo_uuid in order:
            head = client.call("HEAD", "HEAD", f"/api/v1/uploads/{photo_uuid}", (200,),
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
        client.close()


def run_concurrent(phones: list[Phone], port: int, chunk: int, deadline: Deadline) -> tuple[float, list[PhoneResult], Stats, int]:
    """All phones at once; returns the start time, results, merged stats and unfinished phones."""
    barrier = threading.Barrier(len(phones) + 1)
    results: list[PhoneResult | None] = [None] * len(phones)
    stats = [Stats() for _ in phones]

    def run(slot: int) -> None:
        try:
            results[slot] = sync_phone(phones[slot], port, chunk, deadline, stats[slot], barrier)
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


# --- instance, database and server ---------------------------------------------------------------


def prepare_database(url: str) -> tuple[str, Callable[[], None]]:
    """Create a MySQL/MariaDB database named in ``url`` when missing; returns its drop-if-created."""
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    if not parsed.get_backend_name().startswith(("mysql", "mariadb")) or not parsed.database:
        return url, lambda: None
    name = parsed.database
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    server = create_engine(parsed.set(database=""))
    with server.connect() as conn:
        exists = conn.execute(text("SHOW DATABASES LIKE :n"), {"n": name}).first() is not None
        if not exists:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()

    def drop() -> None:
        if exists:
            return  # not ours to drop
        engine = create_engine(parsed.set(database=""))
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        engine.dispose()

    return url, drop


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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn: SIGTERM is a graceful stop of all workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


def warm_up(port: int, headers: dict[str, str], workers: int) -> None:
    """A few untimed API calls on fresh connections, so every worker has imported and connected."""
    for _ in range(4 * workers):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
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


def print_report(args: argparse.Namespace, db_label: str, n: int, wall: float, synced_wall: float,
                 stats: Stats, base: Stats, base_time: float, per_phone: list[float], server_log: str) -> None:
    print()
    print(f"phones: {n} at once (+1 baseline)   gunicorn: {args.workers} workers x {args.threads} threads (gthread)")
    print(f"database: {db_label}   chunk: {args.chunk_kib} KiB   photos: {PHOTOS_PER_APP} per application")
    print(f"total wall time:        {wall:8.2f} s   (all applications complete after {synced_wall:.2f} s)")
    print(f"applications/s:         {n / wall:8.2f}   (to complete: {n / synced_wall:.2f})" if wall and synced_wall
          else "applications/s:              n/a")
    print(f"requests/s:             {stats.requests / wall:8.1f}   ({stats.requests} requests)" if wall else "")
    print(f"uploaded:               {stats.bytes_sent / 1e6 / wall:8.2f} MB/s   ({stats.bytes_sent / 1e6:.1f} MB)"
          if wall else "")
    print(f"per phone total:        p50 {percentile(per_phone, 50):.2f} s  p95 {percentile(per_phone, 95):.2f} s"
          f"  max {max(per_phone, default=0):.2f} s   (baseline phone alone: {base_time:.2f} s)")
    print()
    print(f"{'latency ms':<16}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   | baseline{'n':>4}{'p50':>9}{'p95':>9}{'max':>9}")
    for kind in KINDS:
        v, b = stats.latency[kind], base.latency[kind]
        print(f"{kind:<16}{len(v):>6}{ms(percentile(v, 50))}{ms(percentile(v, 95))}{ms(percentile(v, 99))}"
              f"{ms(max(v, default=0))}   |         {len(b):>4}{ms(percentile(b, 50))}{ms(percentile(b, 95))}"
              f"{ms(max(b, default=0))}")
    print()
    errors = stats.errors + base.errors
    if errors:
        print("errors:   " + ", ".join(f"{kind} {status}: {count}" for (kind, status), count in sorted(errors.items())))
    else:
        print("errors:   none")
    print(f"client reconnects after idle keep-alive close: {stats.reconnects + base.reconnects}")
    locked = server_log.count("database is locked")
    deadlocks = server_log.count("Deadlock found")
    print(f"server log: {server_log.count('Traceback')} tracebacks, {locked} 'database is locked', "
          f"{deadlocks} deadlocks, {server_log.count('WORKER TIMEOUT')} worker timeouts")


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=100, help="phones syncing at once (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--database-url", default="", help="MySQL/MariaDB URL (default: SQLite in the temp instance)")
    parser.add_argument("--chunk-kib", type=int, default=256, help="tus PATCH size in KiB (default 256, as the phone)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    parser.add_argument("--seed", type=int, default=1, help="seed for photos and borrowers")
    args = parser.parse_args()
    if not 1 <= args.phones <= 1000:
        parser.error("--phones must be between 1 and 1000")
    if args.workers < 1 or args.threads < 1 or args.chunk_kib < 1:
        parser.error("--workers, --threads and --chunk-kib must be positive")
    return args


def main() -> int:
    args = parse_args()
    deadline = Deadline(args.timeout)
    signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="ddt-sync-load-"))
    server: Gunicorn | None = None
    drop_database: Callable[[], None] = lambda: None
    try:
        database_url = args.database_url or f"sqlite:///{tmp / 'daidaitong.sqlite3'}"
        database_url, drop_database = prepare_database(database_url)
        env = {
            **os.environ, "FLASK_APP": "app", "INSTANCE_DIR": str(tmp), "DATABASE_URL": database_url,
            "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "sync-load-bench",
        }
        os.environ.update({k: env[k] for k in ("INSTANCE_DIR", "DATABASE_URL", "PHOTO_DIR", "SECRET_KEY")})
        from sqlalchemy import make_url

        db_label = make_url(database_url).render_as_string(hide_password=True)
        if db_label.startswith("sqlite"):
            db_label = "SQLite (WAL) " + db_label

        print(f"instance: {tmp}")
        flask_cli("db", "upgrade", env=env, deadline=deadline)
        flask_cli("demo", "load", "--if-empty", env=env, deadline=deadline)

        from app import create_app

        app = create_app()
        started = time.perf_counter()
        phones = build_phones(app, args.phones + 1, args.seed)
        photo_bytes = [len(b) for p in phones for b in p.blobs.values()]
        print(f"prepared {len(phones)} phones, {len(photo_bytes)} photos of {min(photo_bytes) // 1024}-"
              f"{max(photo_bytes) // 1024} KB (mean {sum(photo_bytes) // len(photo_bytes) // 1024} KB) "
              f"in {time.perf_counter() - started:.1f} s")
        apps_before = count_applications(app)

        server = Gunicorn(args.workers, args.threads, env, tmp / "gunicorn.log")
        server.wait_ready(deadline)
        print(f"gunicorn on {HOST}:{server.port}")
        chunk = args.chunk_kib * 1024

        warm_up(server.port, phones[0].headers, args.workers)
        # Baseline: one phone alone, on the same server, same code path.
        base = Stats()
        solo = sync_phone(phones[0], server.port, chunk, deadline, base)
        start, results, stats, unfinished = run_concurrent(phones[1:], server.port, chunk, deadline)
        wall = max((r.done_at for r in results), default=start) - start
        synced = max((r.synced_at for r in results), default=start) - start
        per_phone = [r.done_at - r.started_at for r in results]
        server.stop()
        print_report(args, db_label, args.phones, wall, synced, stats, base, solo.done_at - solo.started_at,
                     per_phone, server.log.read_text(errors="replace"))

        problems = base.problems + stats.problems
        if unfinished:
            problems.insert(0, f"{unfinished} phones still running at the deadline")
        if not solo.ok:
            problems.append("baseline phone did not sync cleanly")
        problems.extend(f"phone {r.index}: not all checks passed" for r in results if not r.ok
                        and not any(p.startswith(f"phone {r.index}:") for p in problems))
        db_problems, lost, duplicated = verify(app, phones, apps_before)
        problems.extend(db_problems)
        print(f"database: {len(phones)} applications expected, checked state, photos, transitions and stored bytes")
        print(f"lost photos: {lost}, duplicated photos: {duplicated}")
        if problems:
            print(f"FAILED: {len(problems)} problems")
            for line in problems[:30]:
                print(f"  - {line}")
            if len(problems) > 30:
                print(f"  … and {len(problems) - 30} more")
            return 1
        print("all checks passed")
        return 0
    finally:
        if server is not None:
            server.stop()
        try:
            drop_database()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        print("interrupted; server stopped and temporary files removed", file=sys.stderr)
        sys.exit(130)
