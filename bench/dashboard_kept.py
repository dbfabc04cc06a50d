"""The home page's dashboard, par and the PAR card for the whole institution as they read kept
figures only (today's opening, the month openings, the closed months), beside the same dashboard
recomputing today from the installments (before the day's run) in the same run. On a COPY of the
query terminal's kept book with its closed months kept (bench/kept_months.py has written them): it
writes the book day's opening snapshot and its daily-run row.

    cp /tmp/ddt/bench/qt-g1-310000.sqlite3 /tmp/copy.sqlite3
    DATABASE_URL=sqlite:////tmp/copy.sqlite3 nice -n 10 .venv/bin/python bench/kept_months.py
    DATABASE_URL=sqlite:////tmp/copy.sqlite3 nice -n 10 .venv/bin/python bench/dashboard_kept.py
"""
import sys, time
from datetime import date, datetime, timezone
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import time_machine
from app import create_app
from app.extensions import db
from app.models import JobRun, User
from app.models.reports import PortfolioSnapshot
from sqlalchemy import select, func
DAY = date(2026, 6, 15)  # the kept book's day (bench/query_terminal.py)
with time_machine.travel(datetime(2026, 6, 15, 2, 0, tzinfo=timezone.utc), tick=True):
    app = create_app()
    with app.app_context():
        from app.services import dashboard, reporting, portfolio
        print("snapshot rows for the day:", db.session.scalar(select(func.count()).select_from(PortfolioSnapshot).where(PortfolioSnapshot.day == DAY)))
        if not db.session.scalar(select(func.count()).select_from(PortfolioSnapshot).where(PortfolioSnapshot.day == DAY)):
            from app.services import snapshots
            t = time.perf_counter(); snapshots.write(DAY); db.session.commit()
            print(f"snapshots.write(DAY): {time.perf_counter() - t:.1f} s", flush=True)
        if db.session.scalar(select(JobRun.id).where(JobRun.job == "daily", JobRun.for_date == DAY)) is None:
            db.session.add(JobRun(job="daily", for_date=DAY, detail={})); db.session.commit()
        hq = db.session.get(User, 4)  # the book's first-level reviewer: the whole institution
        print("viewer", hq.username, hq.roles)
        for run in range(3):
            t = time.perf_counter(); board = dashboard.build(hq, DAY); a = time.perf_counter() - t
            t = time.perf_counter(); reporting.run(hq, reporting.parse("par", {}, viewer=hq, today=DAY)); b = time.perf_counter() - t
            t = time.perf_counter(); portfolio.par(hq); c = time.perf_counter() - t
            print(f"run {run}: dashboard.build HQ {a*1000:.0f} ms; par today HQ {b*1000:.0f} ms; PAR card HQ {c*1000:.0f} ms", flush=True)
        print("outstanding today", board.current.outstanding, "class loans", board.class_loans)
        # The same run's baseline: today's figures recomputed from the installments (no day's run).
        from sqlalchemy import delete
        db.session.execute(delete(JobRun).where(JobRun.job == "daily", JobRun.for_date == DAY)); db.session.commit()
        t = time.perf_counter(); live = dashboard.build(hq, DAY); a = time.perf_counter() - t
        print(f"baseline: dashboard.build HQ recomputing today from the installments {a:.1f} s; outstanding {live.current.outstanding}", flush=True)
        db.session.add(JobRun(job="daily", for_date=DAY, detail={})); db.session.commit()
