"""How big and how fast is the officer's work plan, and how many GPS trail points can the server take?

Run from the repository root:

    .venv/bin/python bench/plan_and_trail.py [--tasks 200] [--baseline-tasks 20] [--installments 3]
                                             [--officers 500] [--points 12] [--clients 64]
                                             [--workers 2] [--threads 8] [--database-url URL] [--timeout 600]

On MariaDB, through the private test server (the URL is exported by that script, so a shell it starts
must expand it):

    bash scripts/mariadb-test-server.sh \\
        sh -c '.venv/bin/python bench/plan_and_trail.py --database-url "$TEST_DATABASE_URL"'

It builds a throw-away instance in a temporary folder (SQLite there by default; ``--database-url``
points at a MySQL/MariaDB server instead, whose database must not exist yet: it is created, and
dropped afterwards), migrates it, and bulk-inserts (executemany, no demo data) what
the two measurements need: one office and one product; two plan officers with one loan per task
(borrower, disbursed application, loan, ``--installments`` monthly installments, the overdue ones of
collection loans unpaid) and one open follow-up task per loan, all due within the plan's horizon
(overdue to 7 days ahead; kinds about 55 % revisit, 20 % pre-due, 25 % collection); and ``--officers``
trail officers with one enrolled phone each. Phones are made the way app/services/devices.py makes
them (a random token, only its SHA-256 stored), with the current client version and last seen an hour
ago, so each trail batch is the phone's first call of the hour and the server also updates the
phone's last_seen_at, as it would. The server is gunicorn (gthread) on a free port of 127.0.0.1, with
the daily job on first request switched off (DAILY_JOB_ON_FIRST_REQUEST=0, as in production with
cron): it would add its own tasks for these loans to the plans.

1. Work plan. GET /api/v1/plan for the officer with ``--tasks`` open tasks, 20 times on one keep-alive
   connection after a warm-up: median and p95 latency, the body's size raw and gzip-compressed (level
   1, nginx's default gzip_comp_level, and level 6) as a proxy in front of gunicorn would send it, and
   bytes per task. Baseline in the same run: the same for the officer with ``--baseline-tasks`` tasks,
   so the marginal cost of a task shows. Beside it, what the body would weigh without JSON's \\uXXXX
   escapes of Chinese text, and (in this process, through Flask's test client) how many SQL statements
   one plan request runs and the most repeated ones.

2. Trail ingestion. Every trail officer's phone sends one batch of ``--points`` points (an hour at
   5-minute sampling) by POST /api/v1/track, all at once through a pool of ``--clients`` client threads,
   a new connection per batch (a phone that sends once an hour keeps no connection open), retrying a
   failed batch like the phone (5 attempts). Printed: points/s, batches/s, latency percentiles (from
   the moment a client thread sends the batch: time waiting for a free thread is not in them, it is in
   the wall time) and CPU.
   Every answer must confirm exactly the batch's points. Then the database must hold each point once
   (points of that hour == officers x points, each UUID once, each phone's own), and after all batches
   are sent again, concurrently (answers lost in the field make phones resend), still exactly that.
   The resend comes within a minute of the send, so it does not update last_seen_at again.
   Baseline in the same run, before the concurrent send: the same number of batches of the same
   shape (each phone's previous hour, fresh UUIDs) sent one after another by one client, each batch on
   its phone's first call of the hour like the concurrent ones (last_seen_at is set back an hour
   between the two), so the server does the same work per batch in both. Last, one more batch is
   served in this process (Flask's test client), to list its SQL statements and time its commits.

Client and server share this machine's cores, and so does anything else running: the CPU lines
show how much went elsewhere. The figures are a floor for a dedicated server. Exit status 0 only when
every check passes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import json
import os
import random
import re
import secrets
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any, Callable

# Run as a plain script from the repo root: make app importable. Nothing from app is imported at
# module level: app.config reads INSTANCE_DIR when first imported, so the environment must point at
# the temporary instance before that happens.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

HOST = "127.0.0.1"  # the only address this script talks to
PLAN_REQUESTS = 20
MAX_ATTEMPTS = 5  # per trail batch, then the phone waits for its next round
REQUEST_TIMEOUT = 120.0
SAMPLE_MINUTES = 5

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "建国秀英明华芳强丽军伟敏静磊洋艳勇杰娟涛超霞平刚桂兰玉珍志红春梅德福金凤文海云龙"
VILLAGES = ("红星村", "石桥村", "柳树湾村", "新民村", "高家坝村", "白鹤村", "三河村", "龙泉村", "青杠坡村",
            "马家沟村", "杨柳村", "金竹村")


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
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def passed(self) -> bool:
        return self.left() <= 0


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
    server = create_engine(parsed.set(database=""))
    try:
        with server.connect() as conn:
            existed = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
                                   {"n": name}).first() is not None
            if existed:
                # This script bulk-inserts with known ids: it needs an empty database.
                raise SystemExit(f"database {name!r} exists; name one that does not (it is created and dropped)")
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    except OperationalError as exc:
        raise SystemExit(f"cannot prepare database {name!r}: {exc.orig}") from None
    finally:
        server.dispose()

    def drop() -> None:
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
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if self.proc.pid in (pid, ppid):
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn: SIGTERM is a graceful stop of all workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if not self._log_file.closed:
            self._log_file.close()


class Cpu:
    """CPU seconds since the last lap: the server, this process, and the whole machine."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.last = self._now()

    def _now(self) -> tuple[float, float, float]:
        own = os.times()
        with open("/proc/stat") as f:
            jiffies = [int(x) for x in f.readline().split()[1:]]
        busy = sum(jiffies) - jiffies[3] - jiffies[4]  # all but idle and iowait
        return self.server.cpu_seconds(), own.user + own.system, busy / os.sysconf("SC_CLK_TCK")

    def lap(self) -> tuple[float, float, float]:
        now = self._now()
        spent = (now[0] - self.last[0], now[1] - self.last[1], now[2] - self.last[2])
        self.last = now
        return spent


