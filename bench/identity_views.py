"""What does recording who viewed a borrower's identity data add to a page?

Run from the repository root (SQLite), or against MariaDB through the test server script:

    .venv/bin/python bench/identity_views.py [--requests 300]
    MARIADB_TEST_PORT=33406 scripts/mariadb-test-server.sh .venv/bin/python bench/identity_views.py

It migrates a fresh database with the demo data and photos, logs in as reviewer1 through Flask's
test client (the whole request: routing, session, queries, template, the view's record) and opens
the borrower page and the application page (six thumbnails) alternately with the record written
and — the baseline, in the same run, in random order — with ``identity_access`` told to drop its
rows. It prints the median and 90th percentile per page, the difference, and the SQL statements per
request (the record should be one INSERT and one COMMIT, whatever the number of photos).
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Application  # noqa: E402
from app.models.audit import IdentityView  # noqa: E402
from app.services import identity_access  # noqa: E402
from app.storage import make_store  # noqa: E402


def _database_url(workdir: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base).set(database="ddt_bench_identity")
    server = create_engine(url.set(database="mysql"))
    with server.begin() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS ddt_bench_identity"))
        conn.execute(text("CREATE DATABASE ddt_bench_identity CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return url.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="requests per page and variant")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="ddt-bench-views-"))
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(TestConfig(_database_url(workdir), workdir / "photos"))
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], make_store(app.config))
        application = db.session.scalar(
            select(Application).where(Application.state == "awaiting_l1").order_by(Application.id))
        pages = {
            "borrower page": f"/borrowers/{application.borrower_id}",
            f"application page ({sum(1 for p in application.photos if p.received_at)} thumbnails)":
                f"/applications/{application.id}",
        }
        dialect = db.engine.dialect.name
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *a: statements.append(sql.split(None, 1)[0].upper()))
        event.listen(db.engine, "commit", lambda conn: statements.append("COMMIT"))

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "reviewer1", "password": "demo1234", "csrf_token": token}).status_code == 302

    real_queue = identity_access._queue

    def timed(url: str, record: bool) -> tuple[float, list[str]]:
        identity_access._queue = real_queue if record else (lambda rows: None)
        statements.clear()
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, list(statements)

    for url in pages.values():  # warm caches and templates
        for record in (True, False):
            timed(url, record)

    rng = random.Random(1)
    results: dict[tuple[str, bool], list[float]] = {(name, r): [] for name in pages for r in (True, False)}
    sql: dict[tuple[str, bool], list[str]] = {}
    for _ in range(args.requests):
        for name, url in pages.items():
            order = [True, False]
            rng.shuffle(order)
            for record in order:
                elapsed, stmts = timed(url, record)
                results[(name, record)].append(elapsed)
                sql[(name, record)] = stmts
    identity_access._queue = real_queue

    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(IdentityView))

    print(f"identity view record, {dialect}, {args.requests} requests per page and variant, reviewer1, test client")
    print(f"{'page':34} {'variant':9} {'median ms':>10} {'p90 ms':>8}  SQL statements per request")
    for name in pages:
        medians = {}
        for record in (False, True):
            times = sorted(results[(name, record)])
            medians[record] = statistics.median(times) * 1000
            p90 = times[int(len(times) * 0.9)] * 1000
            counts: dict[str, int] = {}
            for s in sql[(name, record)]:
                counts[s] = counts.get(s, 0) + 1
            label = "recorded" if record else "baseline"
            print(f"{name:34} {label:9} {medians[record]:10.2f} {p90:8.2f}  {counts}")
        added = medians[True] - medians[False]
        print(f"{'':34} {'added':9} {added:10.2f} ms ({added / medians[False] * 100:+.1f} %)")
    print(f"rows written: {rows} (expected {args.requests * len(pages) + len(pages)})")


if __name__ == "__main__":
    main()
