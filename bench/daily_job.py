"""How long does the whole daily job take on a big loan book in the books, and what do the books cost?

Run from the repository root:

    .venv/bin/python bench/daily_job.py [--sizes 100000,1000000] [--day 2026-07-01] [--seed 1]
                                        [--database-url URL] [--explain] [--light] [--baseline-size 0]

On MariaDB, through the private test server. The URL is exported by that script, so it must be
expanded by a shell the script starts, not by the one you type into:

    MARIADB_BUFFER_POOL=4G bash scripts/mariadb-test-server.sh \\
        sh -c '.venv/bin/python bench/daily_job.py --database-url "$TEST_DATABASE_URL"'

For every size N it creates a fresh database (a SQLite file in a temporary folder by default; with
``--database-url`` a MySQL/MariaDB database named ``<its database>_bench_daily_<case>``, dropped and
created, and dropped again afterwards), migrates it with the app's Alembic migrations and fills it
with N active loans of 12 monthly installments (one office with an officer and a director, one
product; one borrower and one disbursed application per loan) by executemany in chunks of 10,000
loans. The book is as the job left it the evening before ``--day``: accrued through the day before,
penalty basis, days past due and class as of then, and the post-loan tasks that day's run made
(by calling app.services.tasks.generate for it). Mix: 85 % current (10 % of them paid one past
installment late, so they carry a settled penalty basis; 20 % have partly prepaid the next
installment), 10 % 1-31 days late on the latest installment (half of those partly paid), 5 % long
overdue (31 days to ~2 years, so all five classes appear; 30 % partly paid).

The loans are in the books (migration 0024): ``in_books`` set, each installment's ``accrues_from``
(the previous due date, the first the disbursement) and its interest recognised as yesterday's run
of ``ledger_loans.accrue_interest`` left it (pro rata, never below what was paid). Their opening
balances (principal, interest and penalty receivable against the opening balance account, one entry
per product: what ``ledger_loans.open_books`` posts for loans taken over) are summed by one grouped
SELECT and posted on the day before yesterday, and the app's day-end close closes the books through
it. So the reconciliation the job ends with compares real balances, and must find no difference.
Generation time is printed, not counted. On MariaDB the load ends with ANALYZE TABLE, as InnoDB's
background statistics would have for a book that grew over time.

Then it runs ``app.services.jobs.run_daily`` (no SMS; tasks with their default settings), each run in
a freshly spawned Python process that opens the app and calls the job, as ``flask jobs daily`` from
cron does:

1. for ``--day`` (default 2026-07-01, a month's first day): the month's first run, the heaviest —
   interest and penalty accrual entries, June's provisioning (one grouped SELECT over all loans, one
   entry), the month's loan snapshots, the day-end close of yesterday, the reconciliation;
2. for the same day again: idempotent (the checksum, interest recognised and the journal must not
   change); ``--light`` skips this run and the last checksum, for the largest books;
3. three ordinary days in turn: with the books, WITHOUT them (the baseline, measured in the same run:
   the ledger's parts replaced by no-ops — ``open_books``, the penalty entries,
   ``accrue_interest``, ``ledger_close.daily`` — i.e. the job as it was before the books; the
   penalty's change per product still comes out of the job's own penalty pass), and with
   them again. The run after the one without the books finds the penalty that day accrued and did
   not post: its reconciliation must show that difference (a check that the check can fail).

Each run prints wall seconds, that process's CPU seconds (on MariaDB much of the work is the
server's), how busy the whole machine was meanwhile (other jobs share its cores), the process's RSS
before the call and its peak during it, each distinct SQL statement with its seconds, rows and times
sent (SQLAlchemy cursor-execute events), tagged with the part of the job that sent it, and the time
per part: the books' parts (open_books, penalty entries, interest accrual,
provisioning, day-end close, reconciliation), tasks.generate, snapshots.write — each wrapped for the
run only to time it, the app's code unchanged — and the rest of run_daily (its penalty pass and
UPDATE, the late loans' pass and the loans' UPDATE, the job's record, the commit). ``--explain`` adds the query plan of each
UPDATE of the largest size's first run; ``--keep`` keeps the databases.

``--baseline-size N`` (default 0, off) also runs the per-loan ORM loop of the earlier measurement
(penalty, days past due and class one loan at a time) on a fresh copy of N loans, and compares its
checksum and time with the job's own statements.

Goal: the whole daily job on 1,000,000 loans in under 120 s (the month's first run). Exit status 0
when every check passes and every measured goal is met.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

# Run as a plain script from the repo root: make app importable. Nothing from app is imported at
# module level: app.config reads INSTANCE_DIR when first imported, so the environment must point
# at the temporary folder before that happens (else a secret key lands in the repo's instance/).
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_DAY = date(2026, 7, 1)  # a month's first day: its run provisions the month before
GOAL_SIZE = 1_000_000
GOAL_SECONDS = 120.0
GOAL_SPEEDUP = 20.0
CHUNK_LOANS = 10_000
TERM = 12
CREATED = "2026-01-01 00:00:00.000000"
# (annual rate, penalty rate) in millionths: the penalty rate is 1.5x the loan rate.
RATES = ((72_000, 108_000), (86_500, 129_750), (96_000, 144_000), (120_000, 180_000))
CLASS_ORDER = ("normal", "special_mention", "substandard", "doubtful", "loss")


# --- plumbing ------------------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGTERM, turned into an exception so the cleanup in main() runs."""


def _on_sigterm(_signum, _frame) -> None:
    raise Interrupted()


def peak_rss_reset() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_mb(key: str) -> float | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return None


def rss_mb() -> float:
    return _status_mb("VmRSS:") or 0.0


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy since boot (not idle, not waiting for I/O)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def server_pid(engine) -> int | None:
    """The MariaDB/MySQL server's process on this machine (the private test server), found by the
    port in its command line; None for SQLite or a server elsewhere."""
    if engine.dialect.name != "mysql" or engine.url.host not in ("127.0.0.1", "localhost"):
        return None
    wanted = f"--port={engine.url.port or 3306}"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith((b"mariadbd", b"mysqld")) and wanted.encode() in args:
            return int(proc.name)
    return None


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process (0 when there is none)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """The kernel's RSS high-water mark for this process image (VmHWM). ru_maxrss reports the same
    figure, but also keeps the image before exec: a spawned child would inherit its parent's peak."""
    hwm = _status_mb("VmHWM:")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_months(d: date, months: int) -> date:
    """Day of month is at most 28 throughout, so no clamping is needed."""
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, d.day)


