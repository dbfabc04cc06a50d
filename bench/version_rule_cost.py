"""What the one version rule costs a phone's API call (issue 15): SQL statements and time per
GET /api/v1/device for a plain browser, for the Android app (its DaidaitongAndroid/<code> user-agent
mark makes device_api read the newest release's minimum) and for an app below that minimum (426).

    .venv/bin/python bench/version_rule_cost.py

On a fresh SQLite database with the demo data and one published release; prints, per kind of call,
the statements it ran and the median of 200 calls in milliseconds.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import android_releases, demo  # noqa: E402
from app.storage import make_store  # noqa: E402

CHROME = "Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ddt-version-rule-"))
    app = create_app(TestConfig(f"sqlite:///{tmp}/bench.db", tmp / "photos"))
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], make_store(app.config))
        android_releases.publish(ROOT / "tests/vectors/android/officer-2.apk",
                                 files=android_releases.files_from(app.config),
                                 package=app.config["ANDROID_PACKAGE"], now=clock.now(), min_version_code=2)
    from tests.sync_helpers import enrol

    headers = enrol(app, "officer1")
    client = app.test_client()
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    print(f"{'call':<34} {'status':>6} {'statements':>10} {'median ms':>10}")
    for label, agent in (("plain browser", CHROME), ("Android app, current (code 2)", f"{CHROME} DaidaitongAndroid/2"),
                         ("Android app, outdated (code 1)", f"{CHROME} DaidaitongAndroid/1")):
        call = {**headers, "User-Agent": agent}
        client.get("/api/v1/device", headers=call)  # the device row learns this user agent once
        statements.clear()
        status = client.get("/api/v1/device", headers=call).status_code
        count = len(statements)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            client.get("/api/v1/device", headers=call)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label:<34} {status:>6} {count:>10} {statistics.median(times):>10.2f}")


if __name__ == "__main__":
    main()
