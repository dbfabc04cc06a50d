"""The query terminal on a book of a million loans: reports, dashboard, search and exports.

Run from the repository root:

    nice -n 10 .venv/bin/python bench/query_terminal.py [--loans 1000000] [--repeat 5] [--only par,search]
                                                        [--database-url URL] [--cache-dir /tmp/ddt/bench]

The book is built once and kept: a SQLite file ``<cache-dir>/qt-g<GENERATOR>-<loans>.sqlite3`` (or,
with ``--database-url``, a MySQL/MariaDB database ``qt_g<GENERATOR>_<loans>`` on that server), reused
by every later run while ``GENERATOR`` (below) is unchanged; ``--rebuild`` builds it again. On every
run the app's migrations are applied to it first (``flask db upgrade``), so a migration that lands
later (an index) is built on the kept book, timed, and then measured. MariaDB's test server script
deletes its data on exit; to keep the book, run a server with a fixed data directory (see
docs/MEASUREMENTS.md, "Query terminal").

The book (same seed, same rows): a head office, 4 branches, 20 local offices, 10 officers and a
director each; 3 products; N borrowers (Chinese names from common surnames, 18-digit ID numbers
with a valid check digit, mobiles, 2,000 villages) and N loans of 12 monthly installments as
bench/daily_job.py makes them (85 % current, 10 % 1-31 days late, 5 % long overdue: every PAR
bucket and class), each with a contract number; one repayment per loan for its latest settled
installment; the application of each loan with its transitions captured -> director -> entry ->
L1 (-> L2) -> disbursement, plus 3 % more applications still in the pipeline; a LoanSnapshot per
loan at each of the 12 last month openings and PortfolioSnapshot rows for every day of the last
year (the month openings computed, the days between copied from the opening before them: the
volume the daily job leaves, not their exact figures).

Measured, each beside its naive way in the same run (median and 95th percentile of ``--repeat``
warm runs, in this process; the export in a spawned child whose peak RSS is its own):
- the loans page's PAR card (``app.services.portfolio.par``) for HQ, a director and an officer,
  against an ORM loop over every active loan and its installments;
- each registered report (``app.services.reporting``) that this checkout has, for HQ and a director;
  the naive way is the same report recomputed from every loan in Python where it is a portfolio
  figure;
- the dashboard's service, when it exists;
- search: ``app.services.search`` when it exists, else the search-like query the page needs (name
  prefix, last 6 digits of the ID number, mobile, contract number, village), p95 over many terms,
  against a LIKE '%…%' scan;
- a 1,000,000-row XLSX export streamed through ``app.services.exports.write`` (when it exists, else
  openpyxl write_only directly) in a child process: its wall time and peak RSS (VmHWM), against
  building the same rows as a list and a normal workbook (at 100,000 rows, extrapolated).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
for p in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# Bump when the generated rows change: a kept book of another version is not reused.
GENERATOR = 1
CHUNK = 10_000
DAY = date(2026, 6, 15)  # the business day the book stands at (its evening before)
CREATED = "2026-01-01 00:00:00.000000"
TERM = 12
OFFICES = 20               # local offices, ids 6..25, under branches 2..5, under head office 1
OFFICERS_PER_OFFICE = 10   # officer ids 100.., directors 10..29
PRODUCTS = 3
VILLAGES = 2_000
PIPELINE_SHARE = 0.03
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志强红梅海燕德福春花文斌金凤小红永生桂芳"
CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, d.day)


def month_openings(day: date) -> list[date]:
    first = day.replace(day=1)
    return [add_months(first, -k) for k in range(11, -1, -1)]


def id_number(rng: random.Random) -> str:
    region = f"{rng.choice((430, 431, 433, 450, 451, 452, 520, 522, 530, 532))}{rng.randrange(100, 1000):03d}"
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 42))
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + CHECK_CHARS[sum(int(c) * w for c, w in zip(body, CHECK_WEIGHTS)) % 11]


def village_name(k: int) -> str:
    a = "东西南北上下前后大小新老高低长青石河山"
    b = "坪坝湾沟岭冲塘桥寨堡庄岗"
    return f"{a[k % len(a)]}{a[(k // len(a)) % len(a)]}{b[(k // len(a) ** 2) % len(b)]}{k % 7 or ''}村"


# --- where the kept book lives ------------------------------------------------------------------


def book_url(args) -> str:
    from sqlalchemy import create_engine, make_url, text

    if not args.database_url:
        Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{Path(args.cache_dir) / f'qt-g{GENERATOR}-{args.loans}.sqlite3'}"
    base = make_url(args.database_url)
    name = f"qt_g{GENERATOR}_{args.loans}"
    server = create_engine(base.set(database=""))
    with server.begin() as conn:
        if args.rebuild:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def built(engine) -> bool:
    from sqlalchemy import inspect, text

    if "bench_generated" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM bench_generated")).scalar() == GENERATOR


def open_app(url: str, tmp: Path):
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestConfig
    from app.extensions import db

    app = create_app(TestConfig(url, tmp / "photos"))
    logging.disable(logging.INFO)
    try:
        with app.app_context():
            t0 = time.perf_counter()
            upgrade()
            spent = time.perf_counter() - t0
            db.engine.dispose()
    finally:
        logging.disable(logging.NOTSET)
    if spent > 1:
        log(f"migrations applied to the kept book in {spent:.1f} s")
    with app.app_context():
        for index, seconds in create_missing_indexes(db.engine):
            log(f"index {index} of the models missing from the kept book (its migration changed after the book was "
                f"built): created in {seconds:.1f} s")
        db.engine.dispose()
    return app


def model_indexes() -> dict:
    from app.extensions import db

    return {index.name: index for table in db.metadata.sorted_tables for index in table.indexes}


def create_missing_indexes(engine, only: set[str] | None = None) -> list[tuple[str, float]]:
    """Create each index the models declare that the database lacks; (name, seconds) of each."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    present = {table: {i["name"] for i in inspector.get_indexes(table)} for table in inspector.get_table_names()}
    made = []
    for name, index in model_indexes().items():
        if name in present.get(index.table.name, set()) or (only is not None and name not in only):
            continue
        t0 = time.perf_counter()
        index.create(bind=engine)
        made.append((name, time.perf_counter() - t0))
    if made and engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return made