def describe_database(app: Any) -> str:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                version = conn.execute(text("SELECT sqlite_version()")).scalar()
                mode = conn.execute(text("PRAGMA journal_mode")).scalar()
                sync = conn.execute(text("PRAGMA synchronous")).scalar()
                label = f"SQLite {version} (journal_mode={mode}, synchronous={sync})"
            else:
                version = conn.execute(text("SELECT VERSION()")).scalar()
                flush = conn.execute(text("SELECT @@innodb_flush_log_at_trx_commit")).scalar()
                label = (f"MariaDB/MySQL {version} at {engine.url.host}:{engine.url.port} "
                         f"(innodb_flush_log_at_trx_commit={flush})")
        engine.dispose()
    return label


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection error)
    body: bytes
    seconds: float
    error: str = ""


def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
         body: bytes | None = None) -> Reply:
    """One request on ``conn`` (opened on first use), timed from sending to the last byte read."""
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return Reply(0, b"", time.perf_counter() - started, f"conn:{type(exc).__name__}")
    if response.will_close:
        conn.close()
    return Reply(response.status, data, time.perf_counter() - started)


def connection() -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, PORT[0], timeout=REQUEST_TIMEOUT)


PORT = [0]  # the server's port, set once it runs


# --- test data (bulk-inserted before the server starts) ------------------------------------------


@dataclass
class Phone:
    username: str
    user_id: int
    device_id: int
    headers: dict[str, str]


@dataclass
class Batch:
    phone: Phone
    uuids: list[str]
    body: bytes


@dataclass
class Data:
    planners: dict[int, Phone]  # tasks -> the plan officer's phone
    trail: list[Phone]
    previous: list[Batch]  # the baseline's batches: each phone's previous hour
    batches: list[Batch]  # the concurrent batches: each phone's last hour
    hour_start: datetime  # the last hour's first point
    seconds: float = 0.0


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, min(d.day, 28))


def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def make_batch(phone: Phone, start: datetime, n: int, walk: random.Random) -> Batch:
    """``n`` points from ``start``, one every 5 minutes, a walk of ~100 m steps, as the phone sends them."""
    lat, lon = 30.6 + walk.random() * 0.2, 104.0 + walk.random() * 0.2
    points = []
    for k in range(n):
        lat += walk.uniform(-0.001, 0.001)
        lon += walk.uniform(-0.001, 0.001)
        points.append({
            "uuid": str(uuid.uuid4()),
            "at": (start + timedelta(minutes=SAMPLE_MINUTES * k)).isoformat().replace("+00:00", "Z"),
            "lat": round(lat, 6), "lon": round(lon, 6),
            "accuracy_m": walk.choice((5, 8, 10, 12, 16, 20, 30, 45, 150)), "is_mock": False,
        })
    return Batch(phone, [p["uuid"] for p in points], json.dumps({"points": points}).encode())