def first_line(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= 64 else flat[:61] + "..."


@dataclass
class Measured:
    label: str
    seconds: float
    cpu: float
    traced_peak_mb: float | None
    rss_before_mb: float
    rss_peak_mb: float
    machine_busy_pct: float
    statements: list[tuple[str, float, int]] = field(default_factory=list)
    captured: list[tuple[str, Any]] = field(default_factory=list)
    result: Any = None
    tasks_seconds: float = 0.0  # in app.services.tasks.generate, called by run_daily (Python and SQL)


class StatementTimer:
    """Times every statement sent through the engine while ``recording``."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.recording = False
        self.tag = ""
        self.rows: list[tuple[str, float, int]] = []
        self.captured: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, _context, _executemany) -> None:
        spent = time.perf_counter() - conn.info["bench_t0"].pop()
        if self.recording:
            self.rows.append((self.tag + first_line(statement), spent, cursor.rowcount))
            self.captured.append((statement, parameters))

    def start(self) -> None:
        self.rows, self.captured, self.recording = [], [], True

    def stop(self) -> tuple[list[tuple[str, float, int]], list[tuple[str, Any]]]:
        self.recording = False
        return self.rows, self.captured


def measure(label: str, fn: Callable[[], Any], timer: StatementTimer, *, trace: bool = True) -> Measured:
    import gc

    gc.collect()
    peak_rss_reset()
    before = rss_mb()
    if trace:
        tracemalloc.start()
    timer.start()
    server = getattr(timer, "server_pid", None)
    busy0, cpu0, t0, srv0 = machine_busy_seconds(), time.process_time(), time.perf_counter(), process_cpu(server)
    result = fn()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if isinstance(result, dict) and server is not None:
        result["_server_cpu"] = process_cpu(server) - srv0
    busy = (machine_busy_seconds() - busy0) / (seconds * (os.cpu_count() or 1)) * 100
    rows, captured = timer.stop()
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    tasks_seconds = result.pop("_tasks_seconds", 0.0) if isinstance(result, dict) else 0.0
    return Measured(label, seconds, cpu, traced, before, peak_rss_mb(), busy, rows, captured, result, tasks_seconds)


def _measure_child(pipe, label: str, kind: str, url: str, tmp: str, day: date, trace: bool, capture: bool) -> None:
    """In a fresh interpreter, like ``flask jobs daily`` from cron: open the app, run, report."""
    try:
        from app import create_app
        from app.config import TestConfig
        from app.extensions import db

        app = create_app(TestConfig(url, Path(tmp) / "photos"))
        with app.app_context():
            timer = StatementTimer(db.engine)
            timer.server_pid = server_pid(db.engine)
        if kind == "naive":
            run = naive(app, day, timer)
        else:
            run = job(app, day, timer, books=kind == "job")
        measured = measure(label, run, timer, trace=trace)
        if not capture:
            measured.captured = []
        with app.app_context():
            db.engine.dispose()
        pipe.send(measured)
    except BaseException as exc:  # noqa: BLE001 — reported by the parent
        import traceback

        pipe.send(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        pipe.close()


def measure_in_child(label: str, kind: str, url: str, tmp: Path, day: date, *, trace: bool = False,
                     capture: bool = False) -> Measured:
    """Run ``kind`` ("job", "nobooks": the job without its ledger steps, or "naive") for ``day`` in a spawned process, so its RSS is its own and
    not this process's, which holds the generator's leftovers."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_measure_child, args=(there, label, kind, url, str(tmp), day, trace, capture),
                        daemon=True)
    child.start()
    there.close()
    try:
        answer = here.recv()
    except EOFError:
        answer = f"the measuring process died (exit code {child.join() or child.exitcode})"
    child.join()
    if isinstance(answer, str):
        raise SystemExit(f"{label}: {answer}")
    return answer


# --- databases -----------------------------------------------------------------------------------


class Databases:
    """A fresh database per case: a SQLite file in ``tmp``, or one on the given MySQL/MariaDB server."""

    def __init__(self, base_url: str | None, tmp: Path, *, keep: bool = False) -> None:
        from sqlalchemy import make_url

        self.tmp, self.keep = tmp, keep
        self.base = make_url(base_url) if base_url else None
        self.created: list[str] = []
        if self.base is not None:
            if not self.base.get_backend_name().startswith(("mysql", "mariadb")):
                raise SystemExit("--database-url: a mysql+pymysql:// URL (SQLite is the default)")
            if not re.fullmatch(r"[A-Za-z0-9_]*", self.base.database or ""):
                raise SystemExit("database name: letters, digits and _ only")

    def fresh(self, case: str) -> str:
        from sqlalchemy import create_engine, text

        if self.base is None:
            path = self.tmp / f"{case}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return f"sqlite:///{path}"
        name = f"{self.base.database or 'ddt'}_bench_daily_{case}"[:64]
        server = create_engine(self.base.set(database=""))
        try:
            with server.begin() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        finally:
            server.dispose()
        self.created.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy import create_engine, make_url, text

        if self.keep:
            return
        parsed = make_url(url)
        if self.base is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
            return
        server = create_engine(self.base.set(database=""))
        try:
            with server.begin() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        finally:
            server.dispose()
        if parsed.database in self.created:
            self.created.remove(parsed.database)

    def drop_all(self) -> None:
        if self.base is None:
            return
        for name in list(self.created):
            self.drop(self.base.set(database=name).render_as_string(hide_password=False))


def make_app(url: str, tmp: Path):
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestConfig
    from app.extensions import db

    app = create_app(TestConfig(url, tmp / "photos"))
    logging.disable(logging.INFO)  # migrations/env.py reconfigures alembic's logger to INFO on every upgrade
    try:
        with app.app_context():
            upgrade()
            db.engine.dispose()
    finally:
        logging.disable(logging.NOTSET)
    return app


def describe_database(engine) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = conn.execute(text("SELECT sqlite_version()")).scalar()
            mode = conn.execute(text("PRAGMA journal_mode")).scalar()
            sync = conn.execute(text("PRAGMA synchronous")).scalar()
            return f"SQLite {version} (journal_mode={mode}, synchronous={sync}), file in {engine.url.database}"
        version = conn.execute(text("SELECT VERSION()")).scalar()
        pool = conn.execute(text("SELECT @@innodb_buffer_pool_size")).scalar()
        flush = conn.execute(text("SELECT @@innodb_flush_log_at_trx_commit")).scalar()
        return (f"MariaDB/MySQL {version} at {engine.url.host}:{engine.url.port} (innodb_buffer_pool_size="
                f"{int(pool) // 2**20} MB, innodb_flush_log_at_trx_commit={flush})")