def drop_indexes(engine, names: set[str]) -> None:
    from sqlalchemy import inspect

    inspector = inspect(engine)
    indexes = model_indexes()
    for name in sorted(names):
        index = indexes.get(name)
        if index is None:
            raise SystemExit(f"--compare-indexes: no index {name} in the models")
        if name in {i["name"] for i in inspector.get_indexes(index.table.name)}:
            index.drop(bind=engine)


# --- the generator -------------------------------------------------------------------------------


BORROWER_COLS = ("id", "uuid", "name", "id_number", "sex", "birth_date", "phone", "village", "township", "county",
                 "address", "household_key", "related_party", "sms_opt_out", "office_id", "officer_id", "created_at")
APPLICATION_COLS = ("id", "uuid", "borrower_id", "product_id", "officer_id", "office_id", "amount", "term_months",
                    "purpose", "state", "version", "gps_note", "needs_l2", "needs_special", "routing_reasons",
                    "entry_data", "manifest_sha256", "captured_at", "created_at", "updated_at")
LOAN_COLS = ("id", "application_id", "borrower_id", "product_id", "officer_id", "office_id", "principal",
             "annual_rate", "repayment_method", "frequency", "day_count", "penalty_rate", "allocation_order",
             "term_months", "disbursed_on", "maturity_date", "channel", "reference", "disbursed_by_id", "status",
             "days_past_due", "accrued_through", "closed_on", "classification", "version", "created_at",
             "contract_no")
INSTALLMENT_COLS = ("id", "loan_id", "seq", "due_date", "principal_due", "interest_due", "principal_paid",
                    "interest_paid", "penalty_accrued", "penalty_paid", "penalty_basis", "paid_off_on")
REPAYMENT_COLS = ("id", "loan_id", "amount", "paid_on", "channel", "reference", "recorded_by_id", "recorded_at",
                  "reversal_reason", "allocation", "receipt_sha256")
TRANSITION_COLS = ("id", "application_id", "event", "from_state", "to_state", "actor_id", "at", "comment")
LOAN_SNAPSHOT_COLS = ("day", "loan_id", "office_id", "officer_id", "product_id", "classification", "days_past_due",
                      "outstanding_principal_fen")
PORTFOLIO_SNAPSHOT_COLS = ("day", "office_id", "officer_id", "product_id", "classification", "dpd_bucket", "loans",
                           "outstanding_principal_fen", "overdue_principal_fen", "overdue_interest_fen",
                           "penalty_outstanding_fen")
PIPELINE_STATES = ("uploading", "awaiting_director", "awaiting_entry", "awaiting_l1", "awaiting_l2",
                   "awaiting_special", "awaiting_disbursement", "rejected", "withdrawn")
STEPS = (("photos_complete", "uploading", "awaiting_director", "officer"),
         ("director_approve", "awaiting_director", "awaiting_entry", "director"),
         ("entry_complete", "awaiting_entry", "awaiting_l1", 3),
         ("l1_pass", "awaiting_l1", "awaiting_l2", 4),
         ("l2_pass", "awaiting_l2", "awaiting_special", 5),
         ("special_pass", "awaiting_special", "awaiting_disbursement", 6),
         ("disburse", "awaiting_disbursement", "disbursed", 2))


def org_rows(db):
    from decimal import Decimal

    from app.models import Office, Product, User, UserRole

    offices = [Office(id=1, code="HQ", name="总行", kind="head_office", is_hq=True)]
    offices += [Office(id=b, code=f"BR{b:02d}", name=f"第{b - 1}分行", kind="branch", parent_id=1) for b in range(2, 6)]
    offices += [Office(id=o, code=f"OF{o:02d}", name=f"第{o - 5}网点", kind="office", parent_id=2 + (o - 6) % 4)
                for o in range(6, 6 + OFFICES)]
    users = []
    for uid, name, role, office in ((1, "bench_admin", "admin", 1), (2, "bench_cashier", "cashier", 1),
                                    (3, "bench_clerk", "clerk", 1), (4, "bench_l1", "reviewer1", 1),
                                    (5, "bench_l2", "reviewer2", 1), (6, "bench_special", "special_reviewer", 1),
                                    (7, "bench_auditor", "auditor", 1)):
        users.append((uid, name, role, office))
    for o in range(6, 6 + OFFICES):
        users.append((10 + o - 6, f"bench_director{o}", "director", o))
        for k in range(OFFICERS_PER_OFFICE):
            users.append((100 + (o - 6) * OFFICERS_PER_OFFICE + k, f"bench_officer{o}_{k}", "officer", o))
    db.session.add_all(offices[:1])
    db.session.flush()
    db.session.add_all(offices[1:5])
    db.session.flush()
    db.session.add_all(offices[5:])
    db.session.flush()
    for uid, name, role, office in users:
        u = User(id=uid, username=name, full_name=name, password_hash="x", office_id=office)
        u.role_rows = [UserRole(role=role)]
        db.session.add(u)
    for p in range(1, PRODUCTS + 1):
        db.session.add(Product(
            id=p, code=f"P{p}", name=f"产品{p}", repayment_method="equal_principal",
            annual_rate=Decimal("0.096"), min_rate=Decimal("0.05"), max_rate=Decimal("0.24"),
            penalty_rate=Decimal("0.144"), min_amount=Decimal("1000"), max_amount=Decimal("50000"),
            min_term_months=TERM, max_term_months=TERM))
    db.session.commit()