def build(app: Any, args: argparse.Namespace) -> Data:
    """Every row the two measurements need, by executemany; ids are assigned here."""
    from sqlalchemy import insert, select

    from app.domain.idcard import check_digit
    from app.extensions import db
    from app.models import (
        Application, Borrower, Device, FollowUpTask, Installment, Loan, Office, Product, User, UserRole,
    )
    from app.services import jobs

    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = jobs.business_today(now)
    version = app.config["CLIENT_VERSION"]
    with app.app_context():
        if db.session.scalar(select(User.id).limit(1)) is not None:
            raise SystemExit("the database is not empty")
        db.session.execute(insert(Office), [
            {"id": 1, "code": "B01", "name": "基准网点", "is_hq": False, "address": "城关镇东街12号",
             "lat": 30.6712, "lon": 104.0821},
        ])
        db.session.execute(insert(Product), [{
            "id": 1, "code": "BENCH", "name": "农户小额信用贷款", "repayment_method": "equal_principal",
            "frequency": "monthly", "annual_rate": Decimal("0.0865"), "min_rate": Decimal("0.05"),
            "max_rate": Decimal("0.18"), "penalty_rate": Decimal("0.13"), "day_count": "act/360",
            "min_amount": Decimal("1000"), "max_amount": Decimal("200000"), "min_term_months": 1,
            "max_term_months": 36, "routing_rules": {}, "allocation_order": [], "is_active": True,
        }])

        # Users: the two plan officers, then the trail officers. Nobody logs in: no real password.
        sizes = sorted({args.baseline_tasks, args.tasks})
        usernames = [f"plan{n}" for n in sizes] + [f"trail{i:04d}" for i in range(1, args.officers + 1)]
        db.session.execute(insert(User), [
            {"id": i, "username": u, "full_name": chinese_name(rng), "password_hash": "!", "phone": "",
             "office_id": 1, "is_enabled": True, "failed_logins": 0, "session_epoch": 0, "created_at": now}
            for i, u in enumerate(usernames, start=1)
        ])
        db.session.execute(insert(UserRole), [
            {"id": i, "user_id": i, "role": "officer"} for i in range(1, len(usernames) + 1)
        ])
        tokens = [secrets.token_urlsafe(32) for _ in usernames]
        device_uuids = [str(uuid.uuid4()) for _ in usernames]
        db.session.execute(insert(Device), [
            {"id": i, "uuid": device_uuids[i - 1], "user_id": i, "label": "bench phone", "phone_number": "",
             "token_hash": hashlib.sha256(tokens[i - 1].encode()).hexdigest(), "status": "active",
             "client_version": version, "enrolled_at": now - timedelta(days=30),
             "last_seen_at": now - timedelta(hours=1)}
            for i in range(1, len(usernames) + 1)
        ])
        phones = [
            Phone(u, i, i, {"Authorization": f"Bearer {tokens[i - 1]}", "X-Device-Id": device_uuids[i - 1],
                            "X-Client-Version": version})
            for i, u in enumerate(usernames, start=1)
        ]

        # One borrower, disbursed application and loan per task; one open task per loan.
        borrowers, applications, loans, installments, tasks = [], [], [], [], []
        loan_id = inst_id = 0
        for officer, n in zip(phones, sizes):
            for _ in range(n):
                loan_id += 1
                kind = rng.choices(("revisit", "pre_due", "collection"), (55, 20, 25))[0]
                term = args.installments
                # Collection loans have their first installment overdue; the others are current.
                if kind == "collection":
                    disbursed = today - timedelta(days=rng.randint(33, 30 * term))
                else:
                    disbursed = today - timedelta(days=rng.randint(1, 28))
                dues = [add_months(disbursed, k) for k in range(1, term + 1)]
                principal = Decimal(rng.randrange(30, 1001) * 100) if kind != "pre_due" \
                    else Decimal(rng.randrange(150, 2001) * 100)
                part = (principal / term).quantize(Decimal("0.01"))
                parts = [part] * (term - 1) + [principal - part * (term - 1)]
                left, first_late = principal, None
                for seq, (due, p) in enumerate(zip(dues, parts), start=1):
                    inst_id += 1
                    interest = (left * Decimal("0.0865") / 12).quantize(Decimal("0.01"))
                    left -= p
                    late = kind == "collection" and due < today
                    paid = due < today and not late
                    if late and first_late is None:
                        first_late = due
                    installments.append({
                        "id": inst_id, "loan_id": loan_id, "seq": seq, "due_date": due, "principal_due": p,
                        "interest_due": interest, "principal_paid": p if paid else Decimal("0"),
                        "interest_paid": interest if paid else Decimal("0"),
                        "penalty_accrued": Decimal("0.00") if not late else (p * (today - due).days
                                                                              * Decimal("0.13") / 360).quantize(Decimal("0.01")),
                        "penalty_paid": Decimal("0"), "penalty_basis": 0, "paid_off_on": due if paid else None,
                    })
                dpd = (today - first_late).days if first_late else 0
                birth = date(1960, 1, 1) + timedelta(days=rng.randrange(12000))
                first17 = f"513401{birth:%Y%m%d}{loan_id % 1000:03d}"
                village = rng.choice(VILLAGES)
                home = rng.random() < 0.85  # most homes were located when the application was taken
                borrowers.append({
                    "id": loan_id, "uuid": str(uuid.uuid4()), "name": chinese_name(rng),
                    "id_number": first17 + check_digit(first17), "sex": rng.choice("MF"), "birth_date": birth,
                    "phone": f"139{rng.randrange(10**8):08d}", "village": village,
                    "address": f"{village}{rng.randint(1, 12)}组{rng.randint(1, 60)}号", "household_key": "",
                    "home_lat": round(30.6 + rng.random() * 0.2, 6) if home else None,
                    "home_lon": round(104.0 + rng.random() * 0.2, 6) if home else None,
                    "home_gps_accuracy_m": rng.randint(5, 30) if home else None, "related_party": False,
                    "sms_opt_out": False, "office_id": 1, "officer_id": officer.user_id, "created_at": now,
                })
                applications.append({
                    "id": loan_id, "uuid": str(uuid.uuid4()), "borrower_id": loan_id, "product_id": 1,
                    "officer_id": officer.user_id, "office_id": 1, "amount": principal, "term_months": term,
                    "purpose": "购买化肥", "state": "disbursed", "version": 1, "gps_note": "", "needs_l2": False,
                    "needs_special": False, "routing_reasons": [], "entry_data": {}, "manifest_sha256": "",
                    "created_at": now, "updated_at": now,
                })
                loans.append({
                    "id": loan_id, "application_id": loan_id, "borrower_id": loan_id, "product_id": 1,
                    "officer_id": officer.user_id, "office_id": 1, "principal": principal,
                    "annual_rate": Decimal("0.0865"), "repayment_method": "equal_principal", "frequency": "monthly",
                    "day_count": "act/360", "penalty_rate": Decimal("0.13"), "term_months": term,
                    "disbursed_on": disbursed, "maturity_date": dues[-1], "channel": "bank_transfer",
                    "reference": f"BT-{loan_id}", "disbursed_by_id": officer.user_id, "status": "active",
                    "days_past_due": dpd, "accrued_through": today, "closed_on": None,
                    "classification": "special_mention" if dpd else "normal", "version": 1, "created_at": now,
                })
                # Due within the plan's horizon: overdue ones first, up to 7 days ahead.
                due = today + timedelta(days=rng.randint(-5, 7)) if kind != "collection" \
                    else first_late + timedelta(days=1)
                tasks.append({
                    "id": loan_id, "uuid": str(uuid.uuid4()), "loan_id": loan_id, "officer_id": officer.user_id,
                    "kind": kind, "due_date": due, "installment_seq": 1 if kind != "revisit" else None,
                    "status": "open", "outcome": {}, "flags": [], "created_at": now,
                })
        for model, rows in ((Borrower, borrowers), (Application, applications), (Loan, loans),
                            (Installment, installments), (FollowUpTask, tasks)):
            db.session.execute(insert(model), rows)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    # Trail batches: each phone's previous hour (the baseline's) and last hour (the concurrent send's).
    hour_start = now.replace(second=0) - timedelta(minutes=SAMPLE_MINUTES * args.points)
    trail = phones[len(sizes):]

    previous = [make_batch(p, hour_start - timedelta(minutes=SAMPLE_MINUTES * args.points), args.points, rng)
                for p in trail]
    batches = [make_batch(p, hour_start, args.points, rng) for p in trail]
    return Data(planners={n: phones[i] for i, n in enumerate(sizes)}, trail=trail, previous=previous,
                batches=batches, hour_start=hour_start, seconds=time.perf_counter() - started)


