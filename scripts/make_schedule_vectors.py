"""Write tests/vectors/schedules.json: what the Python schedule engine says for a set of inputs.

Run from the repository root after changing app/domain/schedule.py:

    .venv/bin/python scripts/make_schedule_vectors.py

Each vector is ``{"name", "input", "expected"}``: ``input`` is exactly what the phone's
``Schedule.build`` takes (strings for money and dates), ``expected`` is either
``{"schedule": ...}`` (``Schedule.to_dict()``) or ``{"error": {"message", "params"}}``.
tests/unit/test_schedule.py fails when the file is not what this script would write now;
tests/e2e/test_schedule_js.py runs every vector through static/js/schedule.js in Chromium and
requires the same fen (the effective annual rate within 0.0001).

Named cases cover every method, frequency and day count, broken first periods, month ends, rate 0,
tiny and large principals, long terms and each input error; then seeded random loans.
"""
from __future__ import annotations

import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.domain.schedule import (  # noqa: E402
    DAY_COUNTS,
    METHODS,
    ScheduleError,
    build_schedule,
    parse_request,
)

OUTPUT = REPO_ROOT / "tests" / "vectors" / "schedules.json"
SEED = 20260115
RANDOM_CASES = 100


def _case(name: str, principal: str, rate: str, term: int | str | None, method: str, start: str,
          frequency: str = "monthly", first_due: str | None = None, due_dates: list[str] | None = None,
          day_count: str = "act/360") -> tuple[str, dict[str, Any]]:
    return name, {
        "principal": principal, "annual_rate": rate, "term_months": term, "method": method,
        "start": start, "frequency": frequency, "first_due": first_due,
        "due_dates": due_dates or [], "day_count": day_count,
    }