def generate(app, n: int, seed: int) -> None:
    from daily_job import Book, _loan_rows

    from app.domain.repayment import classify
    from app.extensions import db

    started = time.perf_counter()
    openings = month_openings(DAY)
    with app.app_context():
        org_rows(db)
        engine = db.engine
        mysql = engine.dialect.name == "mysql"
        mark = "%s" if mysql else "?"

        def sql(table: str, cols: tuple[str, ...]) -> str:
            return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"

        inserts = {t: sql(t, c) for t, c in (
            ("borrowers", BORROWER_COLS), ("applications", APPLICATION_COLS), ("loans", LOAN_COLS),
            ("installments", INSTALLMENT_COLS), ("repayments", REPAYMENT_COLS), ("transitions", TRANSITION_COLS),
            ("loan_snapshots", LOAN_SNAPSHOT_COLS), ("portfolio_snapshots", PORTFOLIO_SNAPSHOT_COLS))}
        isos: dict[date, str] = {}

        def iso(d: date) -> str:
            s = isos.get(d)
            if s is None:
                s = isos[d] = d.isoformat()
            return s

        rng = random.Random(seed)
        book = Book(loans=n, installments=n * TERM)
        villages = [village_name(k) for k in range(VILLAGES)]
        seen_ids: set[str] = set()
        seen_phones: set[str] = set()
        next_app = n + 1
        contract_seq: dict[tuple[int, int], int] = {}
        next_transition = 1
        next_repayment = 1
        with engine.connect() as conn:
            if mysql:
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            else:
                conn.exec_driver_sql("PRAGMA synchronous = OFF")
            conn.commit()
            for lo in range(1, n + 1, CHUNK):
                hi = min(lo + CHUNK, n + 1)
                rows: dict[str, list] = {t: [] for t in inserts}
                for i in range(lo, hi):
                    loan, inst = _loan_rows(i, rng, DAY, iso, book, classify)
                    loan = list(loan)
                    officer = 100 + rng.randrange(OFFICES * OFFICERS_PER_OFFICE)
                    office = 6 + (officer - 100) // OFFICERS_PER_OFFICE
                    product = 1 + rng.randrange(PRODUCTS)
                    loan[3], loan[4], loan[5], loan[18] = product, officer, office, 2
                    disbursed = date.fromisoformat(loan[14])
                    # The app's contract number: office code - year - that office's sequence in the year.
                    seq = contract_seq[(office, disbursed.year)] = contract_seq.get((office, disbursed.year), 0) + 1
                    loan.append(f"OF{office:02d}-{disbursed.year}-{seq:05d}")
                    rows["loans"].append(tuple(loan))
                    rows["installments"].extend(inst)
                    while (idn := id_number(rng)) in seen_ids:
                        pass
                    seen_ids.add(idn)
                    while (phone := f"1{rng.choice('3578')}{rng.randrange(10**9):09d}") in seen_phones:
                        pass
                    seen_phones.add(phone)
                    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
                    v = rng.randrange(VILLAGES)
                    rows["borrowers"].append((
                        i, f"00000000-0000-4000-8000-{i:012d}", name, idn, "M" if int(idn[16]) % 2 else "F",
                        f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}", phone, villages[v], f"{v // 20}乡", "基准县",
                        "", f"H{i}", 0, 0, office, officer, CREATED))
                    captured = datetime.combine(disbursed, datetime.min.time()) - timedelta(
                        hours=rng.randrange(48, 24 * 30))
                    stamp = captured.strftime("%Y-%m-%d %H:%M:%S.000000")
                    rows["applications"].append((
                        i, f"00000000-0000-4000-9000-{i:012d}", i, product, officer, office, loan[6], TERM, "",
                        "disbursed", 1, "", 0, 0, "[]", "{}", "", stamp, stamp, stamp))
                    at = captured
                    needs_l2 = rng.random() < 0.3
                    needs_special = needs_l2 and rng.random() < 0.2
                    for event, frm, to, actor in STEPS:
                        if event == "l1_pass" and not needs_l2:
                            to = "awaiting_disbursement"
                        if event == "l2_pass" and not needs_l2:
                            continue
                        if event == "l2_pass" and not needs_special:
                            to = "awaiting_disbursement"
                        if event == "special_pass" and not needs_special:
                            continue
                        at = at + timedelta(minutes=rng.randrange(5, 60 * 36))
                        who = officer if actor == "officer" else 10 + office - 6 if actor == "director" else actor
                        rows["transitions"].append((next_transition, i, event, frm, to, who,
                                                    at.strftime("%Y-%m-%d %H:%M:%S.000000"), ""))
                        next_transition += 1
                    # The latest settled installment's repayment.
                    paid = [r for r in inst if r[11] is not None]
                    if paid:
                        last = paid[-1]
                        rows["repayments"].append((
                            next_repayment, i, last[6] + last[7], last[11], "cash", f"R{i}-{last[2]}", officer,
                            f"{last[11]} 09:00:00.000000", "", "{}", ""))
                        next_repayment += 1
                    # Month openings: what the loan was then (settled = paid off before the opening).
                    for m in openings:
                        if disbursed >= m:
                            continue
                        mi = iso(m)
                        out = 0
                        oldest = None
                        for r in inst:
                            if r[11] is not None and r[11] < mi:
                                continue
                            out += r[4] - (r[6] if r[11] is None else 0)
                            if r[3] < mi and oldest is None:
                                oldest = r[3]
                        if out <= 0:
                            continue
                        dpd = (m - date.fromisoformat(oldest)).days if oldest else 0
                        klass = classify(dpd)
                        rows["loan_snapshots"].append((mi, i, office, officer, product, klass, dpd, out))
                # Applications still in the pipeline: about 3 % more, for existing borrowers.
                for _ in range(int((hi - lo) * PIPELINE_SHARE)):
                    b = rng.randrange(lo, hi)
                    officer = 100 + rng.randrange(OFFICES * OFFICERS_PER_OFFICE)
                    office = 6 + (officer - 100) // OFFICERS_PER_OFFICE
                    state = rng.choice(PIPELINE_STATES)
                    captured = datetime.combine(DAY, datetime.min.time()) - timedelta(hours=rng.randrange(2, 24 * 40))
                    stamp = captured.strftime("%Y-%m-%d %H:%M:%S.000000")
                    rows["applications"].append((
                        next_app, f"00000000-0000-4000-a000-{next_app:012d}", b, 1 + rng.randrange(PRODUCTS), officer,
                        office, rng.randrange(1_000, 50_001, 100) * 100, TERM, "", state, 1, "", 0, 0, "[]", "{}",
                        "", stamp, stamp, stamp))
                    at = captured
                    for event, frm, to, actor in STEPS:
                        if frm == state or state in ("rejected", "withdrawn") and rng.random() < 0.4:
                            break
                        at = at + timedelta(minutes=rng.randrange(5, 60 * 36))
                        who = officer if actor == "officer" else 10 + office - 6 if actor == "director" else actor
                        rows["transitions"].append((next_transition, next_app, event, frm, to, who,
                                                    at.strftime("%Y-%m-%d %H:%M:%S.000000"), ""))
                        next_transition += 1
                    next_app += 1
                with conn.begin():
                    for table in ("borrowers", "applications", "loans", "installments", "repayments",
                                  "transitions", "loan_snapshots"):
                        conn.exec_driver_sql(inserts[table], rows[table])
                if (hi - 1) % 100_000 == 0 or hi == n + 1:
                    log(f"  {hi - 1:,} loans ({time.perf_counter() - started:.0f} s)")
            finish(conn, n, seed)
        db.engine.dispose()
    log(f"generated {n:,} loans in {time.perf_counter() - started:.0f} s: {book.profiles}, "
        f"{next_app - 1:,} applications, {next_transition - 1:,} transitions, {next_repayment - 1:,} repayments")


