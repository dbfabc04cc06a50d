"""Kept monthly figures on a copy of the query terminal's book: the time to keep a month (the daily
job's share on the 1st), the dashboard's monthly series from kept months vs the live current month,
and the HQ dashboard. Writes a monthly_figures table into the database it is given: run it on a COPY.

    cp /tmp/ddt/bench/qt-g1-310000.sqlite3 /tmp/copy.sqlite3
    DATABASE_URL=sqlite:////tmp/copy.sqlite3 nice -n 10 .venv/bin/python bench/kept_months.py
"""
import time, sys
from datetime import date
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from app import create_app
from app.extensions import db
from app.models import User
from app.models.reports import MonthlyFigures
from app.services import dashboard, snapshots, reports_flow
DAY = date(2026, 6, 15)
app = create_app()
with app.app_context():
    MonthlyFigures.__table__.create(db.engine, checkfirst=True)
    hq = db.session.get(User, 4)
    months = dashboard.month_starts(DAY)
    t = time.perf_counter()
    rows = snapshots.write_month(months[-2]); db.session.commit()
    print(f"write_month {months[-2]} (one month kept, the job's share on the 1st): {time.perf_counter()-t:.1f} s, {rows} rows", flush=True)
    t = time.perf_counter()
    for m in months[:-2]:
        snapshots.write_month(m); db.session.commit()
    print(f"write_month x{len(months)-2}: {time.perf_counter()-t:.1f} s", flush=True)
    for label in ("collection_monthly", "disbursed_monthly"):
        fn = getattr(reports_flow, label)
        for run in range(2):
            t = time.perf_counter(); fn(hq, months[:-1]); a = time.perf_counter() - t
            t = time.perf_counter(); fn(hq, months[-1:]); b = time.perf_counter() - t
            print(f"{label} HQ: 11 kept months {a*1000:.0f} ms, the live current month {b*1000:.0f} ms", flush=True)
    for run in range(2):
        t = time.perf_counter(); dashboard.build(hq, DAY); print(f"dashboard.build HQ: {time.perf_counter()-t:.1f} s", flush=True)