# --- 1. the work plan ----------------------------------------------------------------------------


@dataclass
class Plan:
    tasks: int
    latency: list[float]
    raw: int
    gzip1: int
    gzip6: int
    utf8: int  # the same JSON without \uXXXX escapes
    utf8_gzip6: int
    here: InProcess | None = None  # the same request served in this process, its SQL counted


def measure_plan(phone: Phone, tasks: int) -> tuple[Plan, list[str]]:
    problems: list[str] = []
    conn = connection()
    headers = {**phone.headers, "Accept-Encoding": "identity"}
    try:
        for _ in range(2):  # untimed: this connection's worker thread warms its session and caches
            call(conn, "GET", "/api/v1/plan", headers)
        latency, body = [], b""
        for _ in range(PLAN_REQUESTS):
            reply = call(conn, "GET", "/api/v1/plan", headers)
            if reply.status != 200:
                problems.append(f"plan of {phone.username}: {reply.status or reply.error} {reply.body[:200]!r}")
                continue
            latency.append(reply.seconds)
            body = reply.body
    finally:
        conn.close()
    parsed = json.loads(body) if body else {"tasks": []}
    if len(parsed["tasks"]) != tasks:
        problems.append(f"plan of {phone.username}: {len(parsed['tasks'])} tasks, expected {tasks}")
    utf8 = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    plan = Plan(tasks, latency, len(body), len(gzip.compress(body, 1)), len(gzip.compress(body, 6)),
                len(utf8), len(gzip.compress(utf8, 6)))
    return plan, problems