def finish(conn, n: int, seed: int = 1) -> None:
    """Portfolio snapshots for every day of the last year from the loaded loan snapshots and
    installments: each month opening grouped in SQL, the days after it copied from it until the next
    one; then the statistics. Also completes a book whose load was stopped after a chunk."""
    from app.domain.portfolio import DPD_BUCKETS

    mysql = conn.dialect.name == "mysql"
    whens = " ".join(f"WHEN s.days_past_due <= {last} THEN {i}" for i, (_f, last) in enumerate(DPD_BUCKETS)
                     if last is not None)
    bucket = f"CASE {whens} ELSE {len(DPD_BUCKETS) - 1} END"
    openings = month_openings(DAY)
    t0 = time.perf_counter()
    with conn.begin():
        conn.exec_driver_sql("DELETE FROM portfolio_snapshots")
        for m in openings:
            mi = m.isoformat()
            unpaid = f"(i.paid_off_on IS NULL OR i.paid_off_on >= '{mi}')"
            left_p = "i.principal_due - CASE WHEN i.paid_off_on IS NULL THEN i.principal_paid ELSE 0 END"
            left_i = "i.interest_due - CASE WHEN i.paid_off_on IS NULL THEN i.interest_paid ELSE 0 END"
            conn.exec_driver_sql(
                f"INSERT INTO portfolio_snapshots (day, office_id, officer_id, product_id, classification, dpd_bucket, "
                f"loans, outstanding_principal_fen, overdue_principal_fen, overdue_interest_fen, "
                f"penalty_outstanding_fen) "
                f"SELECT s.day, s.office_id, s.officer_id, s.product_id, s.classification, {bucket}, COUNT(*), "
                f"SUM(s.outstanding_principal_fen), SUM(x.op), SUM(x.oi), 0 FROM loan_snapshots s JOIN ("
                f"SELECT i.loan_id, SUM(CASE WHEN i.due_date < '{mi}' AND {unpaid} THEN {left_p} ELSE 0 END) op, "
                f"SUM(CASE WHEN i.due_date < '{mi}' AND {unpaid} THEN {left_i} ELSE 0 END) oi "
                f"FROM installments i JOIN loan_snapshots s2 ON s2.loan_id = i.loan_id AND s2.day = '{mi}' "
                f"GROUP BY i.loan_id) x ON x.loan_id = s.loan_id "
                f"WHERE s.day = '{mi}' GROUP BY s.day, s.office_id, s.officer_id, s.product_id, s.classification, "
                f"{bucket}")
        d = openings[0] + timedelta(days=1)
        cols = ("office_id, officer_id, product_id, classification, dpd_bucket, loans, outstanding_principal_fen, "
                "overdue_principal_fen, overdue_interest_fen, penalty_outstanding_fen")
        while d < DAY:
            if d not in openings:
                src = max(m for m in openings if m <= d)
                conn.exec_driver_sql(f"INSERT INTO portfolio_snapshots (day, {cols}) SELECT '{d.isoformat()}', "
                                     f"{cols} FROM portfolio_snapshots WHERE day = '{src.isoformat()}'")
            d += timedelta(days=1)
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_generated")
        conn.exec_driver_sql("CREATE TABLE bench_generated (version INTEGER, loans INTEGER, seed INTEGER)")
        conn.exec_driver_sql(f"INSERT INTO bench_generated VALUES ({GENERATOR}, {n}, {seed})")
    log(f"portfolio snapshots in {time.perf_counter() - t0:.0f} s")
    if mysql:
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 1, unique_checks = 1")
        conn.exec_driver_sql("ANALYZE TABLE borrowers, applications, loans, installments, repayments, "
                             "transitions, loan_snapshots, portfolio_snapshots")
    else:
        conn.exec_driver_sql("ANALYZE")
    conn.commit()