def named_cases() -> list[tuple[str, dict[str, Any]]]:
    harvests = ["2026-07-20", "2026-10-15", "2027-03-10"]
    return [
        # annuity 等额本息
        _case("annuity 10000 at 12% for 12 months", "10000.00", "0.12", 12, "annuity", "2026-01-15"),
        _case("annuity numpy-financial ipmt example, month-end anchor", "2500.00", "0.0824", 12, "annuity", "2026-01-31"),
        _case("annuity 15 years", "200000.00", "0.075", 180, "annuity", "2026-03-01"),
        _case("annuity Excel PMT example", "10000", "0.08", 10, "annuity", "2026-05-10"),
        _case("annuity rate 0", "1000.00", "0", 7, "annuity", "2026-01-15"),
        _case("annuity one fen", "0.01", "0.12", 12, "annuity", "2026-01-15"),
        _case("annuity tiny principal over 30 years", "1.00", "0.12", 360, "annuity", "2026-01-15"),
        _case("annuity largest principal over 50 years", "999999999999.99", "0.2", 600, "annuity", "2026-01-15"),
        _case("annuity quarterly", "50000.00", "0.0865", 24, "annuity", "2026-02-28", "quarterly"),
        _case("annuity broken first period act/360", "10000.00", "0.12", 12, "annuity", "2026-01-15",
              first_due="2026-02-25"),
        _case("annuity broken first period act/365", "10000.00", "0.12", 12, "annuity", "2026-01-15",
              first_due="2026-03-10", day_count="act/365"),
        _case("annuity short first period 30/360", "10000.00", "0.12", 12, "annuity", "2026-01-31",
              first_due="2026-02-10", day_count="30/360"),
        _case("annuity first due one period on is regular", "10000.00", "0.12", 12, "annuity", "2026-01-15",
              first_due="2026-02-15"),
        _case("annuity custom harvest dates", "30000.00", "0.0925", None, "annuity", "2026-03-05", "custom",
              due_dates=harvests),
        _case("annuity custom long then short periods", "10000.00", "0.6", None, "annuity", "2026-01-01", "custom",
              due_dates=["2026-12-31", "2027-01-01", "2027-01-02", "2027-01-03"]),
        _case("annuity rate with 18 places", "8888.88", "0.123456789012345678", 24, "annuity", "2026-06-30"),
        # equal principal 等额本金
        _case("equal principal 12000 at 6%", "12000.00", "0.06", 12, "equal_principal", "2026-01-15"),
        _case("equal principal rate 0", "100.00", "0", 3, "equal_principal", "2026-01-15"),
        _case("equal principal rounds down for a tiny principal", "0.16", "0.1", 10, "equal_principal", "2026-01-15"),
        _case("equal principal quarterly 30/360", "20000.00", "0.1", 36, "equal_principal", "2026-08-31",
              "quarterly", day_count="30/360"),
        _case("equal principal broken first", "36000.00", "0.0735", 36, "equal_principal", "2026-01-20",
              first_due="2026-03-05"),
        _case("equal principal custom act/365", "9000.00", "0.11", None, "equal_principal", "2026-03-05",
              "custom", due_dates=harvests, day_count="act/365"),
        # interest only 按月付息到期还本
        _case("interest only monthly", "50000.00", "0.09", 12, "interest_only", "2026-01-31"),
        _case("interest only quarterly", "50000.00", "0.09", 12, "interest_only", "2026-01-31", "quarterly"),
        _case("interest only broken first 30/360", "50000.00", "0.09", 6, "interest_only", "2026-01-10",
              first_due="2026-02-20", day_count="30/360"),
        _case("interest only custom", "8000.00", "0.1", None, "interest_only", "2026-03-05", "custom",
              due_dates=harvests),
        # bullet 到期一次还本付息
        _case("bullet 12 months", "20000.00", "0.1", 12, "bullet", "2026-01-15"),
        _case("bullet harvest date act/360", "20000.00", "0.1", None, "bullet", "2026-03-05", "custom",
              due_dates=["2026-09-30"]),
        _case("bullet harvest date act/365", "20000.00", "0.1", None, "bullet", "2026-03-05", "custom",
              due_dates=["2026-09-30"], day_count="act/365"),
        _case("bullet harvest date 30/360", "20000.00", "0.1", None, "bullet", "2026-03-31", "custom",
              due_dates=["2026-09-30"], day_count="30/360"),
        _case("bullet with broken first period", "20000.00", "0.1", 6, "bullet", "2026-01-15",
              first_due="2026-02-01"),
        _case("bullet quarterly rate 0", "20000.00", "0", 9, "bullet", "2026-01-15", "quarterly"),
        # flat
        _case("flat 10% for 12 months", "10000.00", "0.1", 12, "flat", "2026-01-15"),
        _case("flat quarterly", "10000.00", "0.1", 24, "flat", "2026-01-15", "quarterly"),
        _case("flat broken first", "10000.00", "0.1", 12, "flat", "2026-01-15", first_due="2026-03-01"),
        _case("flat custom", "10000.00", "0.1", None, "flat", "2026-03-05", "custom", due_dates=harvests),
        # calendars
        _case("leap year month end", "6000.00", "0.12", 14, "annuity", "2028-01-31"),
        _case("start on 29 February", "6000.00", "0.12", 13, "equal_principal", "2028-02-29"),
        # errors
        _case("error unknown method", "1000", "0.1", 12, "balloon", "2026-01-15"),
        _case("error unknown frequency", "1000", "0.1", 12, "annuity", "2026-01-15", "weekly"),
        _case("error unknown day count", "1000", "0.1", 12, "annuity", "2026-01-15", day_count="act/act"),
        _case("error principal zero", "0.00", "0.1", 12, "annuity", "2026-01-15"),
        _case("error principal negative", "-5", "0.1", 12, "annuity", "2026-01-15"),
        _case("error principal fractions of a fen", "100.001", "0.1", 12, "annuity", "2026-01-15"),
        _case("error principal too large", "1000000000000", "0.1", 12, "annuity", "2026-01-15"),
        _case("error principal not a number", "12,000", "0.1", 12, "annuity", "2026-01-15"),
        _case("error rate negative", "1000", "-0.01", 12, "annuity", "2026-01-15"),
        _case("error rate in per cent", "1000", "12", 12, "annuity", "2026-01-15"),
        _case("error rate too many places", "1000", "0.1234567890123456789", 12, "annuity", "2026-01-15"),
        _case("error rate not a number", "1000", "12%", 12, "annuity", "2026-01-15"),
        _case("error term zero", "1000", "0.1", 0, "annuity", "2026-01-15"),
        _case("error term too long", "1000", "0.1", 601, "annuity", "2026-01-15"),
        _case("error term not a number", "1000", "0.1", "twelve", "annuity", "2026-01-15"),
        _case("error quarterly term", "1000", "0.1", 10, "annuity", "2026-01-15", "quarterly"),
        _case("error bad date", "1000", "0.1", 12, "annuity", "2026-02-30"),
        _case("error start year", "1000", "0.1", 12, "annuity", "1899-12-31"),
        _case("error first due too late", "1000", "0.1", 12, "annuity", "2026-01-15", first_due="2026-03-16"),
        _case("error first due on start", "1000", "0.1", 12, "annuity", "2026-01-15", first_due="2026-01-15"),
        _case("error due dates on monthly", "1000", "0.1", 12, "annuity", "2026-01-15",
              due_dates=["2026-05-01"]),
        _case("error custom without dates", "1000", "0.1", None, "annuity", "2026-01-15", "custom"),
        _case("error custom with first due", "1000", "0.1", None, "annuity", "2026-01-15", "custom",
              first_due="2026-02-15", due_dates=["2026-05-01"]),
        _case("error due date before start", "1000", "0.1", None, "annuity", "2026-01-15", "custom",
              due_dates=["2026-01-15"]),
        _case("error due dates not increasing", "1000", "0.1", None, "annuity", "2026-01-15", "custom",
              due_dates=["2026-05-01", "2026-04-01"]),
        _case("error bullet with two dates", "1000", "0.1", None, "bullet", "2026-01-15", "custom",
              due_dates=["2026-05-01", "2026-06-01"]),
    ]


