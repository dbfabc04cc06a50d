"""How long does a trial balance take as the journal grows, against summing every line?

Run from the repository root:

    .venv/bin/python bench/trial_balance.py [--sizes 1000000,10000000] [--days 730] [--open-days 1]
                                            [--repeat 5] [--database-url URL] [--keep]

On MariaDB, through the private test server (the URL is exported by that script, so a shell it
starts must expand it):

    MARIADB_BUFFER_POOL=4G bash scripts/mariadb-test-server.sh \\
        sh -c '.venv/bin/python bench/trial_balance.py --database-url "$TEST_DATABASE_URL"'

For every size N (journal lines) it creates a fresh database (a SQLite file in a temporary folder,
or a MySQL/MariaDB database ``<its database>_bench_daily_tb_<N>`` on the given server, dropped
afterwards), migrates it with the app's Alembic migrations (so the chart of accounts is the default
one and the journal's indexes are the production ones) and writes N/2 balanced entries of two lines
each, set-based (INSERT … SELECT over a generated sequence, a million entries a statement): spread
evenly over ``--days`` days ending yesterday, each a debit on one on-balance account and a credit on
another (the pairs cycle through all of them), amounts 1.00-10,000.99 yuan. Then the app's own
day-end close (``ledger_close.close_days_through``) closes every day but the last ``--open-days``:
their day totals are written by its one grouped INSERT … SELECT; the open days' lines stay lines.
Generation and the close are timed and printed, not counted.

Then, alternately, ``--repeat`` times each, each call in a fresh session:

- A: ``ledger_reports.trial_balance(as_of)`` — the closed days' totals up to min(as_of, closed
  through) plus the lines posted after the last closed day (app/services/ledger_close.py's contract);
- B, the baseline: every line posted up to ``as_of``, summed per account (one grouped SELECT: what
  a trial balance costs without day totals).

for ``as_of`` = yesterday (closed days plus the open ones) and a day in the middle (closed days
only). Each pair's totals must be identical per account, and the trial balance must balance.
Printed: the first (cold) call and the median of the others, and the median of the pairs' ratios
B/A (ratios hold on a noisy machine, absolute times do not). Also timed once per size:
``ledger_loans.reconcile()`` (no loans here, so its ledger side: day totals plus open lines since
24839af) and, beside it, the sum of every line of the same accounts (``ledger_loans._balances``,
what that ledger side read before), which grows with the journal.

The day totals grow with accounts x days, not with lines: every size has the same days and
accounts, so the trial balance reads the same number of rows at 1 M and at 10 M lines. Goal: a
trial balance in under 2 s at any size. 100 M lines (~25 GB with the journal's five indexes, and
hours of loading on a 2-core machine) are not generated; the sizes that are show the trend.
Exit status 0 when every check passes and the goal is met at every size.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for p in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

GOAL_SECONDS = 2.0
CHUNK = 1_000_000  # entries per INSERT … SELECT
CREATED = "2026-01-01 00:00:00"


def generate(app, lines: int, days: int, end: date, open_days: int) -> dict:
    """lines/2 entries of two lines over ``days`` days ending ``end``; days before the last
    ``open_days`` closed by the app's day-end close. Returns what was made and how long it took."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import Account
    from app.services import ledger, ledger_close

    entries = lines // 2
    start = end - timedelta(days=days - 1)
    out: dict = {"entries": entries, "lines": entries * 2, "start": start, "end": end}
    with app.app_context():
        ledger.ensure_chart()
        db.session.commit()
        accounts = [a.id for a in db.session.query(Account).filter(Account.kind != "off_balance", Account.is_active.is_(True))
                    .order_by(Account.code)]
        n_acc = len(accounts)
        out["accounts"] = n_acc
        engine = db.engine
        mysql = engine.dialect.name == "mysql"
        div = "DIV" if mysql else "/"
        mod = "%%" if mysql else "%"  # PyMySQL formats the statement with %
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE bench_slots (slot INTEGER PRIMARY KEY, account_id INTEGER NOT NULL)")
            conn.exec_driver_sql("CREATE TABLE bench_sides (side INTEGER PRIMARY KEY)")
            conn.execute(text("INSERT INTO bench_slots (slot, account_id) VALUES (:s, :a)"),
                         [{"s": i, "a": a} for i, a in enumerate(accounts)])
            conn.exec_driver_sql("INSERT INTO bench_sides (side) VALUES (0), (1)")
            conn.commit()
            if mysql:
                # The lines' INSERT … SELECT sorts a chunk in a temporary table: in memory, not in the
                # server's tmpdir (/tmp here, which other work on this machine cleans under it).
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0, "
                                     "tmp_table_size = 2147483648, max_heap_table_size = 2147483648")
                conn.commit()
            for lo in range(1, entries + 1, CHUNK):
                hi = min(lo + CHUNK - 1, entries)
                if mysql:
                    day = f"DATE_ADD('{start.isoformat()}', INTERVAL ((seq - 1) * {days} DIV {entries}) DAY)"
                    conn.exec_driver_sql(f"""
                        INSERT INTO journal_entries (id, posting_date, value_date, kind, memo, loan_id, office_id,
                                                     source_type, source_id, created_at)
                        SELECT seq, {day}, {day}, 'repayment', '', seq {mod} 1000000 + 1, NULL, 'bench', seq, '{CREATED}'
                          FROM seq_{lo}_to_{hi}""")
                else:
                    day = f"date('{start.isoformat()}', '+' || ((k - 1) * {days} / {entries}) || ' days')"
                    conn.exec_driver_sql(f"""
                        WITH RECURSIVE n(k) AS (SELECT {lo} UNION ALL SELECT k + 1 FROM n WHERE k < {hi})
                        INSERT INTO journal_entries (id, posting_date, value_date, kind, memo, loan_id, office_id,
                                                     source_type, source_id, created_at)
                        SELECT k, {day}, {day}, 'repayment', '', k % 1000000 + 1, NULL, 'bench', k, '{CREATED}' FROM n""")
                # Two lines an entry, in id order: side 0 debits slot id % A, side 1 credits another.
                amount = f"(e.id * 7919) {mod} 1000000 + 100"
                other = f"(e.id {mod} {n_acc} + 1 + (e.id {div} {n_acc}) {mod} {n_acc - 1}) {mod} {n_acc}"
                conn.exec_driver_sql(f"""
                    INSERT INTO journal_lines (id, entry_id, account_id, debit, credit, loan_id, posting_date, value_date)
                    SELECT 2 * e.id - 1 + d.side, e.id, s.account_id,
                           CASE WHEN d.side = 0 THEN {amount} ELSE 0 END,
                           CASE WHEN d.side = 1 THEN {amount} ELSE 0 END,
                           e.loan_id, e.posting_date, e.value_date
                      FROM journal_entries e CROSS JOIN bench_sides d
                      JOIN bench_slots s ON s.slot = CASE WHEN d.side = 0 THEN e.id {mod} {n_acc} ELSE {other} END
                     WHERE e.id BETWEEN {lo} AND {hi}
                     ORDER BY e.id, d.side""")
                conn.commit()
            if mysql:
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1, unique_checks = 1")
                conn.exec_driver_sql("ANALYZE TABLE journal_entries, journal_lines")
                conn.commit()
        out["load_seconds"] = time.perf_counter() - t0
        closed = end - timedelta(days=open_days)
        t0 = time.perf_counter()
        ledger_close.close_days_through(closed)
        db.session.commit()
        out["close_seconds"] = time.perf_counter() - t0
        out["closed_through"] = closed
        out["day_totals"] = db.session.execute(text("SELECT COUNT(*) FROM account_day_totals")).scalar()
        out["open_lines"] = db.session.execute(text("SELECT COUNT(*) FROM journal_lines WHERE posting_date > :d"),
                                               {"d": closed}).scalar()
        if mysql:
            db.session.execute(text("ANALYZE TABLE account_day_totals"))
            out["bytes"] = int(db.session.execute(text(
                "SELECT SUM(data_length + index_length) FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name IN ('journal_entries', 'journal_lines')")).scalar() or 0)
        else:
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            out["bytes"] = Path(engine.url.database).stat().st_size
        db.session.commit()
        db.session.remove()
    return out


