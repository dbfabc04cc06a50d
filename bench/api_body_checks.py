"""What the strict reading and the schema cost per API body, beside plain json.loads.

    .venv/bin/python bench/api_body_checks.py

Bodies: a manifest with 8 photos, a visit report with three 300 KB photos inline (base64), a trail
batch of 500 points, and the hostile ones (100,000 nested brackets, 1e999) that used to reach the
services. Prints the median of 20 runs per body in milliseconds.
"""
from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.api import schemas  # noqa: E402


def _median_ms(fn, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    u = lambda: str(uuid.uuid4())  # noqa: E731
    manifest = {
        "uuid": u(), "captured_at": "2026-11-30T02:00:00+00:00",
        "borrower": {"uuid": u(), "name": "陈小春", "id_number": "513401198506121230", "phone": "13912345678",
                     "village": "红星村", "address": "红星村5组"},
        "product_id": 1, "amount": "12000.00", "term_months": 12, "purpose": "购买化肥",
        "gps": {"lat": 30.66, "lon": 104.09, "accuracy_m": 12, "at": "2026-11-30T02:00:00Z", "note": ""},
        "photos": [{"uuid": u(), "item_id": 1, "sequence": i + 1, "sha256": "a" * 64, "size": 200_000,
                    "taken_at": "2026-11-30T02:00:00Z"} for i in range(8)],
    }
    photo = base64.b64encode(os.urandom(300_000)).decode()
    report = {"report_uuid": u(), "completed_at": "2026-11-30T02:00:00Z",
              "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                          "loan_use_verified": True, "notes": ""},
              "gps": {"lat": 30.68, "lon": 104.1, "accuracy_m": 20, "at": "2026-11-30T02:00:00Z", "is_mock": False},
              "photos": [{"uuid": u(), "sha256": "b" * 64, "content_base64": photo} for _ in range(3)]}
    track = {"points": [{"uuid": u(), "at": "2026-11-30T02:00:00Z", "lat": 30.66, "lon": 104.09,
                         "accuracy_m": 10, "is_mock": False} for _ in range(500)]}
    rows = [("manifest, 8 photos", manifest, schemas.Manifest, schemas.SMALL_BODY),
            ("visit report, 3 x 300 KB photos", report, schemas.VisitReport, 32 * 1024 * 1024),
            ("trail, 500 points", track, None, schemas.SMALL_BODY)]
    print(f"{'body':<34}{'bytes':>10}{'json.loads ms':>15}{'read_json ms':>14}{'+ schema ms':>13}")
    for name, body, schema, limit in rows:
        raw = json.dumps(body).encode()
        plain = _median_ms(lambda: json.loads(raw))
        strict = _median_ms(lambda: schemas.read_json(raw, max_bytes=limit))
        if schema is None:
            checked = _median_ms(lambda: [schemas.TrackPoint.model_validate(p) for p in
                                          schemas.TrackBatch.model_validate(schemas.read_json(raw)).points])
        else:
            checked = _median_ms(lambda: schema.model_validate(schemas.read_json(raw, max_bytes=limit)))
        print(f"{name:<34}{len(raw):>10}{plain:>15.2f}{strict:>14.2f}{checked:>13.2f}")
    for name, raw in (("100,000 nested brackets", b"[" * 100_000 + b"]" * 100_000), ("1e999", b'{"a": 1e999}')):
        def refused(raw=raw):
            try:
                schemas.read_json(raw)
            except schemas.BodyError:
                return
            raise AssertionError("accepted")
        print(f"{name:<34}{len(raw):>10}{'(crash)' if name.startswith('100') else '(inf)':>15}{_median_ms(refused):>14.2f}")


if __name__ == "__main__":
    main()