def random_cases(seed: int = SEED, count: int = RANDOM_CASES) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        frequency = rng.choice(["monthly", "monthly", "quarterly", "custom"])
        method = rng.choice(METHODS)
        principal = rng.choice([rng.randint(1, 999), rng.randint(1000, 10_000_000), rng.randint(1, 10**13)])
        rate = rng.choice(["0", f"0.{rng.randint(1, 36):02d}", f"0.{rng.randint(1, 999999):06d}"])
        start = f"{rng.randint(2024, 2030)}-{rng.randint(1, 12):02d}-{rng.choice([1, 15, 28, 29, 30, 31]):02d}"
        try:  # an impossible day of month becomes the month's last
            parse_request({"start": start, "principal": "1", "annual_rate": "0"})
        except ScheduleError:
            start = start[:8] + "28"
        term, first_due, due_dates = None, None, []
        if frequency == "custom":
            day = rng.randint(10, 60)
            count_dates = 1 if method == "bullet" else rng.randint(1, 8)
            y, m, d = (int(x) for x in start.split("-"))
            ordinal = date(y, m, d).toordinal()
            for _ in range(count_dates):
                ordinal += day + rng.randint(0, 120)
                due_dates.append(date.fromordinal(ordinal).isoformat())
        else:
            step = 3 if frequency == "quarterly" else 1
            term = step * rng.randint(1, 36 // step)
            if rng.random() < 0.4:
                y, m, d = (int(x) for x in start.split("-"))
                first = date(y, m, d).toordinal() + rng.randint(1, 50 * step)  # sometimes past the 2-period limit
                first_due = date.fromordinal(first).isoformat()
        cases.append(_case(
            f"random {i}", f"{principal // 100}.{principal % 100:02d}", rate, term, method, start,
            frequency, first_due, due_dates, rng.choice(DAY_COUNTS),
        ))
    return cases


def expected(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"schedule": build_schedule(parse_request(data)).to_dict()}
    except ScheduleError as exc:
        return {"error": {"message": exc.message, "params": exc.params}}


def vectors() -> list[dict[str, Any]]:
    return [{"name": name, "input": data, "expected": expected(data)}
            for name, data in named_cases() + random_cases()]


def render() -> str:
    # One vector per line keeps diffs readable when a rule changes.
    rows = ",\n".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in vectors())
    return "[\n" + rows + "\n]\n"


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