@dataclass
class InProcess:
    """One request served in this process (Flask's test client), its SQL counted and timed."""

    seconds: float  # the whole request, median of a few
    statements: int
    sql_seconds: float  # inside the driver's execute (median)
    commits: int
    commit_seconds: float  # in Session.commit (median): its flush and the database's COMMIT (SQLite: the fsync)
    top: list[tuple[str, int]]


def in_process(app: Any, method: str, path: str, headers: dict[str, str],
               body: Callable[[], bytes] | None = None, repeat: int = 5,
               before_each: Callable[[], None] | None = None) -> InProcess:
    """Serve ``repeat`` requests in this process after a warm-up (``body()`` makes each one's body,
    ``before_each`` runs outside the counting); medians of the times, statements of the last one."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app.extensions import db

    seen: Counter[str] = Counter()
    spent = [0.0]
    starts: dict[int, float] = {}
    commits: list[float] = []  # seconds of each commit of the counted request
    commit_started = [0.0]

    def before_commit(_session):  # noqa: ANN001
        commit_started[0] = time.perf_counter()

    def after_commit(_session):  # noqa: ANN001
        commits.append(time.perf_counter() - commit_started[0])


    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        spent[0] += time.perf_counter() - starts.pop(id(cursor), time.perf_counter())
        seen[" ".join(statement.split())] += 1

    walls: list[float] = []
    sql_times: list[float] = []
    commit_times: list[float] = []
    with app.app_context():
        engine = db.engine
        client = app.test_client()
        for i in range(repeat + 1):  # the first is a warm-up: imports, the compiled-SQL cache
            if before_each is not None:
                before_each()
            seen.clear()
            commits.clear()
            spent[0] = 0.0
            listeners = ((engine, "before_cursor_execute", before), (engine, "after_cursor_execute", after),
                         (Session, "before_commit", before_commit), (Session, "after_commit", after_commit))
            for target, name, fn in listeners:
                event.listen(target, name, fn)
            started = time.perf_counter()
            try:
                reply = client.open(path, method=method, headers=headers, data=body() if body else None,
                                    content_type="application/json" if body else None)
            finally:
                for target, name, fn in listeners:
                    event.remove(target, name, fn)
            if i:
                walls.append(time.perf_counter() - started)
                sql_times.append(spent[0])
                commit_times.append(sum(commits))
            if reply.status_code != 200:
                raise SystemExit(f"{method} {path} in this process: {reply.status_code} {reply.data[:300]!r}")
        db.session.remove()
        engine.dispose()
    return InProcess(percentile(walls, 50), sum(seen.values()), percentile(sql_times, 50), len(commits),
                     percentile(commit_times, 50), seen.most_common(6))


def shorten(sql: str) -> str:
    """SELECT a, b, c FROM t WHERE ... -> SELECT … FROM t WHERE ..."""
    return re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", sql)[:110]


def print_plans(plans: list[Plan]) -> None:
    small, big = plans[0], plans[-1]
    print()
    print(f"work plan: GET /api/v1/plan, {PLAN_REQUESTS} requests each on one keep-alive connection, after 2 untimed")
    print(f"{'tasks':>6}{'median':>11}{'p95':>11}{'raw bytes':>11}{'gzip -1':>9}{'gzip -6':>9}"
          f"{'raw/task':>10}{'gz-1/task':>11}{'gz-6/task':>11}")
    for p in plans:
        n = max(p.tasks, 1)
        print(f"{p.tasks:>6}{ms(percentile(p.latency, 50)):>11}{ms(percentile(p.latency, 95)):>11}{p.raw:>11,}"
              f"{p.gzip1:>9,}{p.gzip6:>9,}{p.raw / n:>10.0f}{p.gzip1 / n:>11.0f}{p.gzip6 / n:>11.0f}")
    if big.tasks != small.tasks:
        d = big.tasks - small.tasks
        step = (percentile(big.latency, 50) - percentile(small.latency, 50)) / d
        print(f"marginal task: {(big.raw - small.raw) / d:.0f} B raw, {(big.gzip1 - small.gzip1) / d:.0f} B gzip -1, "
              f"{(big.gzip6 - small.gzip6) / d:.0f} B gzip -6, {step * 1000:.2f} ms of median latency")
    print(f"without \\uXXXX escapes (UTF-8 JSON): {big.tasks} tasks {big.utf8:,} B raw, {big.utf8_gzip6:,} B gzip -6 "
          f"({big.utf8 / big.raw * 100:.0f} % / {big.utf8_gzip6 / big.gzip6 * 100:.0f} % of the body as sent)")
    print("the same request in this process (Flask test client, median of 5): SQL statements, time in the driver")
    for p in plans:
        if p.here is not None:
            h = p.here
            print(f"{p.tasks:>6} tasks: {h.seconds * 1000:6.1f} ms, {h.statements:>4} statements, "
                  f"{h.sql_seconds * 1000:5.1f} ms in SQL ({h.sql_seconds / max(h.seconds, 1e-9) * 100:.0f} %), "
                  f"{h.commits} commits {h.commit_seconds * 1000:.1f} ms")
    if big.here is not None:
        print(f"most repeated SQL in one plan of {big.tasks} tasks:")
        for sql, n in big.here.top[:3]:
            print(f"  {n:>4} x {shorten(sql)}")


# --- 2. trail ingestion --------------------------------------------------------------------------


@dataclass
class Sent:
    """What sending a set of batches saw."""

    wall: float = 0.0
    latency: list[float] = field(default_factory=list)  # per answered attempt
    attempts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    failed: int = 0  # batches not confirmed after MAX_ATTEMPTS
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_batch(batch: Batch, sent: Sent, deadline: Deadline) -> None:
    """POST one batch on a new connection, retrying like the phone; check the answer confirms it."""
    headers = {**batch.phone.headers, "Content-Type": "application/json"}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        conn = connection()
        try:
            reply = call(conn, "POST", "/api/v1/track", headers, batch.body)
        finally:
            conn.close()
        with sent.lock:
            sent.attempts += 1
            if reply.status:
                sent.latency.append(reply.seconds)
            if reply.status != 200:
                sent.errors[reply.error or str(reply.status)] += 1
        if reply.status == 200:
            answer = json.loads(reply.body)
            if sorted(answer.get("confirmed", [])) != sorted(batch.uuids) or answer.get("rejected"):
                with sent.lock:
                    sent.problems.append(f"{batch.phone.username}: answer confirms {len(answer.get('confirmed', []))} "
                                         f"of {len(batch.uuids)}, rejects {answer.get('rejected')}")
            return
        if reply.status in (400, 401, 403, 413, 422, 426) or deadline.passed():
            break
        time.sleep(min(2.0, 0.1 * 2 ** attempt) * random.uniform(0.5, 1.5))
    with sent.lock:
        sent.failed += 1
        sent.problems.append(f"{batch.phone.username}: batch not confirmed ({dict(sent.errors)})")


def send_all(batches: list[Batch], clients: int, cpu: Cpu, deadline: Deadline) -> Sent:
    sent = Sent()
    cpu.lap()
    started = time.perf_counter()
    if clients <= 1:
        for b in batches:
            send_batch(b, sent, deadline)
    else:
        with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="phone") as pool:
            for future in [pool.submit(send_batch, b, sent, deadline) for b in batches]:
                future.result()
    sent.wall = time.perf_counter() - started
    sent.cpu = cpu.lap()
    return sent


def set_last_seen_back(app: Any, when: datetime) -> None:
    """Make the next batch of every phone its first call of the hour again (between phases, server idle)."""
    from sqlalchemy import update

    from app.extensions import db
    from app.models import Device

    with app.app_context():
        db.session.execute(update(Device).values(last_seen_at=when))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def verify_trail(app: Any, data: Data) -> tuple[list[str], int, int, int]:
    """Points of the last hour from the trail phones: problems, rows, lost, duplicated."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import TrackPoint

    problems: list[str] = []
    expected = {u: b.phone for b in data.batches for u in b.uuids}
    device_ids = [p.device_id for p in data.trail]
    with app.app_context():
        rows = db.session.execute(
            select(TrackPoint.uuid, TrackPoint.device_id, TrackPoint.user_id)
            .where(TrackPoint.at >= data.hour_start, TrackPoint.device_id.in_(device_ids))
        ).all()
        db.session.remove()
        db.engine.dispose()
    per_uuid = Counter(r.uuid for r in rows)
    duplicated = sum(n - 1 for n in per_uuid.values()) + sum(1 for u in per_uuid if u not in expected)
    lost = sum(1 for u in expected if u not in per_uuid)
    for r in rows:
        phone = expected.get(r.uuid)
        if phone is not None and (r.device_id, r.user_id) != (phone.device_id, phone.user_id):
            problems.append(f"point {r.uuid}: stored for device {r.device_id}, sent by {phone.device_id}")
    if len(rows) != len(expected):
        problems.append(f"{len(rows)} points of the hour stored, expected {len(expected)}")
    if lost:
        problems.append(f"{lost} points lost")
    if duplicated:
        problems.append(f"{duplicated} points duplicated or unexpected")
    return problems, len(rows), lost, duplicated


