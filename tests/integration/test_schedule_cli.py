"""``flask schedule`` prints what app/domain/schedule.py computes, as a table or JSON."""
from __future__ import annotations

import json

import pytest

from app import create_app
from app import config
from app.schedule_cli import EXIT_BAD_INPUT

ANNUITY = ["schedule", "--principal", "10000", "--annual-rate", "0.12", "--term", "12",
           "--method", "annuity", "--start", "2026-01-15"]


@pytest.fixture()
def runner(tmp_path):
    # The command needs no database: an app on an empty SQLite file is enough.
    app = create_app(config.TestConfig(f"sqlite:///{tmp_path / 'cli.sqlite3'}", tmp_path / "photos"))
    return app.test_cli_runner()


def test_json(runner):
    result = runner.invoke(args=[*ANNUITY, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["lines"]) == 12
    assert data["lines"][0] == {"seq": 1, "due_date": "2026-02-15", "principal": "788.49",
                                "interest": "100.00", "total": "888.49", "balance": "9211.51"}
    assert data["lines"][-1]["balance"] == "0.00"
    assert (data["total_principal"], data["total_interest"], data["total"]) == ("10000.00", "661.86", "10661.86")
    assert data["effective_annual_rate"] == "0.1274"
    assert data["request"]["method"] == "annuity"


def test_table(runner):
    result = runner.invoke(args=ANNUITY)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "equal installments" in lines[0] and "10,000.00 at 12 % a year" in lines[0]
    assert any(ln.split()[:6] == ["1", "2026-02-15", "788.49", "100.00", "888.49", "9,211.51"] for ln in lines)
    assert any(ln.split()[:4] == ["total", "10,000.00", "661.86", "10,661.86"] for ln in lines)
    assert "Effective annual rate (IRR over actual days / 365): 12.74 %" in result.output


def test_custom_harvest_dates_and_broken_first_period(runner):
    result = runner.invoke(args=["schedule", "--principal", "20000", "--annual-rate", "0.1", "--method", "bullet",
                                 "--start", "2026-03-05", "--frequency", "custom", "--due-date", "2026-09-30",
                                 "--day-count", "act/365", "--json"])
    assert result.exit_code == 0, result.output
    assert [(ln["due_date"], ln["interest"]) for ln in json.loads(result.output)["lines"]] == [
        ("2026-09-30", "1145.21")
    ]
    result = runner.invoke(args=[*ANNUITY, "--first-due", "2026-02-25", "--json"])
    assert json.loads(result.output)["lines"][0]["interest"] == "136.67"


@pytest.mark.parametrize(("extra", "message"), [
    (["--annual-rate", "12"], "The annual rate must be below 1"),
    (["--term", "0"], "The term must be between 1 and 600 months"),
    (["--start", "2026-02-30"], "2026-02-30 is not a date (YYYY-MM-DD)"),
    (["--principal", "0"], "The principal must be more than zero"),
    (["--first-due", "2026-06-01"], "must be after the start date and no later than 2026-03-15"),
    (["--frequency", "custom"], "A custom schedule has no separate first due date"),
])
def test_bad_input_exits_2_with_the_engine_message(runner, extra, message):
    args = [*ANNUITY, *extra]
    if extra[0] == "--frequency":
        args += ["--first-due", "2026-02-01"]
    result = runner.invoke(args=args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_method_is_a_usage_error(runner):
    result = runner.invoke(args=[*ANNUITY, "--method", "balloon"])
    assert result.exit_code == 2 and "balloon" in result.output
