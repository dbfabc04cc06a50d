"""How fast is a page of the audit log viewer over millions of audit rows?

Run from the repository root (SQLite by default; MariaDB through the test server script):

    .venv/bin/python bench/audit_viewer.py [--rows 10000000] [--repeat 15]
    MARIADB_TEST_PORT=3314 scripts/mariadb-test-server.sh .venv/bin/python bench/audit_viewer.py --rows 1000000

It creates a fresh database with the demo data, fills ``audit_log`` with ``--rows`` rows (one block
by executemany, then INSERT … SELECT doubling it: ids and times rise together over about three
years, 20-odd people, realistic actions, a rare action one row in 10 000, objects of every type), and
times typical pages through the service (``app.services.audit_log.page``, what the screen calls):
first page, by person, by object, by a rare action, by one day three years back, a day and a
person, a page in the middle of the log (keyset), and the same page by OFFSET. Baseline, in the same run, on the
same rows: the indexes the table had before migration 0014 (``at`` and ``actor_id`` only); then
migration 0014's indexes are built (timed) and every query is timed again. Figures: median and
worst of ``--repeat`` runs, warm cache.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.domain import dates  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402
from app.services import audit_log  # noqa: E402
from app.storage import make_store  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
STEP_S = 9  # seconds between rows: 10 M rows span about three years
ACTIONS = ["login", "logout", "photo_received", "entry_saved", "loan_disbursed", "repayment_recorded",
           "visit_reported", "task_reassigned", "application.submitted", "application.approved"]
TYPES = ["application", "loan", "borrower", "user", "device", "task", "photo"]
NEW_INDEXES = {  # migration 0014, audit_log part
    "ix_audit_log_object_type_object_id_id": "audit_log (object_type, object_id, id)",
    "ix_audit_log_object_type_id": "audit_log (object_type, id)",
    "ix_audit_log_action_id": "audit_log (action, id)",
}


def _database_url(workdir: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(base).set(database="ddt_bench_audit")
    server = create_engine(url.set(database="mysql"))
    with server.begin() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS ddt_bench_audit"))
        conn.execute(text("CREATE DATABASE ddt_bench_audit CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return url.render_as_string(hide_password=False)


def _fill(rows: int, users: list[int]) -> None:
    """``rows`` audit rows: a block by executemany, then doubled by INSERT … SELECT."""
    doublings = 0
    while rows // (2 ** doublings) > 100_000:
        doublings += 1
    block = rows // (2 ** doublings)
    mysql = db.engine.dialect.name == "mysql"
    base = db.session.scalar(select(db.func.coalesce(db.func.max(audit_log.AuditLog.id), 0)))
    params = []
    for i in range(block):
        rare = i % 10_000 == 5_000
        params.append({
            "at": (T0 + timedelta(seconds=i * STEP_S)).replace(tzinfo=None),
            "actor_id": users[(i * 7) % len(users)] if i % 13 else None,
            "action": "setting.changed" if rare else ACTIONS[(i * 3) % len(ACTIONS)],
            "object_type": "setting" if rare else TYPES[i % len(TYPES)],
            "object_id": i // 3,
            "detail": '{"before": {"status": "active"}, "after": {"status": "closed"}, "note": "bench"}',
            "ip": f"10.0.{i % 250}.{i % 200}",
        })
    db.session.execute(text(
        "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail, ip) "
        "VALUES (:at, :actor_id, :action, :object_type, :object_id, :detail, :ip)"), params)
    db.session.commit()
    n = block
    for _ in range(doublings):
        shift_s, lo = n * STEP_S, base
        at = (f"DATE_ADD(at, INTERVAL {shift_s} SECOND)" if mysql
              else f"strftime('%Y-%m-%d %H:%M:%f000', at, '+{shift_s} seconds')")
        db.session.execute(text(
            "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail, ip) "
            f"SELECT {at}, actor_id, action, object_type, object_id + {n}, detail, ip FROM audit_log "
            f"WHERE id > {lo} ORDER BY id"))
        db.session.commit()
        n *= 2


def _time(fn, repeat: int) -> tuple[float, float, int]:
    fn()  # warm
    runs, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        size = fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs), max(runs), size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="ddt-bench-audit-", dir=os.environ.get("BENCH_DIR")))
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(TestConfig(_database_url(workdir), workdir / "photos"))
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], make_store(app.config))
        dialect = db.engine.dialect.name
        users = list(db.session.scalars(select(User.id).order_by(User.id)))
        for name in NEW_INDEXES:  # the baseline: the table as it was before 0014
            db.session.execute(text(f"DROP INDEX {name}" + (" ON audit_log" if dialect == "mysql" else "")))
        # The demo's own rows are dated today: start afresh so times rise with ids, as they do live.
        db.session.execute(text("DELETE FROM audit_log"))
        db.session.commit()
        t = time.perf_counter()
        _fill(args.rows, users)
        fill_s = time.perf_counter() - t
        total = db.session.scalar(text("SELECT COUNT(*) FROM audit_log"))
        max_id = db.session.scalar(text("SELECT MAX(id) FROM audit_log"))
        last_at = db.session.scalar(text("SELECT MAX(at) FROM audit_log"))
        print(f"{dialect}: {total:,} audit rows built in {fill_s:.1f} s ({workdir})")
        person = users[3]
        obj = db.session.execute(text(
            f"SELECT object_type, object_id FROM audit_log WHERE id >= {max_id // 2} ORDER BY id LIMIT 1")).one()
        first_day = T0.astimezone(dates.BEIJING).date()
        day = first_day + (dates.business_date_of(datetime.fromisoformat(str(last_at)).replace(tzinfo=timezone.utc)) - first_day) / 2
        recent_day = dates.business_date_of(datetime.fromisoformat(str(last_at)).replace(tzinfo=timezone.utc))
        F = audit_log.Filter
        cases = {
            "first page, no filter": (F(), None),
            "by person": (F(actor_ids=(person,), person="x"), None),
            "by object (type + id)": (F(object_type=obj.object_type, object_id=obj.object_id), None),
            "by object type only (loan)": (F(object_type="loan"), None),
            "by a rare action (1 in 10 000)": (F(action="setting.changed"), None),
            "one day in the middle of the log": (F(date_from=day, date_to=day), None),
            "one day in the middle + a person": (F(date_from=day, date_to=day, actor_ids=(person,), person="x"), None),
            "a rare action over the last day": (F(action="setting.changed", date_from=recent_day, date_to=recent_day), None),
            "a page in the middle (keyset, id < cursor)": (F(), max_id // 2),
        }

        def run(f, cursor):
            def go():
                page = audit_log.page(f, before_id=cursor)
                db.session.rollback()
                return len(page.rows)
            return go

        offset = total // 2

        def by_offset():
            rows = db.session.execute(text(
                f"SELECT id FROM audit_log ORDER BY id DESC LIMIT {audit_log.PER_PAGE} OFFSET {offset}")).all()
            db.session.rollback()
            return len(rows)

        before = {name: _time(run(*case), args.repeat) for name, case in cases.items()}
        before["a page in the middle by OFFSET (ids only)"] = _time(by_offset, args.repeat)
        t = time.perf_counter()
        for name, cols in NEW_INDEXES.items():
            db.session.execute(text(f"CREATE INDEX {name} ON {cols}"))
        db.session.commit()
        index_s = time.perf_counter() - t
        after = {name: _time(run(*case), args.repeat) for name, case in cases.items()}
        after["a page in the middle by OFFSET (ids only)"] = _time(by_offset, args.repeat)
        print(f"migration 0014's audit_log indexes built in {index_s:.1f} s")
        print(f"{'page (' + str(audit_log.PER_PAGE) + ' rows)':42} {'before 0014 ms (median/worst)':>30} {'with 0014 ms (median/worst)':>30} rows")
        for name in before:
            b, a = before[name], after[name]
            print(f"{name:42} {b[0]:>17.1f} / {b[1]:>9.1f} {a[0]:>17.1f} / {a[1]:>9.1f} {a[2]:>5}")
        size = os.path.getsize(workdir / "bench.sqlite3") if dialect == "sqlite" else None
        if size:
            print(f"database file: {size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