def trial_balance(as_of: date) -> dict[str, tuple[int, int]]:
    from app.services import ledger_reports

    tb = ledger_reports.trial_balance(as_of)
    if not tb.balanced:
        raise SystemExit(f"FAIL: the trial balance as of {as_of} does not balance: {tb.debit} / {tb.credit}")
    return {r.code: (r.debit, r.credit) for r in tb.rows if r.debit or r.credit}


def every_line(as_of: date) -> dict[str, tuple[int, int]]:
    """The baseline: every line posted up to ``as_of``, summed per account."""
    from sqlalchemy import text

    from app.extensions import db

    rows = db.session.execute(text("""
        SELECT a.code, t.d, t.c FROM (
            SELECT account_id, SUM(debit) AS d, SUM(credit) AS c FROM journal_lines
             WHERE posting_date <= :day GROUP BY account_id) t
        JOIN accounts a ON a.id = t.account_id"""), {"day": as_of}).all()
    return {code: (int(d), int(c)) for code, d, c in rows if d or c}


def timed(app, fn, *args):
    from app.extensions import db

    with app.app_context():
        t0 = time.perf_counter()
        result = fn(*args)
        seconds = time.perf_counter() - t0
        db.session.remove()
    return seconds, result


def reconcile_seconds(app) -> tuple[float, float, int]:
    """ledger_loans.reconcile() (no loans here: its ledger side), then the sum of every line of the
    same accounts (ledger_loans._balances, what its ledger side read before 24839af)."""
    from app.extensions import db
    from app.models import Account
    from app.services import ledger_loans

    with app.app_context():
        t0 = time.perf_counter()
        result = ledger_loans.reconcile()
        seconds = time.perf_counter() - t0
        db.session.remove()
        ids = [a.id for a in db.session.query(Account).filter(Account.code.in_([r.code for r in result.rows]))]
        t0 = time.perf_counter()
        ledger_loans._balances(ids, None)
        every = time.perf_counter() - t0
        db.session.remove()
    return seconds, every, len(result.rows)