# --- the book ------------------------------------------------------------------------------------


@dataclass
class Book:
    loans: int = 0
    installments: int = 0
    profiles: dict[str, int] = field(default_factory=lambda: {"current": 0, "late": 0, "long": 0})
    partly_paid: int = 0
    seconds: float = 0.0
    tasks: int = 0
    tasks_seconds: float = 0.0
    opening: dict[int, dict[str, int]] = field(default_factory=dict)


def _disbursed(rng: random.Random, day: date, lo: int, hi: int) -> date:
    d = day - timedelta(days=rng.randint(lo, hi))
    return d.replace(day=min(d.day, 28))


def _loan_rows(i: int, rng: random.Random, day: date, iso: Callable[[date], str], book: Book,
               classify: Callable[[int], str]):
    """One loan and its 12 installments, as of the evening before ``day``."""
    yesterday = day - timedelta(days=1)
    r = rng.random()
    profile = "current" if r < 0.85 else "late" if r < 0.95 else "long"
    if profile == "current":
        disbursed = _disbursed(rng, day, 1, 365)
    elif profile == "late":
        disbursed = _disbursed(rng, day, 32, 365)
    else:
        disbursed = _disbursed(rng, day, 100, 760)
    book.profiles[profile] += 1
    annual, penalty = RATES[rng.randrange(len(RATES))]
    principal = rng.randrange(1_000, 50_001, 100) * 100  # 1,000-50,000 yuan, in fen
    dues = [add_months(disbursed, k) for k in range(1, TERM + 1)]
    due_count = sum(1 for d in dues if d < day)  # installments due before today
    base = principal // TERM
    parts = [base] * (TERM - 1) + [principal - base * (TERM - 1)]
    interest, left = [], principal
    for p in parts:
        interest.append((left * annual + 6_000_000) // 12_000_000)  # a month's interest, half-up
        left -= p

    # principal_paid, interest_paid, paid_off_on and days paid late, per installment
    paid = [[0, 0, None, 0] for _ in range(TERM)]
    first_unpaid = due_count  # index of the first installment not settled
    partly = False
    if profile == "current":
        for k in range(due_count):
            paid[k] = [parts[k], interest[k], dues[k], 0]
        if due_count and rng.random() < 0.10:
            k = rng.randrange(due_count)
            late_by = rng.randint(1, 20)
            if dues[k] + timedelta(days=late_by) <= yesterday - timedelta(days=1):
                paid[k][2], paid[k][3] = dues[k] + timedelta(days=late_by), late_by
        if due_count < TERM and rng.random() < 0.20:
            k = due_count
            paid[k][0], paid[k][1] = parts[k] // 2, interest[k]
            partly = True
    else:
        if profile == "late":
            first_unpaid = due_count - 1
        else:
            # the first unpaid installment is at least 31 days overdue
            eligible = [k for k in range(due_count) if (day - dues[k]).days >= 31]
            first_unpaid = rng.choice(eligible) if eligible else max(due_count - 1, 0)
        for k in range(first_unpaid):
            paid[k] = [parts[k], interest[k], dues[k], 0]
        if rng.random() < (0.5 if profile == "late" else 0.3):
            k = first_unpaid
            paid[k][0], paid[k][1] = rng.randrange(0, parts[k], 100), interest[k]
            partly = True
    book.partly_paid += partly

    oldest_late = None
    rows = []
    for k in range(TERM):
        pp, ip, off, late_by = paid[k]
        # The books (migration 0024): the period starts at the previous due date (the first at the
        # disbursement); interest recognised as yesterday's run of ledger_loans.accrue_interest left
        # it (pro rata through the day before yesterday's run day, never below what was paid).
        accrues_from = disbursed if k == 0 else dues[k - 1]
        recognised = ip
        if off is None and accrues_from < yesterday:
            elapsed, period = (yesterday - accrues_from).days, (dues[k] - accrues_from).days
            by_time = interest[k] if dues[k] <= yesterday else interest[k] * elapsed // period
            recognised = min(interest[k], max(ip, by_time))
        basis = 0
        if late_by:  # settled late in the past: the basis of those days stays, its penalty was paid
            basis = parts[k] * late_by
        elif pp < parts[k] and dues[k] < yesterday:
            basis = (parts[k] - pp) * (yesterday - dues[k]).days
        accrued = (2 * basis * penalty + 360_000_000) // 720_000_000 if basis else 0
        if dues[k] < yesterday and (pp < parts[k] or ip < interest[k]) and oldest_late is None:
            oldest_late = dues[k]
        rows.append((
            (i - 1) * TERM + k + 1, i, k + 1, iso(dues[k]), parts[k], interest[k], pp, ip,
            accrued, accrued if late_by else 0, basis, iso(off) if off else None, iso(accrues_from), recognised,
        ))
    dpd = (yesterday - oldest_late).days if oldest_late else 0
    loan = (
        i, i, i, 1, 1, 1, principal, annual, "equal_principal", "monthly", "act/360", penalty, "[]", TERM,
        iso(disbursed), iso(dues[-1]), "bank_transfer", f"BT-{i}", 1, "active", dpd, iso(yesterday),
        None, classify(dpd), 1, CREATED, 1,
    )
    return loan, rows


BORROWER_COLS = ("id", "uuid", "name", "id_number", "sex", "birth_date", "phone", "village", "address",
                 "household_key", "related_party", "sms_opt_out", "office_id", "officer_id", "created_at")
APPLICATION_COLS = ("id", "uuid", "borrower_id", "product_id", "officer_id", "office_id", "amount", "term_months",
                    "purpose", "state", "version", "gps_note", "needs_l2", "needs_special", "routing_reasons",
                    "entry_data", "manifest_sha256", "created_at", "updated_at")
LOAN_COLS = ("id", "application_id", "borrower_id", "product_id", "officer_id", "office_id", "principal",
             "annual_rate", "repayment_method", "frequency", "day_count", "penalty_rate", "allocation_order",
             "term_months", "disbursed_on", "maturity_date", "channel", "reference", "disbursed_by_id", "status",
             "days_past_due", "accrued_through", "closed_on", "classification", "version", "created_at", "in_books")
INSTALLMENT_COLS = ("id", "loan_id", "seq", "due_date", "principal_due", "interest_due", "principal_paid",
                    "interest_paid", "penalty_accrued", "penalty_paid", "penalty_basis", "paid_off_on", "accrues_from",
                   "interest_recognised")


def generate(app, n: int, seed: int, day: date) -> Book:
    """N loans and their parents, bulk-inserted; same seed, same rows (ids included)."""
    from decimal import Decimal

    from sqlalchemy import text

    from app.domain.repayment import classify
    from app.extensions import db
    from app.models import Office, Product, User, UserRole

    started = time.perf_counter()
    book = Book(loans=n, installments=n * TERM)
    with app.app_context():
        office = Office(id=1, code="B01", name="基准网点")
        user = User(id=1, username="bench", full_name="基准信贷员", password_hash="x", office_id=1)
        director = User(id=2, username="bench_director", full_name="基准主任", password_hash="x", office_id=1)
        director.role_rows = [UserRole(role="director")]
        user.role_rows = [UserRole(role="officer")]
        product = Product(
            id=1, code="BENCH", name="基准产品", repayment_method="equal_principal", annual_rate=Decimal("0.096"),
            min_rate=Decimal("0.05"), max_rate=Decimal("0.24"), penalty_rate=Decimal("0.144"),
            min_amount=Decimal("1000"), max_amount=Decimal("50000"), min_term_months=TERM, max_term_months=TERM,
        )
        db.session.add(office)
        db.session.flush()
        db.session.add_all([user, director, product])
        db.session.commit()

        engine = db.engine
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"

        def sql(table: str, cols: tuple[str, ...]) -> str:
            return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"

        ins_b, ins_a = sql("borrowers", BORROWER_COLS), sql("applications", APPLICATION_COLS)
        ins_l, ins_i = sql("loans", LOAN_COLS), sql("installments", INSTALLMENT_COLS)
        cache: dict[date, str] = {}

        def iso(d: date) -> str:
            s = cache.get(d)
            if s is None:
                s = cache[d] = d.isoformat()
            return s

        rng = random.Random(seed)
        mysql = engine.dialect.name == "mysql"
        with engine.connect() as conn:
            if mysql:  # consistent by construction; the checks only slow the load
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0")
                conn.commit()  # ends the transaction the statement began; the settings stay
            for lo in range(1, n + 1, CHUNK_LOANS):
                hi = min(lo + CHUNK_LOANS, n + 1)
                borrowers, applications, loans, installments = [], [], [], []
                for i in range(lo, hi):
                    loan, rows = _loan_rows(i, rng, day, iso, book, classify)
                    borrowers.append((
                        i, f"00000000-0000-4000-8000-{i:012d}", f"借款人{i}", f"{i:018d}", "M", "1980-01-01",
                        f"139{i:08d}", "基准村", "", f"H{i}", 0, 0, 1, 1, CREATED,
                    ))
                    applications.append((
                        i, f"00000000-0000-4000-9000-{i:012d}", i, 1, 1, 1, loan[6], TERM, "", "disbursed", 1, "",
                        0, 0, "[]", "{}", "", CREATED, CREATED,
                    ))
                    loans.append(loan)
                    installments.extend(rows)
                with conn.begin():
                    conn.exec_driver_sql(ins_b, borrowers)
                    conn.exec_driver_sql(ins_a, applications)
                    conn.exec_driver_sql(ins_l, loans)
                    conn.exec_driver_sql(ins_i, installments)
            if mysql:
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1, unique_checks = 1")
                # InnoDB recalculates a table's statistics in the background once a tenth of it has
                # changed, so a book that grew over years has current ones; one loaded in a minute
                # may not yet, and the optimizer would plan from an empty table's.
                conn.exec_driver_sql("ANALYZE TABLE borrowers, applications, loans, installments")
                conn.commit()
        book.opening = open_books(day)
        book.seconds = time.perf_counter() - started
        tasks = tasks_module()
        if tasks is not None:
            # Yesterday's job left its post-loan tasks: made by the app's own function, so exactly those.
            started = time.perf_counter()
            tasks.generate(day - timedelta(days=1), tasks.TaskSettings())
            db.session.commit()
            book.tasks_seconds = time.perf_counter() - started
            book.tasks = db.session.scalar(text("SELECT COUNT(*) FROM follow_up_tasks"))
        db.session.remove()
        db.engine.dispose()
    return book


def open_books(day: date) -> dict[int, dict[str, int]]:
    """The loans' opening balances in the books, set-based: what ledger_loans.open_books posts for
    loans taken over from earlier books (one entry per product against the opening balance account,
    app.domain.loan_books.opening), summed by one grouped SELECT instead of read loan by loan; posted
    on the day before yesterday and closed through it, as yesterday's run of the job would have left
    the books (it closes the days before its own). The generated loans have no repayment rows, so the
    loan-by-loan figures would also carry their paid amounts as overpayment; the balances the
    reconciliation checks (principal, interest and penalty receivable) are the same either way."""
    from sqlalchemy import text

    from app.domain import ledger as books
    from app.domain import loan_books
    from app.extensions import db
    from app.services import ledger, ledger_close

    on = day - timedelta(days=2)
    rows = db.session.execute(text("""
        SELECT l.product_id, SUM(i.principal_due - i.principal_paid), SUM(i.interest_recognised - i.interest_paid),
               SUM(i.penalty_accrued - i.penalty_paid)
          FROM installments i JOIN loans l ON l.id = i.loan_id
         WHERE l.in_books = 1 AND l.status = 'active' AND l.accounting_basis = 'accrual'
         GROUP BY l.product_id""")).all()
    posted: dict[int, dict[str, int]] = {}
    for product_id, principal, interest, penalty in rows:
        held = loan_books.opening({"loan_principal": int(principal), "interest_receivable": int(interest),
                                   "penalty_receivable": int(penalty)})
        ledger.post("opening", books.lines_from_deltas(held), value_date=on, posting_date=on, product_id=product_id,
                    memo="bench", source_type="open_books")
        posted[product_id] = held
    ledger_close.close_days_through(on)
    db.session.commit()
    return posted


# --- checks --------------------------------------------------------------------------------------


@dataclass
class State:
    digest: str
    classes: dict[str, int]
    basis_total: int
    penalty_fen: int
    overdue_installments: int
    version_total: int
    tasks: int
    notifications: int
    interest_recognised_fen: int = 0
    journal_lines: int = 0
    ledger_1303_fen: int = 0


def book_state(engine) -> State:
    """A digest of what the job writes, row by row in key order, plus totals: penalty basis and
    accrued, days past due, class, accrued-through; tasks and notifications without their uuids and
    timestamps. Not ``loans.version``, which every run bumps."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        streaming = conn.execution_options(stream_results=True)
        queries = ["SELECT id, penalty_basis, penalty_accrued FROM installments ORDER BY id",
                   "SELECT id, days_past_due, classification, accrued_through FROM loans ORDER BY id"]
        tasks = notifications = 0
        if tasks_module() is not None:
            queries.append("SELECT loan_id, kind, due_date, officer_id, installment_seq, status FROM follow_up_tasks "
                           "ORDER BY loan_id, kind, due_date")
            queries.append("SELECT user_id, kind, message, link FROM notifications ORDER BY link, user_id, kind")
            tasks = conn.exec_driver_sql("SELECT COUNT(*) FROM follow_up_tasks").scalar()
            notifications = conn.exec_driver_sql("SELECT COUNT(*) FROM notifications").scalar()
        for sql in queries:
            result = streaming.exec_driver_sql(sql)
            while part := result.fetchmany(50_000):
                # Dates come back as str (SQLite) or date (PyMySQL): normalise before hashing.
                h.update(repr([tuple(str(v) for v in row) for row in part]).encode())
        classes = dict(conn.exec_driver_sql("SELECT classification, COUNT(*) FROM loans GROUP BY classification").all())
        basis, fen, late = conn.exec_driver_sql(
            "SELECT COALESCE(SUM(penalty_basis), 0), COALESCE(SUM(penalty_accrued), 0), "
            "COALESCE(SUM(CASE WHEN penalty_basis > 0 AND principal_paid < principal_due THEN 1 ELSE 0 END), 0) "
            "FROM installments").one()
        version = conn.exec_driver_sql("SELECT COALESCE(SUM(version), 0) FROM loans").scalar()
        recognised = conn.exec_driver_sql("SELECT COALESCE(SUM(interest_recognised), 0) FROM installments").scalar()
        lines, loans_account = conn.exec_driver_sql(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN a.code = '1303' THEN l.debit - l.credit ELSE 0 END), 0) "
            "FROM journal_lines l JOIN accounts a ON a.id = l.account_id").one()
    return State(h.hexdigest()[:16], {k: int(v) for k, v in classes.items()}, int(basis), int(fen), int(late),
                 int(version), int(tasks), int(notifications), int(recognised), int(lines), int(loans_account))


# --- the two ways of running the day -------------------------------------------------------------


def tasks_module():
    """app.services.tasks (post-loan tasks, generated by run_daily) when this checkout has it."""
    try:
        from app.services import tasks
    except ImportError:
        return None
    return tasks


# The daily job's parts timed apart: (module, function, label). Wrapped only to time them (the
# module attribute is replaced for the run, so run_daily's own calls go through the wrapper); the
# code is the app's. The books' parts are the ones a run "without the books" replaces by no-ops.
BOOK_STEPS = (
    ("app.services.ledger_loans", "open_books", "books: loans not in the books yet (open_books)"),
    ("app.services.ledger_loans", "post_penalty_accrual", "books: penalty accrual entries"),
    ("app.services.ledger_loans", "accrue_interest", "books: interest accrual (one pass into a scratch table, UPDATE, SUM per product)"),
    ("app.services.provisioning", "provision", "books: month-end provisioning"),
    ("app.services.ledger_close", "close_days_through", "books: day-end close"),
    ("app.services.ledger_close", "reconcile", "books: reconciliation"),
)
BOOKS_OFF = {  # what the skipped steps return in a run without the books
    "open_books": lambda *a, **kw: 0,
    "post_penalty_accrual": lambda *a, **kw: "0",
    "accrue_interest": lambda *a, **kw: {},
}
OTHER_STEPS = (
    ("app.services.tasks", "generate", "tasks (tasks.generate: post-loan tasks)"),
    ("app.services.snapshots", "write", "snapshots of the day (snapshots.write)"),
)


def job(app, day: date, timer: StatementTimer, *, books: bool = True):
    """run_daily as cron runs it, minus SMS. Its parts are wrapped only to time them; with
    ``books=False`` the ledger's parts are skipped (the job as it was before the books): the
    accrual and penalty steps return nothing and ledger_close.daily does nothing."""
    import importlib

    from app.services import jobs

    def run():
        steps: dict[str, list] = {}
        cpu: dict[str, list] = {}  # label -> [this process's CPU, the database server's CPU]
        patched: list[tuple[Any, str, Any]] = []

        def wrap(module_name: str, name: str, label: str, replacement=None):
            module = importlib.import_module(module_name)
            original = getattr(module, name)
            target = replacement or original

            def timed(*a, **kw):
                outer, timer.tag = timer.tag, f"[{label.split(' (')[0]}] "
                server = getattr(timer, "server_pid", None)
                t0, c0, s0 = time.perf_counter(), time.process_time(), process_cpu(server)
                try:
                    return target(*a, **kw)
                finally:
                    spent = time.perf_counter() - t0
                    timer.tag = outer
                    s = steps.setdefault(label, [0.0, 0])
                    s[0] += spent
                    s[1] += 1
                    c = cpu.setdefault(label, [0.0, 0.0])
                    c[0] += time.process_time() - c0
                    c[1] += process_cpu(server) - s0

            setattr(module, name, timed)
            patched.append((module, name, original))

        try:
            for module_name, name, label in OTHER_STEPS:
                wrap(module_name, name, label)
            if books:
                for module_name, name, label in BOOK_STEPS:
                    wrap(module_name, name, label)
            else:
                for module_name, name, label in BOOK_STEPS:
                    if name in BOOKS_OFF:
                        wrap(module_name, name, "books: skipped (no-ops)", BOOKS_OFF[name])
                wrap("app.services.ledger_close", "daily", "books: skipped (ledger_close.daily)", lambda *a, **kw: {})
            with app.app_context():
                result = dict(jobs.run_daily(day, sms_settings=None))
        finally:
            for module, name, original in reversed(patched):
                setattr(module, name, original)
        result["_tasks_seconds"] = steps.get(OTHER_STEPS[0][2], [0.0])[0]
        result["_steps"] = {label: tuple(v) for label, v in steps.items()}
        result["_steps_cpu"] = {label: tuple(v) for label, v in cpu.items()}
        return result

    return run


def naive(app, day: date, timer: StatementTimer):
    """The per-loan ORM loop the set-based job replaces: same rules, one loan at a time."""
    from datetime import datetime, timezone

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from app.domain.repayment import DEFAULT_CLASS_DAYS, classify, penalty_from_basis
    from app.extensions import db
    from app.models import JobRun, Loan

    def batches(session):
        """Active loans with their installments, 1,000 at a time by id (a streamed query would not
        do: PyMySQL cannot run selectinload's query while an unbuffered result is open). Loading
        each batch autoflushes the previous one's changes, so memory stays bounded; one transaction."""
        last = 0
        while True:
            batch = session.scalars(
                select(Loan).where(Loan.status == "active", Loan.id > last).order_by(Loan.id).limit(1000)
                .options(selectinload(Loan.installments))
            ).all()
            if not batch:
                return
            yield from batch
            last = batch[-1].id

    def run():
        with app.app_context():
            session = db.session
            updated = seen = 0
            for loan in batches(session):
                seen += 1
                since = loan.accrued_through or loan.disbursed_on
                if since < day:
                    for inst in loan.installments:
                        if inst.due_date < day and inst.principal_paid < inst.principal_due:
                            owed_fen = int((inst.principal_due - inst.principal_paid) * 100)
                            inst.penalty_basis += owed_fen * (day - max(inst.due_date, since)).days
                            updated += 1
                    loan.accrued_through = day
                late = []
                for inst in loan.installments:
                    if inst.penalty_basis > 0:
                        inst.penalty_accrued = penalty_from_basis(inst.penalty_basis, loan.penalty_rate)
                    if inst.due_date < day and (inst.principal_paid < inst.principal_due
                                                or inst.interest_paid < inst.interest_due):
                        late.append(inst.due_date)
                loan.days_past_due = (day - min(late)).days if late else 0
                loan.classification = classify(loan.days_past_due, DEFAULT_CLASS_DAYS)
            detail = {"installments_accrued": updated, "reminders": 0, "loans": seen}
            tasks, spent = tasks_module(), 0.0
            session.flush()  # the loop's last batch: its writes are the loop's, not the tasks'
            if tasks is not None:  # the same post-loan tasks as run_daily, by the same function
                timer.tag, t0 = "[tasks] ", time.perf_counter()
                detail["tasks"] = tasks.generate(day, tasks.TaskSettings())
                spent, timer.tag = time.perf_counter() - t0, ""
            session.add(JobRun(job="daily", for_date=day, finished_at=datetime.now(timezone.utc), detail=detail))
            session.commit()
            session.remove()
            return {**detail, "_tasks_seconds": spent}

    return run


# --- report --------------------------------------------------------------------------------------


def mb(x: float | None) -> str:
    return "      -" if x is None else f"{x:7.1f}"


def print_measured(m: Measured, n: int) -> None:
    per = m.seconds / n * 1e6
    server = m.result.get("_server_cpu") if isinstance(m.result, dict) else None
    srv = f" + server {server:7.2f} s" if server is not None else ""
    print(f"  {m.label:<36} {m.seconds:8.2f} s  {per:7.1f} us/loan  cpu {m.cpu:7.2f} s{srv} (machine {m.machine_busy_pct:3.0f} % busy)"
          f"  traced peak {mb(m.traced_peak_mb)} MB  RSS {m.rss_before_mb:6.1f} -> peak {m.rss_peak_mb:6.1f} MB")


TAG = re.compile(r"^\[[^\]]*\] ")


def print_statements(m: Measured) -> None:
    """Each distinct statement once, in order of first use: seconds, rows, times sent; tagged with
    the timed part of the job that sent it. Then the time per part (its statements and its Python)."""
    spent = 0.0
    grouped: dict[str, list] = {}
    by_tag: dict[str, float] = {}
    for label, seconds, rowcount in m.statements:
        spent += seconds
        tag = TAG.match(label)
        key = tag.group(0)[1:-2] if tag else ""
        by_tag[key] = by_tag.get(key, 0.0) + seconds
        g = grouped.setdefault(label, [0.0, 0, 0])
        g[0] += seconds
        g[1] += rowcount if rowcount > 0 and not TAG.sub("", label).startswith("SELECT") else 0
        g[2] += 1
    for label, (seconds, rows, times) in grouped.items():
        sent = f" x{times:,}" if times > 1 else ""
        shown = "" if TAG.sub("", label).startswith("SELECT") else f"{rows:,} rows"
        print(f"      {seconds:8.2f} s  {shown:>14}  {label}{sent}")
    steps = m.result.get("_steps", {}) if isinstance(m.result, dict) else {}
    if not steps:
        print(f"      {m.seconds - spent:8.2f} s  commit and the rest of the Python")
        return
    cpu = m.result.get("_steps_cpu", {})
    server_total = m.result.get("_server_cpu")
    srv = server_total is not None
    print("    per part of the job: wall seconds (in SQL statements; CPU of the job's process"
          + ("; CPU of the database server" if srv else "") + "):")
    in_steps = in_cpu = in_srv = 0.0
    for label, (seconds, calls) in steps.items():
        pc, sc = cpu.get(label, (0.0, 0.0))
        in_steps, in_cpu, in_srv = in_steps + seconds, in_cpu + pc, in_srv + sc
        called = f" x{calls}" if calls > 1 else ""
        print(f"      {seconds:8.2f} s  ({by_tag.get(label.split(' (')[0], 0.0):6.2f} SQL; cpu {pc:6.2f}"
              + (f"; server {sc:6.2f}" if srv else "") + f")  {label}{called}")
    own = by_tag.get("", 0.0)
    print(f"      {m.seconds - in_steps:8.2f} s  ({own:6.2f} SQL; cpu {m.cpu - in_cpu:6.2f}"
          + (f"; server {server_total - in_srv:6.2f}" if srv else "")
          + ")  run_daily's own: penalty, days past due and class, the job's record, commit")


def explain(app, m: Measured) -> None:
    from app.extensions import db

    with app.app_context():
        conn = db.session.connection()
        prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        for statement, params in m.captured:
            if not statement.lstrip().upper().startswith("UPDATE"):
                continue
            print(f"    plan of: {first_line(statement)}")
            for row in conn.exec_driver_sql(prefix + statement, params).all():
                print("      " + " | ".join("" if v is None else str(v) for v in row))
        db.session.rollback()
        db.session.remove()


def print_naive(m: Measured) -> None:
    own = [r for r in m.statements if not r[0].startswith("[tasks")]
    loans = m.result.get("loans", 0) if isinstance(m.result, dict) else 0
    print(f"      {m.seconds - m.tasks_seconds:8.2f} s  per-loan loop over {loans:,} loans and commit, {len(own):,} "
          f"statements ({sum(r[1] for r in own):.2f} s in SQL)")
    if m.tasks_seconds:
        print(f"      {m.tasks_seconds:8.2f} s  tasks.generate, as in run_daily")


def print_book(book: Book) -> None:
    print(f"  generated {book.loans:,} loans and {book.installments:,} installments in {book.seconds:.1f} s "
          f"(not counted): current {book.profiles['current']:,}, 1-31 days late {book.profiles['late']:,}, "
          f"long overdue {book.profiles['long']:,}; {book.partly_paid:,} with a partly paid installment")
    if book.tasks_seconds:
        print(f"  yesterday's post-loan tasks: {book.tasks:,}, made by tasks.generate(day - 1) in {book.tasks_seconds:.1f} s "
              f"(not counted; what the first run_daily on an existing book spends on them)")


def print_state(label: str, s: State, n: int) -> None:
    mix = ", ".join(f"{c} {s.classes.get(c, 0) / n * 100:.1f} %" for c in CLASS_ORDER)
    print(f"  {label:<36} checksum {s.digest}  overdue installments {s.overdue_installments:,}  "
          f"penalty {s.penalty_fen / 100:,.2f} yuan  tasks {s.tasks:,}  notifications {s.notifications:,}  [{mix}]")
    print(f"  {'':<36} interest recognised {s.interest_recognised_fen / 100:,.2f} yuan  journal lines {s.journal_lines:,}  "
          f"贷款 1303 {s.ledger_1303_fen / 100:,.2f} yuan")


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="loan counts, comma-separated (default 100000,1000000)")
    parser.add_argument("--baseline-size", type=int, default=0,
                        help="loans for the per-loan ORM loop of penalty/days past due/class (default 0: skipped; "
                             "the baseline of the books is the job without them, in every case)")
    parser.add_argument("--day", type=date.fromisoformat, default=DEFAULT_DAY,
                        help="business day of the first run (default 2026-07-01, a month's first: it provisions June)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated book (default 1)")
    parser.add_argument("--database-url", default=None,
                        help="MySQL/MariaDB server URL; a database per case is created on it (default: SQLite files)")
    parser.add_argument("--explain", action="store_true", help="print the query plan of each UPDATE of the first run")
    parser.add_argument("--light", action="store_true",
                        help="for the largest books: skip the same-day rerun and the last checksum")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases (and the temporary folder) for inspection; prints where they are")
    args = parser.parse_args()
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: integers, comma-separated")
    if not args.sizes or min(args.sizes) < 1 or args.baseline_size < 0:
        parser.error("--sizes must be positive, --baseline-size not negative")
    if args.database_url is not None and not args.database_url.strip():
        parser.error("--database-url is empty: was $TEST_DATABASE_URL expanded before scripts/mariadb-test-server.sh "
                     "exported it? Wrap the command in sh -c '...' (see the docstring).")
    return args


def total_cpu(m: Measured) -> float:
    """CPU seconds of the job's process plus, on a local MariaDB, the server's during the run."""
    server = m.result.get("_server_cpu") if isinstance(m.result, dict) else None
    return m.cpu + (server or 0.0)


def books_line(m: Measured, *, expect_provision: bool = False, expect_difference: bool = False) -> bool:
    """What the run did to the books (run_daily's detail) and whether it reconciled."""
    books = (m.result or {}).get("books", {}) if isinstance(m.result, dict) else {}
    refused = books.get("refused")
    differences = books.get("differences") or []
    provision = books.get("provision")
    if provision:
        provided = (f"of {provision['period']} posted {provision['posted'] / 100:,.2f} yuan "
                    f"(target {provision['target'] / 100:,.2f})")
    else:
        provided = "none this run"
    verdict = (f"REFUSED {refused}" if refused else
               f"{len(differences)} difference(s): {differences[:2]}" if differences else "no difference")
    print(f"      books: opened {books.get('opened', 0):,} loans, interest accrued {books.get('interest', '0')} yuan on "
          f"{books.get('installments', 0):,} installments, penalty {books.get('penalty', '0')} yuan, provision "
          f"{provided}, closed through {books.get('closed_through', '-')}; reconciliation: {verdict}")
    good = not refused and (bool(differences) == expect_difference)
    if expect_provision and not provision:
        good = False
        print("      FAIL: the month's first run provisioned nothing")
    if not good:
        print("      FAIL: the books were expected to " + ("differ (see above)" if expect_difference else "reconcile"))
    return good


def run_case(dbs: Databases, tmp: Path, case: str, n: int, args, *, explain_plans: bool) -> tuple[dict, bool]:
    """A fresh book of n loans, then: the month's first run (provisioning, the day's close,
    reconciliation), the same day again, and three ordinary days in turn with the books, without
    them (the baseline: the job as it was before the books), with them again."""
    from app.extensions import db

    url = dbs.fresh(case)
    ok = True
    try:
        app = make_app(url, tmp)
        with app.app_context():
            label = describe_database(db.engine)
        print(f"{n:,} loans, {label}")
        book = generate(app, n, args.seed, args.day)
        print_book(book)
        with app.app_context():
            before = book_state(db.engine)
        print_state("as generated (day before)", before, n)
        day = args.day
        first = measure_in_child(f"run_daily({day}) month's 1st run", "job", url, tmp, day, capture=explain_plans)
        print_measured(first, n)
        print_statements(first)
        ok &= books_line(first, expect_provision=day.day == 1)
        if explain_plans:
            explain(app, first)
        with app.app_context():
            after = book_state(db.engine)
        print_state(f"after run_daily({day})", after, n)
        changed = after.digest != before.digest and after.interest_recognised_fen > before.interest_recognised_fen
        ok &= changed
        if not changed:
            print("  FAIL: the first run changed nothing")
        runs = {"first": first, "after": after}
        if not args.light:
            again = measure_in_child(f"run_daily({day}) again", "job", url, tmp, day)
            print_measured(again, n)
            print_statements(again)
            ok &= books_line(again)
            with app.app_context():
                rerun = book_state(db.engine)
            same = (rerun.digest, rerun.interest_recognised_fen, rerun.journal_lines) == (
                after.digest, after.interest_recognised_fen, after.journal_lines)
            ok &= same
            print(f"  idempotent rerun: checksum {rerun.digest} {'==' if same else '!='} {after.digest}, interest "
                  f"recognised and journal lines {'unchanged' if same else 'CHANGED'}: {'OK' if same else 'FAIL'}; "
                  f"version bumped on {rerun.version_total - after.version_total:,} loans")
            runs["again"] = again
        for offset, kind, key in ((1, "job", "books_a"), (2, "nobooks", "plain"), (3, "job", "books_b")):
            d = day + timedelta(days=offset)
            label = f"run_daily({d})" + (" WITHOUT the books" if kind == "nobooks" else "")
            m = measure_in_child(label, kind, url, tmp, d)
            print_measured(m, n)
            print_statements(m)
            if kind == "job":
                # The run after the one without the books finds the penalty that run accrued unposted.
                ok &= books_line(m, expect_difference=key == "books_b")
            runs[key] = m
        if not args.light:
            with app.app_context():
                last = book_state(db.engine)
            print_state(f"after run_daily({day + timedelta(days=3)})", last, n)
        with app.app_context():
            db.engine.dispose()
        a, plain, b = runs["books_a"], runs["plain"], runs["books_b"]
        print(f"  ordinary days, with the books / without / with: wall {a.seconds:.2f} s / {plain.seconds:.2f} s / "
              f"{b.seconds:.2f} s: x{a.seconds / plain.seconds:.2f} and x{b.seconds / plain.seconds:.2f} of the job "
              f"without them; CPU (job + database server) {total_cpu(a):.2f} / {total_cpu(plain):.2f} / {total_cpu(b):.2f} s: "
              f"x{total_cpu(a) / total_cpu(plain):.2f} and x{total_cpu(b) / total_cpu(plain):.2f} (same run, consecutive days)")
        print()
        return runs, ok
    finally:
        dbs.drop(url)


def run_baseline(dbs: Databases, tmp: Path, n: int, args) -> dict:
    from app.extensions import db

    url = dbs.fresh(f"naive_{n}")
    try:
        app = make_app(url, tmp)
        book = generate(app, n, args.seed, args.day)
        print(f"baseline: per-loan ORM loop on a fresh copy of the {n:,} loans (same seed)")
        print_book(book)
        day = args.day
        first = measure_in_child(f"ORM loop for {day}", "naive", url, tmp, day)
        print_measured(first, n)
        print_naive(first)
        with app.app_context():
            after = book_state(db.engine)
            db.engine.dispose()
        print_state(f"after ORM loop for {day}", after, n)
        print()
        return {"first": first, "after": after}
    finally:
        dbs.drop(url)


def code_version() -> str:
    """The commit measured, and whether the job's code differs from it (others edit as we run)."""
    import subprocess

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO_ROOT), *a], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "app/services/jobs.py", "app/services/tasks.py", "app/models")
    return f"app at {head}" + (", with uncommitted changes to the job's code" if dirty else "")


