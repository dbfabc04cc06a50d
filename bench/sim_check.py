"""The SIM check's cost on every call of a SIM-bound phone (issue 15): reading the X-Device-Sim
header strictly and taking its keyed fingerprint, beside what every call already pays to check the
device token (a SHA-256 and a constant-time compare), measured in the same run.

    .venv/bin/python bench/sim_check.py [CALLS]
"""
from __future__ import annotations

import hashlib
import secrets
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain import sim  # noqa: E402
from tests.sim_identities import header  # noqa: E402


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    key = secrets.token_bytes(32)
    token = secrets.token_urlsafe(32)
    stored = hashlib.sha256(token.encode()).hexdigest()
    bound = sim.fingerprint(sim.parse_header(header("full")), key)

    def token_check() -> bool:
        return secrets.compare_digest(stored, hashlib.sha256(token.encode()).hexdigest())

    headers = {name: header(name) for name in ("full", "other-sim", "restricted", "no-sim")}

    def sim_check(name: str) -> bool:
        return sim.same(sim.fingerprint(sim.parse_header(headers[name]), key), bound)

    assert token_check() and sim_check("full") and not sim_check("other-sim")
    rows = [("token check (baseline, every call)", token_check)] + [
        (f"SIM check, {name}", (lambda n=name: sim_check(n))) for name in ("full", "restricted", "no-sim")]
    print(f"{'what':40} {'µs per call':>12}  (best of 5 × {calls})")
    base = None
    for label, fn in rows:
        best = min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e6
        base = base or best
        print(f"{label:40} {best:12.1f}  ×{best / base:.1f}")


if __name__ == "__main__":
    main()