def run_size(dbs, tmp: Path, n: int, args) -> tuple[dict, bool]:
    import daily_job

    from app import clock
    from app.extensions import db

    url = dbs.fresh(f"tb_{n}")
    ok = True
    try:
        app = daily_job.make_app(url, tmp)
        with app.app_context():
            label = daily_job.describe_database(db.engine)
        print(f"{n:,} journal lines, {label}")
        end = clock.business_today() - timedelta(days=1)
        made = generate(app, n, args.days, end, args.open_days)
        print(f"  generated {made['entries']:,} entries / {made['lines']:,} lines on {made['accounts']} accounts, "
              f"{made['start']} to {made['end']}, in {made['load_seconds']:.1f} s; day-end close through "
              f"{made['closed_through']} (ledger_close.close_days_through, one call) in {made['close_seconds']:.1f} s "
              f"(neither counted): {made['day_totals']:,} day totals, {made['open_lines']:,} lines on the open day(s); "
              f"journal with its indexes {made['bytes'] / 2**30:.2f} GiB (SQLite: the whole file)")
        result = {"made": made}
        middle = made["start"] + timedelta(days=args.days // 2)
        for as_of, what in ((end, "as of yesterday (closed days + the open day's lines)"),
                            (middle, "as of a day in the middle (closed days only)")):
            tb_times, base_times, ratios = [], [], []
            for r in range(args.repeat + 1):  # the first round is the cold one, reported apart
                order = ("tb", "base") if r % 2 == 0 else ("base", "tb")
                got = {}
                for which in order:
                    secs, totals = timed(app, trial_balance if which == "tb" else every_line, as_of)
                    got[which] = (secs, totals)
                if got["tb"][1] != got["base"][1]:
                    ok = False
                    print(f"  FAIL: as of {as_of} the trial balance's totals differ from the lines' sums")
                tb_times.append(got["tb"][0])
                base_times.append(got["base"][0])
                ratios.append(got["base"][0] / got["tb"][0])
            tb_med, base_med = statistics.median(tb_times[1:]), statistics.median(base_times[1:])
            ratio = statistics.median(ratios[1:])
            print(f"  {what}: trial balance {tb_med * 1000:8.1f} ms (cold {tb_times[0] * 1000:.1f} ms, "
                  f"{min(tb_times[1:]) * 1000:.1f}-{max(tb_times[1:]) * 1000:.1f}) vs every line summed "
                  f"{base_med * 1000:8.1f} ms (cold {base_times[0] * 1000:.1f} ms, {min(base_times[1:]) * 1000:.1f}-"
                  f"{max(base_times[1:]) * 1000:.1f}); median of {args.repeat} pairs' ratios {ratio:.1f}x; "
                  f"totals identical: {'yes' if ok else 'NO'}")
            result[as_of == end and "end" or "middle"] = (tb_med, base_med, ratio, max(tb_times))
        secs, every, rows = reconcile_seconds(app)
        print(f"  ledger_loans.reconcile() (no loans here: its ledger side alone, the loans' {rows} accounts): "
              f"{secs * 1000:.1f} ms; every line of those accounts summed (its ledger side before 24839af): "
              f"{every * 1000:.1f} ms")
        result["reconcile"] = secs
        result["reconcile_every"] = every
        worst = max(result["end"][3], result["middle"][3])
        good = worst < GOAL_SECONDS
        ok &= good
        print(f"  goal: a trial balance in under {GOAL_SECONDS:.0f} s: slowest call {worst * 1000:.1f} ms: "
              f"{'PASS' if good else 'FAIL'}")
        with app.app_context():
            db.engine.dispose()
        print()
        return result, ok
    finally:
        dbs.drop(url)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="journal lines, comma-separated (default 1000000,10000000)")
    parser.add_argument("--days", type=int, default=730, help="days the journal spans, ending yesterday (default 730)")
    parser.add_argument("--open-days", type=int, default=1, help="days at the end not closed (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed pairs per as-of day, after a cold one (default 5)")
    parser.add_argument("--database-url", default=None, help="MySQL/MariaDB server URL (default: SQLite files)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the temporary folder")
    args = parser.parse_args()
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: integers, comma-separated")
    if not args.sizes or min(args.sizes) < 2 or args.days < 2 or not 0 < args.open_days < args.days or args.repeat < 1:
        parser.error("--sizes >= 2, --days >= 2, 0 < --open-days < --days, --repeat >= 1")
    if args.database_url is not None and not args.database_url.strip():
        parser.error("--database-url is empty: wrap the command in sh -c '...' (see the docstring)")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    tmp = Path(tempfile.mkdtemp(prefix="ddt-trial-balance-"))
    os.environ["INSTANCE_DIR"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "trial-balance-bench")
    import daily_job

    dbs = daily_job.Databases(args.database_url, tmp, keep=args.keep)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{daily_job.code_version()}, {os.cpu_count()} cores, load average before {load}")
    print()
    ok = True
    results = {}
    try:
        for n in args.sizes:
            results[n], good = run_size(dbs, tmp, n, args)
            ok &= good
        if len(results) > 1:
            lo, hi = min(results), max(results)
            a, b = results[lo], results[hi]
            print(f"{hi // lo}x the lines ({lo:,} -> {hi:,}): trial balance as of yesterday {a['end'][0] * 1000:.1f} -> "
                  f"{b['end'][0] * 1000:.1f} ms (x{b['end'][0] / a['end'][0]:.2f}); every line summed "
                  f"{a['end'][1] * 1000:.1f} -> {b['end'][1] * 1000:.1f} ms (x{b['end'][1] / a['end'][1]:.2f}); "
                  f"reconcile {a['reconcile'] * 1000:.1f} -> {b['reconcile'] * 1000:.1f} ms "
                  f"(x{b['reconcile'] / a['reconcile']:.2f}); every line of its accounts summed "
                  f"{a['reconcile_every'] * 1000:.1f} -> {b['reconcile_every'] * 1000:.1f} ms "
                  f"(x{b['reconcile_every'] / a['reconcile_every']:.2f})")
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"load average after {load}")
        print("all checks passed" if ok else "FAILED")
        return 0 if ok else 1
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
    except KeyboardInterrupt:
        print("interrupted; temporary databases removed", file=sys.stderr)
        sys.exit(130)