# --- measuring ---------------------------------------------------------------------------------


def freeze_clock() -> None:
    """The app's one clock at noon of DAY, Beijing time: "today" is the day the book stands at."""
    from datetime import timezone

    from app import clock

    moment = datetime(DAY.year, DAY.month, DAY.day, 4, 0, tzinfo=timezone.utc)
    clock.now = lambda: moment


@dataclass
class Timed:
    label: str
    times: list[float]
    note: str = ""
    cpu: list[float] | None = None  # this process's CPU seconds of each run (SQLite's work is in it)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        s = sorted(self.times)
        return s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]

    def line(self) -> str:
        cpu = f"  cpu median {statistics.median(self.cpu) * 1000:9.1f} ms" if self.cpu else ""
        return (f"  {self.label:<58} median {self.median * 1000:9.1f} ms  p95 {self.p95 * 1000:9.1f} ms  "
                f"max {max(self.times) * 1000:9.1f} ms{cpu}  (n={len(self.times)})"
                f"{'  ' + self.note if self.note else ''}")


def timed(label: str, fn: Callable[[], Any], repeat: int, warm: int = 1, note: str = "") -> Timed:
    from app.extensions import db

    for _ in range(warm):
        fn()
        db.session.rollback()
    times, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        db.session.rollback()
    t = Timed(label, times, note, cpu)
    print(t.line(), flush=True)
    return t


class Explainer:
    """Collects the statements sent while ``on`` and prints their plans."""

    def __init__(self, engine, enabled: bool) -> None:
        from sqlalchemy import event

        self.enabled, self.on, self.seen = enabled, False, []
        self.slow_only = True  # plans of the reports and dashboard only when they miss their goal
        if enabled:
            event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, _conn, _cursor, statement, parameters, _context, _executemany) -> None:
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def run(self, label: str, fn: Callable[[], Any]) -> None:
        if not self.enabled:
            return
        from app.extensions import db

        self.seen, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        db.session.rollback()
        conn = db.session.connection()
        prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        print(f"    plans of {label}:")
        for statement, params in self.seen:
            print("      " + " ".join(statement.split())[:300])
            for row in conn.exec_driver_sql(prefix + statement, params).all():
                print("        " + " | ".join("" if v is None else str(v) for v in row))
        db.session.rollback()


def viewers():
    from app.extensions import db
    from app.models import User

    return {"HQ (reviewer1)": db.session.get(User, 4), "director (office OF06)": db.session.get(User, 10),
            "officer": db.session.get(User, 100)}


def optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        print(f"  ({module} not importable here: {exc})")
        return None