def bench(args: argparse.Namespace, tmp: Path, dbs: Databases) -> int:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"day {args.day}, seed {args.seed}, {code_version()}, {os.cpu_count()} cores, load average before {load}; "
          f"peak RSS reset per run: {'yes' if peak_rss_reset() else 'NO (ru_maxrss is the process peak so far)'}")
    print()
    ok = True
    cases: dict[int, dict] = {}
    for n in args.sizes:
        cases[n], good = run_case(dbs, tmp, f"job_{n}", n, args, explain_plans=args.explain and n == max(args.sizes))
        ok &= good

    nb = args.baseline_size
    if nb:
        if nb not in cases:
            cases[nb], good = run_case(dbs, tmp, f"job_{nb}", nb, args, explain_plans=False)
            ok &= good
        base = run_baseline(dbs, tmp, nb, args)
        job_case = cases[nb]
        if base["first"].result.get("loans") != nb:
            ok = False
            print(f"FAIL: the ORM loop saw {base['first'].result.get('loans'):,} of {nb:,} active loans")
        mine, theirs = job_case["after"], base["after"]
        same = mine.digest == theirs.digest and mine.penalty_fen == theirs.penalty_fen
        ok &= same
        print(f"job vs ORM loop, day: checksums {mine.digest} {'==' if same else '!='} {theirs.digest}: "
              f"{'identical' if same else 'DIFFERENT, FAIL'}")
        theirs, mine = base["first"], job_case["first"]
        # What the loop does: penalty, days past due, class. Of the job: its own statements, without
        # the parts it times apart (the books, tasks, snapshots).
        own_theirs = theirs.seconds - theirs.tasks_seconds
        own_mine = mine.seconds - sum(v[0] for v in mine.result.get("_steps", {}).values())
        speedup = own_theirs / own_mine
        verdict = "PASS" if speedup >= GOAL_SPEEDUP else "FAIL"
        ok &= speedup >= GOAL_SPEEDUP
        print(f"speed-up on {nb:,} loans, penalty/days past due/class: ORM loop {own_theirs:.2f} s / run_daily's own "
              f"statements {own_mine:.2f} s = {speedup:.1f}x (goal >= {GOAL_SPEEDUP:.0f}x): {verdict}")

    for n, runs in cases.items():
        a, plain, b = runs["books_a"], runs["plain"], runs["books_b"]
        again = f"again {runs['again'].seconds:.1f} s" if "again" in runs else "not run again (--light)"
        print(f"{n:,} loans: month's first run {runs['first'].seconds:.1f} s (CPU {total_cpu(runs['first']):.1f} s), "
              f"{again}; ordinary day with the books {a.seconds:.1f} / {b.seconds:.1f} s vs without "
              f"{plain.seconds:.1f} s (x{a.seconds / plain.seconds:.2f} / x{b.seconds / plain.seconds:.2f}); CPU "
              f"{total_cpu(a):.1f} / {total_cpu(b):.1f} s vs {total_cpu(plain):.1f} s "
              f"(x{total_cpu(a) / total_cpu(plain):.2f} / x{total_cpu(b) / total_cpu(plain):.2f})")
    if GOAL_SIZE in cases:
        took = cases[GOAL_SIZE]["first"].seconds
        verdict = "PASS" if took < GOAL_SECONDS else "FAIL"
        ok &= took < GOAL_SECONDS
        print(f"goal: run_daily on {GOAL_SIZE:,} loans in under {GOAL_SECONDS:.0f} s (the month's first run, the "
              f"heaviest: provisioning and the month's snapshots too): {took:.1f} s: {verdict}")
    else:
        print(f"goal: run_daily on {GOAL_SIZE:,} loans in under {GOAL_SECONDS:.0f} s: not measured (add it to --sizes)")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average after {load}")
    print("all checks passed" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="ddt-daily-job-"))
    os.environ["INSTANCE_DIR"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "daily-job-bench")
    dbs = Databases(args.database_url, tmp, keep=args.keep)
    try:
        return bench(args, tmp, dbs)
    finally:
        if args.keep:
            print(f"kept: {tmp}" + "".join(f", database {name}" for name in dbs.created))
        else:
            try:
                dbs.drop_all()
            finally:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        print("interrupted; temporary databases removed", file=sys.stderr)
        sys.exit(130)