def print_sent(label: str, sent: Sent, batches: int, points: int, base: Sent | None = None) -> None:
    wall = max(sent.wall, 1e-9)
    server_s, client_s, machine_s = sent.cpu
    cores = os.cpu_count() or 1
    line = (f"{label:<34}{points / wall:>9,.0f} points/s{batches / wall:>9.1f} batches/s  "
            f"p50 {ms(percentile(sent.latency, 50)):>9}  p95 {ms(percentile(sent.latency, 95)):>9}  "
            f"max {ms(max(sent.latency, default=0)):>9}  wall {sent.wall:6.2f} s")
    print(line)
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(sent.errors.items())) or "none"
    other = max(0.0, machine_s - server_s - client_s)
    print(f"{'':<34}CPU: server {server_s:.1f} s = {server_s * 1000 / max(batches, 1):.1f} ms/batch, this client "
          f"{client_s:.1f} s, other processes {other:.1f} s; machine {machine_s / (wall * cores) * 100:.0f} % busy "
          f"on {cores} cores")
    print(f"{'':<34}{sent.attempts} requests, errors: {errors}")
    if base is not None and base.wall:
        print(f"{'':<34}{base.wall / wall:.2f}x the sequential rate")


def failures_in_log(log: str) -> Counter[str]:
    found: Counter[str] = Counter()
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            j = i + 1
            while j < len(lines) and lines[j].startswith(" "):
                j += 1
            if j < len(lines):
                found[lines[j].strip()[:160]] += 1
    return found


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200, help="open tasks of the measured officer (default 200)")
    parser.add_argument("--baseline-tasks", type=int, default=20, help="open tasks of the baseline officer (default 20)")
    parser.add_argument("--installments", type=int, default=3, help="installments per loan (default 3)")
    parser.add_argument("--officers", type=int, default=500, help="phones sending a trail batch at once (default 500)")
    parser.add_argument("--points", type=int, default=12, help="points per batch (default 12: an hour at 5 minutes)")
    parser.add_argument("--clients", type=int, default=64, help="client threads sending batches (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    parser.add_argument("--database-url", default="", help="MySQL/MariaDB URL (default: SQLite in the temp instance)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds (default 600)")
    parser.add_argument("--seed", type=int, default=1, help="seed for names, loans and walks")
    args = parser.parse_args()
    if not 1 <= args.baseline_tasks <= args.tasks <= 5000:
        parser.error("need 1 <= --baseline-tasks <= --tasks <= 5000")
    if not 1 <= args.points <= 500 or not 1 <= args.officers <= 5000 or not 1 <= args.installments <= 60:
        parser.error("--points 1-500 (the server's MAX_BATCH), --officers 1-5000, --installments 1-60")
    if args.workers < 1 or args.threads < 1 or args.clients < 1 or args.timeout <= 0:
        parser.error("--workers, --threads, --clients and --timeout must be positive")
    return args


def bench(args: argparse.Namespace, tmp: Path, deadline: Deadline, on_exit: list[Callable[[], None]]) -> int:
    run_started = time.perf_counter()
    database_url = args.database_url or f"sqlite:///{tmp / 'daidaitong.sqlite3'}"
    on_exit.append(prepare_database(database_url))
    env = {
        **os.environ, "FLASK_APP": "app", "INSTANCE_DIR": str(tmp), "DATABASE_URL": database_url,
        "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "plan-and-trail-bench", "DAILY_JOB_ON_FIRST_REQUEST": "0",
    }
    os.environ.update({k: env[k] for k in ("INSTANCE_DIR", "DATABASE_URL", "PHOTO_DIR", "SECRET_KEY",
                                           "DAILY_JOB_ON_FIRST_REQUEST")})
    print(f"instance: {tmp}")
    flask_cli("db", "upgrade", env=env, deadline=deadline)

    from app import create_app

    app = create_app()
    print(f"database: {describe_database(app)}")
    data = build(app, args)
    n_inst = (args.tasks + args.baseline_tasks) * args.installments
    print(f"inserted {args.tasks + args.baseline_tasks} loans with {n_inst} installments and as many open tasks, "
          f"{len(data.trail) + len(data.planners)} officers with a phone each, in {data.seconds:.1f} s")

    plans = [Plan(n, [], 0, 0, 0, 0, 0) for n in sorted(data.planners)]
    server = Gunicorn(args.workers, args.threads, env, tmp / "gunicorn.log")
    on_exit.append(server.stop)
    server.wait_ready(deadline)
    PORT[0] = server.port
    print(f"gunicorn on {HOST}:{server.port}, {args.workers} workers x {args.threads} threads (gthread)")
    for _ in range(4 * args.workers):  # every worker imports and connects before anything is timed
        conn = connection()
        call(conn, "GET", "/api/v1/device", data.trail[0].headers)
        conn.close()
    problems: list[str] = []

    # 1. the plan: baseline (fewer tasks) first
    for i, n in enumerate(sorted(data.planners)):
        plans[i], found = measure_plan(data.planners[n], n)
        problems.extend(found)
    for p in plans:
        p.here = in_process(app, "GET", "/api/v1/plan", data.planners[p.tasks].headers)
    print_plans(plans)

    # 2. the trail: the sequential baseline, then everyone at once, then everyone again
    points = args.officers * args.points
    cpu = Cpu(server)
    load_before = Path("/proc/loadavg").read_text().split()[0]
    base = send_all(data.previous, 1, cpu, deadline)
    set_last_seen_back(app, datetime.now(timezone.utc) - timedelta(hours=1))
    load = send_all(data.batches, args.clients, cpu, deadline)
    checked, stored, lost, duplicated = verify_trail(app, data)
    again = send_all(data.batches, args.clients, cpu, deadline)
    rechecked, stored_again, lost_again, duplicated_again = verify_trail(app, data)
    server.stop()
    print()
    print(f"trail: {args.officers} phones x {args.points} points, POST /api/v1/track, a new connection per batch; "
          f"load average before: {load_before}")
    print_sent("one client, batches one by one", base, args.officers, points)
    print_sent(f"all at once ({args.clients} client threads)", load, args.officers, points, base)
    print_sent("all resent at once (all known)", again, args.officers, points, base)
    print(f"stored points of the hour: {stored} after the send (lost {lost}, duplicated {duplicated}), "
          f"{stored_again} after the resend (lost {lost_again}, duplicated {duplicated_again}); expected {points}")
    log = server.log.read_text(errors="replace")
    print(f"server log: {log.count('Exception on /')} unhandled exceptions, {log.count('database is locked')} "
          f"'database is locked', {log.count('Deadlock found')} deadlocks, {log.count('WORKER TIMEOUT')} worker timeouts")
    for what, count in failures_in_log(log).most_common(5):
        print(f"  {count} x {what}")

    # One batch in this process, to see its SQL: the last phone's earlier hours (outside the checked hour),
    # each its first call of the hour.
    probe_phone = data.trail[-1]
    probe_start = [data.hour_start - timedelta(hours=3)]

    def probe_body() -> bytes:
        probe_start[0] -= timedelta(hours=1)
        return make_batch(probe_phone, probe_start[0], args.points, random.Random(len(probe_start))).body

    def first_call_of_the_hour() -> None:
        from sqlalchemy import update

        from app.extensions import db
        from app.models import Device

        db.session.execute(update(Device).where(Device.id == probe_phone.device_id)
                           .values(last_seen_at=datetime.now(timezone.utc) - timedelta(hours=1)))
        db.session.commit()

    here = in_process(app, "POST", "/api/v1/track", {**probe_phone.headers}, probe_body,
                      before_each=first_call_of_the_hour)
    print(f"one batch in this process (Flask test client, median of 5): {here.seconds * 1000:.1f} ms, "
          f"{here.statements} statements {here.sql_seconds * 1000:.1f} ms, "
          f"{here.commits} commits {here.commit_seconds * 1000:.1f} ms (flush and COMMIT):")
    for sql, n in here.top:
        print(f"  {n:>4} x {shorten(sql)}")

    problems += base.problems + load.problems + again.problems + checked + rechecked
    print(f"run time: {time.perf_counter() - run_started:.1f} s")
    if problems:
        print(f"FAILED: {len(problems)} problems")
        for line in problems[:30]:
            print(f"  - {line}")
        return 1
    print("all checks passed")
    return 0


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="ddt-plan-trail-"))
    on_exit: list[Callable[[], None]] = []
    try:
        return bench(args, tmp, Deadline(args.timeout), on_exit)
    finally:
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