def naive_portfolio(limit: int) -> dict:
    """The naive way: every active loan with its installments through the ORM, figures in Python."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from app.domain.portfolio import bucket_of
    from app.extensions import db
    from app.models import Loan

    buckets: dict[tuple, list] = {}
    last, seen = 0, 0
    while seen < limit:
        batch = db.session.scalars(
            select(Loan).where(Loan.status == "active", Loan.id > last).order_by(Loan.id)
            .limit(min(1000, limit - seen)).options(selectinload(Loan.installments))).all()
        if not batch:
            break
        for loan in batch:
            out = sum((i.principal_due - i.principal_paid for i in loan.installments), 0)
            key = (loan.office_id, loan.classification, bucket_of(loan.days_past_due))
            b = buckets.setdefault(key, [0, 0])
            b[0] += 1
            b[1] += out
        seen += len(batch)
        last = batch[-1].id
        db.session.expunge_all()
    return {"loans": seen, "groups": len(buckets)}


def measure_par(args, results: list, explainer: Explainer) -> None:
    from app.services import portfolio

    print("PAR card of the loans page (app.services.portfolio.par):")
    for label, user in viewers().items():
        results.append(timed(f"portfolio.par, {label}", lambda: portfolio.par(user), args.repeat, warm=args.warm))
    explainer.run("portfolio.par (HQ)", lambda: portfolio.par(viewers()["HQ (reviewer1)"]))
    if not args.no_naive:
        naive_loop(args, results)


def naive_loop(args, results: list) -> None:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Loan

    total = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.status == "active"))
    n = min(args.naive_limit, total)
    c0, t0 = time.process_time(), time.perf_counter()
    naive_portfolio(n)
    spent, cpu = time.perf_counter() - t0, time.process_time() - c0
    est = spent / n * total
    note = "" if n == total else f"  EXTRAPOLATED from {n:,} loans (linear): ~{est:.0f} s for {total:,}"
    print(f"  naive: ORM loop over active loans + installments, PAR/class by office in Python: {spent:.1f} s "
          f"(cpu {cpu:.1f} s) for {n:,} loans ({spent / n * 1e6:.0f} us/loan){note}", flush=True)
    results.append(Timed(f"naive ORM loop over {total:,} loans" + (" (extrapolated)" if n < total else ""), [est]))


def report_requests(name: str, spec) -> list[tuple[str, dict]]:
    raws = [("today", {}), ("today by office", {"by": "office"})]
    if getattr(spec, "period", False):
        raws = [("last month", {"from": "2026-05-01", "to": "2026-05-31"}),
                ("last month by office", {"from": "2026-05-01", "to": "2026-05-31", "by": "office"})]
    else:
        raws.append(("as of 2026-05-01", {"as_of": "2026-05-01"}))
    if name == "classification":
        raws.append(("migration 2026-05-01 -> today", {"from": "2026-05-01", "to": DAY.isoformat()}))
    return raws


def measure_reports(args, results: list, explainer: Explainer) -> None:
    reporting = optional("app.services.reporting")
    if reporting is None:
        return
    reporting._load_builders()
    specs = reporting.specs()
    print(f"reports registered in this checkout: {', '.join(s.name for s in specs) or 'none'}")
    wanted = {s.strip() for s in args.reports.split(",") if s.strip()}
    specs = [s for s in specs if not wanted or s.name in wanted]
    who = viewers()
    for spec in specs:
        for what, raw in report_requests(spec.name, spec):
            for label in ("HQ (reviewer1)", "director (office OF06)"):
                user = who[label]
                try:
                    request = reporting.parse(spec.name, {k: str(v) for k, v in raw.items()}, viewer=user, today=DAY)
                except Exception as exc:  # noqa: BLE001 — a refusal is reported, not timed
                    print(f"  {spec.name} {what}, {label}: refused: {exc}")
                    continue
                count = [0]

                def run(request=request, user=user):
                    report = reporting.run(user, request)
                    count[0] = sum(1 for _ in report.rows)
                try:
                    t = timed(f"{spec.name} {what}, {label}", run, max(1, args.repeat // 2), warm=args.warm)
                except Exception as exc:  # noqa: BLE001
                    from app.extensions import db
                    db.session.rollback()
                    print(f"  {spec.name} {what}, {label}: FAILED: {type(exc).__name__}: {exc}")
                    continue
                t.note = f"{count[0]:,} rows"
                results.append(t)
                if t.median > 2.0 or not explainer.slow_only:
                    explainer.run(f"{spec.name} {what}", run)


def measure_dashboard(args, results: list, explainer: Explainer) -> None:
    dashboard = optional("app.services.dashboard")
    if dashboard is None:
        return
    print("dashboard (app.services.dashboard.build):")
    for label, user in viewers().items():
        if not dashboard.shows_dashboard(user):
            continue
        try:
            t = timed(f"dashboard.build, {label}", lambda user=user: dashboard.build(user, DAY), args.repeat,
                      warm=args.warm)
        except Exception as exc:  # noqa: BLE001
            from app.extensions import db
            db.session.rollback()
            print(f"  dashboard, {label}: FAILED: {type(exc).__name__}: {exc}")
            continue
        results.append(t)
        if t.median > 1.0 or not explainer.slow_only:
            explainer.run(f"dashboard {label}", lambda user=user: dashboard.build(user, DAY))
    if not args.no_naive:
        naive_dashboard(results)


def naive_dashboard(results: list) -> None:
    """The 12 month-opening positions recomputed from the installments (no snapshots), once."""
    from app.extensions import db

    c0, t0 = time.process_time(), time.perf_counter()
    for m in month_openings(DAY):
        db.session.execute(db.text(
            "SELECT COUNT(DISTINCT i.loan_id), SUM(i.principal_due - CASE WHEN i.paid_off_on IS NULL "
            "THEN i.principal_paid ELSE 0 END) FROM installments i JOIN loans l ON l.id = i.loan_id "
            "WHERE l.disbursed_on < :m AND (i.paid_off_on IS NULL OR i.paid_off_on >= :m)"), {"m": m}).all()
    spent, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  naive: the 12 month openings' outstanding recomputed from the installments (SQL, no snapshots): "
          f"{spent:.1f} s (cpu {cpu:.1f} s, once)", flush=True)
    results.append(Timed("naive dashboard positions recomputed", [spent]))
    db.session.rollback()


def search_terms(rng: random.Random, n: int) -> list[tuple[str, str]]:
    from app.extensions import db

    total = db.session.scalar(db.text("SELECT MAX(id) FROM borrowers"))
    picks = []
    for _ in range(n):
        bid = rng.randrange(1, total + 1)
        name, idn, phone, village = db.session.execute(db.text(
            "SELECT name, id_number, phone, village FROM borrowers WHERE id = :i"), {"i": bid}).one()
        contract = db.session.scalar(db.text("SELECT contract_no FROM loans WHERE borrower_id = :i"), {"i": bid})
        picks += [("name (full)", name), ("name (surname + 1)", name[:2]), ("ID number", idn),
                  ("ID last 6", idn[-6:]), ("mobile", phone), ("village", village)]
        if contract:
            picks.append(("loan number", contract))
    db.session.rollback()
    return picks


def like_search(user, q: str) -> list:
    """The search the query terminal replaces (borrowers.search before issue 14): name, ID number or
    village containing q, 50 rows by name, scoped; kept here since the app's own has changed."""
    from sqlalchemy import or_, select

    from app.extensions import db
    from app.models import Borrower
    from app.services.scope import scope_clause

    like = f"%{q}%"
    return list(db.session.scalars(
        select(Borrower).where(scope_clause(user, Borrower))
        .where(or_(Borrower.name.like(like), Borrower.id_number.like(like), Borrower.village.like(like)))
        .order_by(Borrower.name, Borrower.id).limit(50)))


