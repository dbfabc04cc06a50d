"""How long does importing an existing book take, and what would entering it loan by loan cost?

Run from the repository root:

    .venv/bin/python bench/import_book.py [--loans 100000] [--baseline 40] [--database-url URL]

On MariaDB, through the private test server (the URL is expanded by the shell the script starts):

    MARIADB_TEST_PORT=3315 bash scripts/mariadb-test-server.sh \\
        sh -c '.venv/bin/python bench/import_book.py --loans 20000 --database-url "$TEST_DATABASE_URL"'

1. A workbook of N borrowers, N loans (product XYD: 12 monthly annuity installments, so 12 N
   installments) and 6 N repayments (the first six months, some late, some short) is generated in
   a child process with openpyxl's write-only mode (its time is printed, not counted).
2. A fresh database (a SQLite file in a temporary folder, or ``<database>_bench_book`` on
   MariaDB, dropped and created) is migrated and given the demo's offices, staff and products.
3. In a fresh child process (so its peak memory is its own): ``app.services.book.run`` (read
   streamed, every check, one transaction of bulk inserts), then the daily job
   (``jobs.run_daily``) for the same day. It prints the wall seconds of each and the process's peak
   RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).
4. Baseline in the same run: the first ``--baseline`` loans of the same book entered through the
   service layer one loan at a time, as a cashier would (a fresh database; per loan: borrower and
   application rows, ``loans.disburse``, then ``loans.record_repayment`` for each repayment, each
   its own commit), scaled per loan to N.

Goal (issue 13): 100,000 loans / 1.2 M installments / 600,000 repayments in under 5 minutes, peak
memory under 1 GB, on SQLite and MariaDB.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)
OFFICERS = (("officer1", "CG"), ("officer2", "CG"), ("officer3", "HK"))


def _id_number(i: int) -> str:
    from app.domain.idcard import check_digit

    body = f"510102{1960 + i % 40:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    # Make the 17 digits unique per i: the region code carries the rest.
    body = f"51{(i // 1000) % 10000:04d}" + body[6:]
    return body + check_digit(body)


def generate(path: Path, n: int, seed: int) -> dict:
    from openpyxl import Workbook

    from app.domain import book as dbook
    from app.domain.schedule import add_months

    rnd = random.Random(seed)
    wb = Workbook(write_only=True)
    sheets = {s: wb.create_sheet(s) for s in dbook.COLUMNS}
    for s, ws in sheets.items():
        ws.append(list(dbook.COLUMNS[s]))
    repayments = 0
    for i in range(n):
        officer, office = OFFICERS[i % 3]
        idn = _id_number(i)
        sheets[dbook.BORROWERS].append([idn, "张" + "一二三四五六七八九十"[i % 10] + "山", f"138{i % 100000000:08d}",
                                        "红星村", "城关镇", "平安县", f"{i % 50}组{i % 97}号", 104.08, 30.67, officer])
        start = date(2025, 6, 10) + timedelta(days=rnd.randrange(0, 60))
        principal = rnd.randrange(20, 500) * 100
        loan_no = f"OLD-{i:07d}"
        sheets[dbook.LOANS].append([loan_no, idn, "XYD", principal, 0.096, 12, "annuity", start,
                                    add_months(start, 12), officer, office])
        monthly = Decimal(principal) * Decimal("0.0880")  # about one annuity installment at 9.6 %
        for k in range(1, 7):
            late = rnd.random() < 0.1
            on = add_months(start, k) + timedelta(days=rnd.randrange(3, 40) if late else 0)
            if on > TODAY:
                continue
            amount = (monthly * (Decimal("0.6") if rnd.random() < 0.05 else 1)).quantize(Decimal("0.01"))
            sheets[dbook.REPAYMENTS].append([loan_no, on, float(amount), "cash" if k % 2 else "现金", f"R{i}-{k}"])
            repayments += 1
    wb.save(path)
    return {"loans": n, "repayments": repayments, "bytes": path.stat().st_size}


def _app(url: str):
    from app import create_app
    from app.config import TestConfig

    photos = Path(tempfile.mkdtemp(prefix="bench-book-photos-"))
    return create_app(TestConfig(url, photos))


def prepare(url: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name().startswith("mysql"):
        server = create_engine(u.set(database="mysql"))
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{u.database}`"))
            conn.execute(text(f"CREATE DATABASE `{u.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        server.dispose()
    app = _app(url)
    with app.app_context():
        from app.extensions import db
        from app.services import demo
        from app.storage import make_store

        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], make_store(app.config))
        db.session.commit()


def run_import(url: str, path: Path) -> dict:
    app = _app(url)
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import User
        from app.services import book, jobs

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        t0 = time.perf_counter()
        summary = book.run(path, user=admin, today=TODAY, now=NOW, dry_run=False, max_bytes=10**10)
        t1 = time.perf_counter()
        jobs.run_daily(TODAY)
        t2 = time.perf_counter()
        assert summary.errors == [], summary.errors[:5]
        from sqlalchemy import func

        from app.models import Installment, Loan, Repayment

        counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                  for m in (Loan, Installment, Repayment)}
    return {"import_s": round(t1 - t0, 1), "daily_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "counts": counts,
            "new_loans": summary.new_loans, "new_repayments": summary.new_repayments,
            "outstanding_principal": str(summary.outstanding_principal), "past_due_loans": summary.past_due_loans}


def run_baseline(url: str, path: Path, n: int) -> dict:
    """The first n loans of the book through the services, one loan (and one repayment) at a time."""
    from openpyxl import load_workbook

    from app.domain import book as dbook

    app = _app(url)
    wb = load_workbook(path, read_only=True)
    parsed = dbook.parse_book({ws.title: ws.iter_rows(values_only=True) for ws in wb.worksheets}, TODAY)
    loans = parsed.loans[:n]
    numbers = {x.loan_no for x in loans}
    pays: dict[str, list] = {}
    for r in parsed.repayments:
        if r.loan_no in numbers:
            pays.setdefault(r.loan_no, []).append(r)
    people = {b.id_number: b for b in parsed.borrowers}
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Application, Borrower, Office, Product, User
        from app.services import loans as loan_service

        settings = loan_service.LoanSettings(backdate_max_days=10_000)
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        t0 = time.perf_counter()
        count = 0
        for x in loans:
            b = people[x.id_number]
            officer = db.session.scalar(select(User).where(User.username == x.officer))
            office = db.session.scalar(select(Office).where(Office.code == x.office))
            borrower = Borrower(name=b.name, id_number=b.id_number, sex=b.sex, birth_date=b.birth_date, phone=b.phone,
                                village=b.village, address=b.address, office_id=officer.office_id,
                                officer_id=officer.id)
            application = Application(borrower=borrower, product=product, officer_id=officer.id, office_id=office.id,
                                      amount=x.principal, term_months=x.term_months, state="awaiting_disbursement")
            db.session.add(application)
            db.session.commit()
            form = loan_service.DisbursementForm(amount=str(x.principal), disbursed_on=x.disbursed_on.isoformat(),
                                                 channel="cash", reference="")
            loan = loan_service.disburse(application, form, cashier, today=x.disbursed_on, now=NOW, settings=settings)
            db.session.commit()
            for r in pays.get(x.loan_no, []):
                loan_service.record_repayment(loan, amount=str(r.amount), paid_on=r.paid_on.isoformat(),
                                              channel=r.channel, reference=r.reference, user=cashier, today=r.paid_on,
                                              now=NOW, expected_version=loan.version, settings=settings)
                count += 1
        seconds = time.perf_counter() - t0
    return {"loans": len(loans), "repayments": count, "seconds": round(seconds, 1),
            "per_loan_ms": round(seconds / max(len(loans), 1) * 1000, 1)}


def _child(mode: str, **kw) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--child-args", json.dumps(kw)],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{mode} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--loans", type=int, default=100_000)
    p.add_argument("--baseline", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--database-url", default="")
    p.add_argument("--child", default="")
    p.add_argument("--child-args", default="{}")
    a = p.parse_args()
    if a.child:
        kw = json.loads(a.child_args)
        if a.child == "generate":
            print(json.dumps(generate(Path(kw["path"]), kw["n"], kw["seed"])))
        elif a.child == "prepare":
            prepare(kw["url"])
            print("{}")
        elif a.child == "import":
            print(json.dumps(run_import(kw["url"], Path(kw["path"]))))
        elif a.child == "baseline":
            print(json.dumps(run_baseline(kw["url"], Path(kw["path"]), kw["n"])))
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-book-"))
    book_path = tmp / "book.xlsx"
    t = time.perf_counter()
    g = _child("generate", path=str(book_path), n=a.loans, seed=a.seed)
    print(f"workbook: {g['loans']:,} loans, {12 * g['loans']:,} installments to be, {g['repayments']:,} repayments, "
          f"{g['bytes'] / 1024 / 1024:.1f} MB, generated in {time.perf_counter() - t:.0f} s (not counted)")
    if a.database_url:
        from sqlalchemy.engine import make_url

        base = make_url(a.database_url)
        url = base.set(database=f"{base.database}_bench_book").render_as_string(hide_password=False)
        url_b = base.set(database=f"{base.database}_bench_book_base").render_as_string(hide_password=False)
    else:
        url, url_b = f"sqlite:///{tmp / 'import.sqlite3'}", f"sqlite:///{tmp / 'baseline.sqlite3'}"
    _child("prepare", url=url)
    r = _child("import", url=url, path=str(book_path))
    print(f"import ({url.split(':')[0]}): {r['import_s']} s + daily job {r['daily_s']} s = {r['total_s']} s; "
          f"peak RSS {r['peak_rss_mb']} MB; rows {r['counts']}; outstanding principal {r['outstanding_principal']}, "
          f"past due {r['past_due_loans']}")
    _child("prepare", url=url_b)
    b = _child("baseline", url=url_b, path=str(book_path), n=a.baseline)
    scaled = b["per_loan_ms"] * a.loans / 1000
    print(f"baseline (services, one loan at a time): {b['loans']} loans, {b['repayments']} repayments in {b['seconds']} s "
          f"= {b['per_loan_ms']} ms a loan -> {scaled:,.0f} s for {a.loans:,} loans (scaled)")
    print(f"speed-up: {scaled / r['total_s']:.0f}x; goal < 300 s for 100,000 loans and < 1024 MB: "
          f"{'met' if r['total_s'] * 100_000 / a.loans < 300 and r['peak_rss_mb'] < 1024 else 'NOT met'}"
          f"{'' if a.loans == 100_000 else ' (time scaled linearly to 100,000 loans)'}")


if __name__ == "__main__":
    main()
