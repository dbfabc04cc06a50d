"""``flask schedule``: a repayment schedule on the command line, from app/domain/schedule.py.

    flask --app app schedule --principal 10000 --annual-rate 0.12 --term 12 --method annuity \\
        --start 2026-01-15 [--frequency monthly] [--first-due DATE] [--due-date DATE ...] \\
        [--day-count act/360] [--json]

Amounts, rates and dates go to the engine as typed (``parse_request``, the parser the phone's
calculator ports), so the command, the server and the phone agree on what is valid. Bad input
prints the engine's message and exits with 2.
"""
from __future__ import annotations

import json

import click
from flask import Flask

from app.domain.money import format_money
from app.domain.schedule import (
    DAY_COUNTS,
    FREQUENCIES,
    METHODS,
    Schedule,
    ScheduleError,
    ScheduleRequest,
    build_schedule,
    parse_request,
)

__all__ = ["EXIT_BAD_INPUT", "register"]

EXIT_BAD_INPUT = 2
METHOD_NAMES = {
    "annuity": "equal installments 等额本息",
    "equal_principal": "equal principal 等额本金",
    "interest_only": "interest only, principal at maturity 按月付息到期还本",
    "bullet": "bullet, all at maturity 到期一次还本付息",
    "flat": "flat rate",
}


def _table(req: ScheduleRequest, schedule: Schedule) -> str:
    rate = f"{req.annual_rate * 100:f}".rstrip("0").rstrip(".")
    head = (f"{format_money(req.principal)} at {rate} % a year from {req.start}, "
            f"{METHOD_NAMES[req.method]}, {req.frequency}, day count {req.day_count}")
    row = "{:>4}  {:<10}  {:>16}  {:>14}  {:>16}  {:>16}"
    out = [head, "", row.format("#", "due date", "principal", "interest", "total", "balance")]
    for ln in schedule.lines:
        out.append(row.format(ln.seq, ln.due_date.isoformat(), format_money(ln.principal),
                              format_money(ln.interest), format_money(ln.total), format_money(ln.balance)))
    out.append(row.format("", "total", format_money(schedule.total_principal),
                          format_money(schedule.total_interest), format_money(schedule.total), ""))
    out.append("")
    out.append(f"Effective annual rate (IRR over actual days / 365): "
               f"{schedule.effective_annual_rate * 100:.2f} %")
    return "\n".join(out)


def register(app: Flask) -> None:
    @app.cli.command("schedule")
    @click.option("--principal", required=True, help="Amount in yuan, e.g. 10000 or 10000.00.")
    @click.option("--annual-rate", required=True, help="Nominal annual rate as a fraction: 0.12 is 12 %.")
    @click.option("--term", "term_months", type=int, default=None,
                  help="Term in months (monthly and quarterly; a custom schedule's dates set its term).")
    @click.option("--method", type=click.Choice(METHODS), required=True)
    @click.option("--start", required=True, help="Disbursement date, YYYY-MM-DD; interest runs from it.")
    @click.option("--frequency", type=click.Choice(FREQUENCIES), default="monthly", show_default=True)
    @click.option("--first-due", default=None,
                  help="First due date when it is not one period after the start (a broken first period).")
    @click.option("--due-date", "due_dates", multiple=True,
                  help="A due date of a custom schedule; repeat for each installment.")
    @click.option("--day-count", type=click.Choice(DAY_COUNTS), default="act/360", show_default=True,
                  help="How broken and custom periods accrue.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def schedule(principal: str, annual_rate: str, term_months: int | None, method: str, start: str,
                 frequency: str, first_due: str | None, due_dates: tuple[str, ...], day_count: str,
                 as_json: bool) -> None:
        """Print the repayment schedule of a loan."""
        data = {
            "principal": principal, "annual_rate": annual_rate, "term_months": term_months,
            "method": method, "start": start, "frequency": frequency, "first_due": first_due,
            "due_dates": list(due_dates), "day_count": day_count,
        }
        try:
            req = parse_request(data)
            result = build_schedule(req)
        except ScheduleError as exc:
            click.echo(f"Error: {exc}", err=True)
            click.get_current_context().exit(EXIT_BAD_INPUT)
            return
        if as_json:
            click.echo(json.dumps({"request": data, **result.to_dict()}, ensure_ascii=False, indent=2))
        else:
            click.echo(_table(req, result))
