"""Today's aggregate portfolio figures: computed live over the installments (before the day's run of
the daily job) vs read from today's opening snapshot (after it), on a COPY of a book kept by
bench/query_terminal.py (this script writes today's snapshot and job run into the file it is given).

    cp /path/to/qt-g1-310000.sqlite3 /tmp/book.sqlite3
    nice -n 10 .venv/bin/python bench/today_opening.py /tmp/book.sqlite3 [after]

``after`` skips the live pass (minutes at 300,000 loans). Figures: docs/MEASUREMENTS.md.
"""
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import query_terminal as qt  # noqa: E402



REPEAT = [1]


def t(label, fn, repeat=None):
    repeat = repeat or REPEAT[0]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"  {label}: median {times[len(times) // 2]:.3f} s (of {repeat}: {', '.join(f'{x:.3f}' for x in times)})",
          flush=True)


def main():
    book = Path(sys.argv[1]).resolve()
    if book.with_suffix(".lock").exists():
        sys.exit(f"{book} is a book query_terminal.py keeps (a .lock beside it): measure a copy of it")
    tmp = Path(tempfile.mkdtemp(prefix="today-opening-"))
    app = qt.open_app(f"sqlite:///{book}", tmp)
    qt.freeze_clock()
    from sqlalchemy import delete, func, select

    from app.extensions import db
    from app.models import JobRun, Loan
    from app.services import dashboard, portfolio, reporting, reports_portfolio, snapshots

    day = qt.DAY
    with app.app_context():
        reporting._load_builders()
        who = qt.viewers()
        print("active loans:", db.session.scalar(select(func.count()).select_from(Loan).where(Loan.status == "active")))
        db.session.execute(delete(JobRun).where(JobRun.job == "daily", JobRun.for_date == day))
        db.session.commit()

        def run(name, user, **raw):
            request = reporting.parse(name, {k: str(v) for k, v in raw.items()}, viewer=user, today=day)
            return list(reporting.run(user, request).rows)

        def by_officer(user):
            from app.services import reports_flow
            request = reporting.parse("officers", {"from": "2026-05-01", "to": "2026-05-31"}, viewer=user, today=day)
            return reports_flow._portfolio_by_officer(user, request)

        def figures(phase, full):
            print(f"{phase} (opening kept: {snapshots.opening_kept(day)})", flush=True)
            for label in ("HQ (reviewer1)", "director (office OF06)") if full else ("HQ (reviewer1)",):
                user = who[label]
                t(f"par today, {label}", lambda: run("par", user))
                t(f"loans page PAR card, {label}", lambda: portfolio.par(user))
                t(f"dashboard: today's position + class distribution, {label}",
                  lambda: (reports_portfolio.monthly_positions(user, [day]),
                           reports_portfolio.class_distribution(user)))
                t(f"officers report's portfolio columns, {label}", lambda: by_officer(user))
                if full:
                    t(f"par today by office, {label}", lambda: run("par", user, by="office"))
                    t(f"classification today, {label}", lambda: run("classification", user))

        if "after" not in sys.argv:
            figures("BEFORE: the daily job has not run for today (live)", False)
        t0 = time.perf_counter()
        snapshots.write(day)
        print(f"  snapshots.write(today) (the daily job's part, once a day): {time.perf_counter() - t0:.1f} s", flush=True)
        from datetime import timezone
        db.session.add(JobRun(job="daily", for_date=day, detail={},
                              finished_at=qt.datetime(2026, 6, 14, 20, 0, tzinfo=timezone.utc)))
        db.session.commit()
        REPEAT[0] = 3
        figures("AFTER: the daily job has run for today (today's opening)", True)
        same = sorted(reports_portfolio.buckets(None, day, group="office")) == sorted(
            reports_portfolio.buckets(None, day, group="office", live=True))
        print("opening == live (nothing repaid since the run):", same)


if __name__ == "__main__":
    main()
