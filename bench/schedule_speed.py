"""How fast is the exact schedule engine, and how far are float formulas from its fen?

Run from the repository root:

    .venv/bin/python bench/schedule_speed.py [--loans 10000] [--seed 2026]

For N random 12-month annuities (等额本息; principal 1,000-500,000 yuan in whole fen, annual rate
1-36 % with 6 decimals, the precision loans store; start 2026-01-15) it times, in one run:

* our engine, ``build_schedule`` (integer fen, BigInt-portable), whole schedule with the
  effective annual rate (an IRR solved in Decimal, which dominates the cost);
* our engine, the amortisation alone (the lines, without the IRR) — what posting a loan needs;
* numpy-financial's float ``pmt``/``ipmt``/``ppmt``, one loan at a time (the same per-schedule
  work as ours) and all N loans in one vectorised call (its best case);

and prints schedules per second for each. It then compares every loan line by line with
numpy-financial's floats rounded half-up to the fen, and prints the largest difference in fen
for the payment, the interest and principal parts, and the last installment (where our schedule
absorbs the rounding and the float one does not), how many loans differ at all, and how many
float schedules, once rounded, no longer add up to the principal.

numpy-financial is a bench-only dependency (requirements-dev.txt); 1.0.0 is the newest release
that installs on Python 3.11.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib.metadata import version
from pathlib import Path

# Run as a plain script from the repo root: make app.domain importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import numpy_financial as npf  # noqa: E402

from app.domain import schedule as engine  # noqa: E402

TERM = 12
START = date(2026, 1, 15)


def random_loans(n: int, seed: int) -> list[engine.ScheduleRequest]:
    rng = random.Random(seed)
    return [
        engine.ScheduleRequest(
            principal=Decimal(rng.randint(100_000, 50_000_000)) / 100,
            annual_rate=Decimal(rng.randint(10_000, 360_000)) / 1_000_000,
            term_months=TERM, method="annuity", start=START,
        )
        for _ in range(n)
    ]


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} schedules/s  ({seconds * 1e6 / count:,.1f} µs each)"


def fen(x: float) -> int:
    """A float amount rounded half-up to whole fen (via its shortest repr, as a person would)."""
    return int((Decimal(repr(abs(float(x)))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def engine_fen(amount: Decimal) -> int:
    return int(amount * 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=10_000, help="number of random loans (default 10000)")
    parser.add_argument("--seed", type=int, default=2026, help="RNG seed (default 2026)")
    args = parser.parse_args(argv)
    loans = random_loans(args.loans, args.seed)
    print(f"Python {sys.version.split()[0]}, numpy {version('numpy')}, "
          f"numpy-financial {version('numpy-financial')}; {len(loans):,} loans of {TERM} months")

    started = time.perf_counter()
    ours = [engine.build_schedule(req) for req in loans]
    full_s = time.perf_counter() - started

    started = time.perf_counter()
    for req in loans:
        engine._lines_fen(engine._plan(req), req.method)  # the lines without the IRR
    lines_s = time.perf_counter() - started

    rates = np.array([float(req.annual_rate) / 12 for req in loans])
    principals = np.array([float(req.principal) for req in loans])
    per = np.arange(1, TERM + 1)
    started = time.perf_counter()
    for r, p in zip(rates, principals):
        npf.pmt(r, TERM, -p)
        npf.ipmt(r, per, TERM, -p)
        npf.ppmt(r, per, TERM, -p)
    npf_one_s = time.perf_counter() - started

    started = time.perf_counter()
    pmt = npf.pmt(rates, TERM, -principals)
    ipmt = npf.ipmt(rates[:, None], per[None, :], TERM, -principals[:, None])
    ppmt = npf.ppmt(rates[:, None], per[None, :], TERM, -principals[:, None])
    npf_batch_s = time.perf_counter() - started

    print("Speed")
    print(f"  engine, whole schedule with IRR      {per_second(len(loans), full_s)}")
    print(f"  engine, lines only (no IRR)          {per_second(len(loans), lines_s)}")
    print(f"  numpy-financial, one loan per call   {per_second(len(loans), npf_one_s)}")
    print(f"  numpy-financial, all loans at once   {per_second(len(loans), npf_batch_s)}")

    worst = dict.fromkeys(("payment", "interest", "principal, lines 1-11", "principal, last line",
                           "last installment"), 0)
    differing = not_adding_up = 0
    for k, schedule in enumerate(ours):
        lines = schedule.lines
        float_parts = [fen(ppmt[k, i]) for i in range(TERM)]
        diffs = {
            "payment": abs(engine_fen(lines[0].total) - fen(pmt[k])),
            "interest": max(abs(engine_fen(ln.interest) - fen(ipmt[k, i])) for i, ln in enumerate(lines)),
            "principal, lines 1-11": max(abs(engine_fen(ln.principal) - float_parts[i])
                                         for i, ln in enumerate(lines[:-1])),
            "principal, last line": abs(engine_fen(lines[-1].principal) - float_parts[-1]),
            "last installment": abs(engine_fen(lines[-1].total) - fen(pmt[k])),
        }
        differing += any(diffs.values())
        not_adding_up += sum(float_parts) != engine_fen(schedule.total_principal)
        for name, value in diffs.items():
            worst[name] = max(worst[name], value)
    print("Largest difference from numpy-financial's floats rounded half-up to the fen")
    for name, value in worst.items():
        print(f"  {name:<22} {value} fen")
    print(f"  loans with any line different: {differing:,} of {len(loans):,} "
          f"({100 * differing / len(loans):.1f} %)")
    print(f"  float schedules whose rounded principal parts miss the principal: {not_adding_up:,} "
          f"({100 * not_adding_up / len(loans):.1f} %); ours: 0 by construction")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