def measure_search(args, results: list, explainer: Explainer) -> None:
    search = optional("app.services.search")
    rng = random.Random(7)
    terms = search_terms(rng, max(20, args.repeat * 8))
    print(f"search: {len(terms)} terms ({len({k for k, _ in terms})} kinds) per viewer, each run once (cold terms)")
    for label, user in viewers().items():
        if search is not None:
            kinds: dict[str, list[float]] = {}
            cpus: list[float] = []
            for kind, q in terms:
                try:
                    c0, t0 = time.process_time(), time.perf_counter()
                    search.run(user, search.parse({"q": q}, user))
                    kinds.setdefault(kind, []).append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                except Exception as exc:  # noqa: BLE001
                    from app.extensions import db
                    db.session.rollback()
                    print(f"  search {kind} {q!r}, {label}: {type(exc).__name__}: {exc}")
                    break
            every = [x for v in kinds.values() for x in v]
            if every:
                t = Timed(f"search.run (one page), {label}, all kinds", every, cpu=cpus)
                print(t.line())
                results.append(t)
                for kind, v in sorted(kinds.items()):
                    print("  " + Timed(f"  {kind}", v).line())
        base = []
        for kind, q in ([] if args.no_naive else terms[: max(10, len(terms) // 4)]):
            t0 = time.perf_counter()
            like_search(user, q)
            base.append(time.perf_counter() - t0)
        if base:
            t = Timed(f"naive: LIKE '%q%' on name, ID number, village, {label}", base)
            print(t.line(), flush=True)
            results.append(t)
    if search is not None:
        hq = viewers()["HQ (reviewer1)"]
        for kind, q in {k: q for k, q in terms}.items():
            explainer.run(f"search {kind}", lambda q=q: search.run(hq, search.parse({"q": q}, hq)))


# --- the export, in a child process ---------------------------------------------------------------


def _export_child(pipe, url: str, tmp: str, rows: int, how: str, extra_path: str = "") -> None:
    try:
        os.environ["INSTANCE_DIR"] = tmp
        if extra_path:  # e.g. lxml installed apart: openpyxl writes through it when it is importable
            sys.path.insert(0, extra_path)
        from sqlalchemy import select

        from app import create_app
        from app.config import TestConfig
        from app.extensions import db
        from app.models import Borrower, Installment, Loan
        from app.services import reporting

        app = create_app(TestConfig(url, Path(tmp) / "photos"))
        freeze_clock()
        out = Path(tmp) / f"export-{how}.xlsx"
        with app.app_context():
            before = _vm("VmRSS:")
            t0 = time.perf_counter()
            # The schedule of every loan with its borrower: a list with personal columns, a million
            # rows from a book of 84,000 loans up (12 installments each).
            q = (select(Loan.contract_no, Borrower.name, Borrower.phone, Borrower.village, Installment.due_date,
                        Installment.principal_due, Installment.interest_due, Loan.days_past_due, Loan.classification)
                 .join(Loan, Loan.id == Installment.loan_id).join(Borrower, Borrower.id == Loan.borrower_id)
                 .order_by(Installment.id).limit(rows))
            columns = [reporting.Column("contract_no", "Loan number"), reporting.Column("name", "Name", personal=True),
                       reporting.Column("phone", "Mobile", personal=True),
                       reporting.Column("village", "Village", personal=True),
                       reporting.Column("due_date", "Due date", "date"),
                       reporting.Column("principal_due", "Principal", "money"),
                       reporting.Column("interest_due", "Interest", "money"),
                       reporting.Column("days_past_due", "Days past due", "days"),
                       reporting.Column("classification", "Class")]
            keys = [c.key for c in columns]

            def stream():
                result = db.session.execute(q.execution_options(yield_per=2_000))
                for part in result.partitions():
                    for r in part:
                        yield dict(zip(keys, r))

            request = reporting.ReportRequest(name="loans", as_of=DAY)
            if how == "stream":
                from app.services import exports
                report = exports.list_report("loans", "Loans", request, columns, stream())
                written = exports.write(report, "xlsx", out)
            else:  # the naive way: every row in a list, then an ordinary (not write-only) workbook
                from openpyxl import Workbook
                everything = [dict(zip(keys, r)) for r in db.session.execute(q).all()]
                wb = Workbook()
                ws = wb.active
                ws.append(keys)
                for r in everything:
                    ws.append([r[k] for k in keys])
                wb.save(out)
                written = len(everything)
            seconds = time.perf_counter() - t0
        cpu = time.process_time()
        from openpyxl.xml import LXML
        pipe.send({"rows": written, "seconds": seconds, "rss_before": before, "peak": _vm("VmHWM:"),
                   "bytes": out.stat().st_size, "lxml": LXML,
                   "cpu": cpu})
        out.unlink()
    except BaseException as exc:  # noqa: BLE001
        import traceback
        pipe.send(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        pipe.close()


def _vm(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def export_in_child(url: str, tmp: Path, rows: int, how: str, extra_path: str = ""):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_export_child, args=(there, url, str(tmp), rows, how, extra_path), daemon=True)
    child.start()
    there.close()
    try:
        answer = here.recv()
    except EOFError:
        answer = "the export process died"
    child.join()
    return answer


def measure_export(args, url: str, tmp: Path, results: list) -> None:
    print(f"XLSX export of {args.export_rows:,} schedule rows (9 columns: loan, borrower, installment), each in a "
          f"spawned process:")
    for extra in ("", args.lxml_path):
        if extra is None:
            continue
        got = export_in_child(url, tmp, args.export_rows, "stream", extra or "")
        if isinstance(got, str):
            print(f"  streamed (exports.write): FAILED: {got.strip().splitlines()[-1]}")
            continue
        how = "openpyxl on lxml" if got["lxml"] else "openpyxl on its pure-Python writer"
        print(f"  streamed (exports.write, write-only workbook from a yield_per query; {how}): {got['rows']:,} rows "
              f"in {got['seconds']:.1f} s (cpu of the whole process {got['cpu']:.1f} s; "
              f"{got['seconds'] / got['rows'] * 1e6:.0f} us/row), RSS "
              f"{got['rss_before']:.0f} MB before, peak {got['peak']:.0f} MB, file {got['bytes'] / 2**20:.1f} MB",
              flush=True)
        results.append(Timed(f"export streamed {got['rows']:,} rows ({how}), peak RSS {got['peak']:.0f} MB",
                             [got["seconds"]]))
    naive_rows = min(args.export_rows, 100_000)
    if args.no_naive:
        return
    got = export_in_child(url, tmp, naive_rows, "naive")
    if isinstance(got, str):
        print(f"  naive: FAILED: {got.strip().splitlines()[-1]}")
    else:
        grow = (got["peak"] - got["rss_before"]) / naive_rows * args.export_rows + got["rss_before"]
        print(f"  naive (rows in a list, ordinary workbook): {got['rows']:,} rows in {got['seconds']:.1f} s, "
              f"peak {got['peak']:.0f} MB; EXTRAPOLATED to {args.export_rows:,} rows: ~{grow:.0f} MB, "
              f"~{got['seconds'] / naive_rows * args.export_rows:.0f} s", flush=True)
        results.append(Timed(f"export naive {naive_rows:,} rows, peak RSS {got['peak']:.0f} MB", [got["seconds"]]))


def code_version() -> str:
    import subprocess

    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "app", "migrations"],
                           capture_output=True, text=True).stdout.strip()
    return f"app at {head}" + (f" with uncommitted changes to {len(dirty.splitlines())} files" if dirty else "")


def measure_all(app, args, url: str, tmp: Path) -> int:
    from app.extensions import db

    freeze_clock()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    results: list[Timed] = []
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with app.app_context():
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "sqlite":
                dbname = f"SQLite {conn.exec_driver_sql('select sqlite_version()').scalar()}"
            else:
                dbname = (f"MariaDB {conn.exec_driver_sql('select version()').scalar()} (buffer pool "
                          f"{int(conn.exec_driver_sql('select @@innodb_buffer_pool_size').scalar()) // 2**20} MB)")
            counts = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar()
                      for t in ("loans", "installments", "loan_snapshots", "portfolio_snapshots", "transitions")}
        print(f"{dbname}, {code_version()}, {os.cpu_count()} cores, load average {load}; "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
        explainer = Explainer(db.engine, bool(args.explain))
        explainer.slow_only = args.explain != "all"
        compare = {s.strip() for s in args.compare_indexes.split(",") if s.strip()}
        passes = [""]
        if compare:
            db.session.remove()
            drop_indexes(db.engine, compare)
            passes = [f"WITHOUT {', '.join(sorted(compare))}", f"WITH {', '.join(sorted(compare))}"]
        for n, label in enumerate(passes):
            if n == 1:
                db.session.remove()
                for name, seconds in create_missing_indexes(db.engine, compare):
                    print(f"index {name} built in {seconds:.1f} s", flush=True)
            if label:
                print(f"--- {label} ---", flush=True)
            for part, fn in (("par", lambda: measure_par(args, results, explainer)),
                             ("search", lambda: measure_search(args, results, explainer)),
                             ("reports", lambda: measure_reports(args, results, explainer)),
                             ("dashboard", lambda: measure_dashboard(args, results, explainer))):
                if not only or part in only:
                    fn()
        db.session.remove()
        db.engine.dispose()
    if not only or "export" in only:
        measure_export(args, url, tmp, results)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average after {load}")
    return 0


# --- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000, help="loans (and borrowers) in the book")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="a MySQL/MariaDB server URL (default: a SQLite file)")
    parser.add_argument("--cache-dir", default=os.environ.get("BENCH_DIR", "/tmp/ddt/bench"))
    parser.add_argument("--rebuild", action="store_true", help="build the book again even if one is kept")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs of each measurement")
    parser.add_argument("--only", default="", help="comma-separated: par,reports,dashboard,search,export")
    parser.add_argument("--naive-limit", type=int, default=20_000,
                        help="the naive ways run over at most this many loans and are extrapolated linearly")
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--compare-indexes", default="",
                        help="comma-separated index names of the models: measure without them (dropped), build them "
                             "(timed), measure again")
    parser.add_argument("--lxml-path", default=None,
                        help="a folder holding lxml (pip install --target): the export is also run with it")
    parser.add_argument("--reports", default="", help="comma-separated report names (default: every registered one)")
    parser.add_argument("--warm", type=int, default=1, help="untimed runs before the timed ones (default 1)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive ways (ORM loops, recomputations)")
    parser.add_argument("--explain", nargs="?", const="slow", default="",
                        help="print query plans: of search and the PAR card, and of reports/dashboard that miss "
                             "their goal ('--explain all': of every one)")
    args = parser.parse_args()
    if args.database_url is not None and not args.database_url.strip():
        parser.error("--database-url is empty: was $TEST_DATABASE_URL expanded? Wrap the command in sh -c '...'")
    return args


def main() -> int:
    args = parse_args()
    tmp = Path(args.cache_dir) / "instance"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["INSTANCE_DIR"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "query-terminal-bench")
    # One run at a time per book: a second one would find it half-built and start it again.
    import fcntl

    lock = open(Path(args.cache_dir) / f"qt-g{GENERATOR}-{args.loans}{'-mysql' if args.database_url else ''}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another run is building or measuring this book; wait for it") from None
    url = book_url(args)
    from sqlalchemy import create_engine

    if args.rebuild and not args.database_url:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = create_engine(url)
    fresh = not built(engine)
    engine.dispose()
    if fresh and args.database_url:  # a half-built book: start again
        args.rebuild = True
        url = book_url(args)
    elif fresh:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = open_app(url, tmp)
    if fresh:
        log(f"building the book: {args.loans:,} loans, generator {GENERATOR}, at {url.split('@')[-1]}")
        generate(app, args.loans, args.seed)
    else:
        log(f"the kept book: {args.loans:,} loans, generator {GENERATOR}, at {url.split('@')[-1]}")
    if args.build_only:
        return 0
    return measure_all(app, args, url, tmp)


if __name__ == "__main__":
    sys.exit(main())
