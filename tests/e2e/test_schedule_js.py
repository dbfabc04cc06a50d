"""The phone's offline calculator (static/js/schedule.js) gives the server's numbers, in real Chromium.

Every vector of tests/vectors/schedules.json (written from app/domain/schedule.py by
scripts/make_schedule_vectors.py) goes through ``Schedule.build``: every amount, date and error
must be identical; only the effective annual rate, computed in floats on the phone, may differ
by 0.0001.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "static" / "js" / "schedule.js"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "schedules.json").read_text(encoding="utf-8"))
RATE_TOLERANCE = Decimal("0.0001")

RUN = """vectors => vectors.map(v => {
  try {
    return {schedule: Schedule.build(v.input)};
  } catch (e) {
    if (!(e instanceof Schedule.ScheduleError)) return {crash: String(e && e.stack || e)};
    return {error: {message: e.message, params: e.params}};
  }
})"""


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto("about:blank")
    page.add_script_tag(path=str(SCRIPT))
    yield page
    context.close()


def test_every_vector_gives_the_same_numbers(page):
    results = page.evaluate(RUN, VECTORS)
    problems = []
    for vector, got in zip(VECTORS, results, strict=True):
        want = vector["expected"]
        if "schedule" in want and "schedule" in got:
            want_rate = Decimal(want["schedule"].pop("effective_annual_rate"))
            got_rate = Decimal(got["schedule"].pop("effective_annual_rate"))
            if abs(want_rate - got_rate) > RATE_TOLERANCE:
                problems.append(f"{vector['name']}: effective rate {got_rate} != {want_rate}")
        if got != want:
            problems.append(f"{vector['name']}: {json.dumps(got)[:300]} != {json.dumps(want)[:300]}")
    assert not problems, f"{len(problems)} of {len(VECTORS)} vectors differ:\n" + "\n".join(problems[:20])


def test_floats_and_garbage_are_refused_not_guessed(page):
    result = page.evaluate("""() => {
      const base = {principal: "1000", annual_rate: "0.1", term_months: 12, method: "annuity", start: "2026-01-15"};
      const attempt = patch => {
        try { Schedule.build(Object.assign({}, base, patch)); return "built"; }
        catch (e) { return Schedule.format(e.message, e.params); }
      };
      return [attempt({annual_rate: 0.1}), attempt({principal: "1e3"}), attempt({start: "2026-1-5"}),
              attempt({}), attempt({principal: 1000})];
    }""")
    assert result == [
        " is not a valid annual rate",
        "1e3 is not a valid amount",
        "2026-1-5 is not a date (YYYY-MM-DD)",
        "built",
        "built",  # a whole number is as good as its string
    ]
