"""``flask ledger …``: the books from the command line, for scripts, the operator and the tests.

- ``flask ledger trial-balance [--as-of YYYY-MM-DD] --format json|csv|xlsx [--output FILE]``: JSON is
  ``{"as_of", "accounts": [{"code", "name", "debit", "credit", "balance"}], "totals": {"debit",
  "credit"}}`` with amounts as strings in yuan with two decimals; CSV and XLSX are the screen's
  download. Without ``--output`` the file goes to standard output. Audited as ``report.exported``.
- ``flask ledger reconcile [--as-of YYYY-MM-DD]``: the 贷款 and 应收利息 accounts (and the other
  loan accounts) against the loans, one row each; exits 1 on any difference.
- ``flask ledger close-day [--date YYYY-MM-DD]``: the day-end close (default yesterday).
- ``flask ledger provision YYYY-MM`` and ``flask ledger close-month YYYY-MM``: the month-end
  provisioning and close, with their checks.

A refusal (a bad date, a closed period, a check that fails) exits 2 with the reason in Chinese and
English, and writes nothing.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale

EXIT_DIFFERENCE = 1
EXIT_REFUSED = 2

ledger_group = AppGroup("ledger", help="The books: trial balance, reconciliation, day and month close.")


def _refuse_error(e) -> None:
    from app.http_edge import translate_message

    with force_locale("zh"):
        zh = translate_message(e.message, e.params)
    with force_locale("en"):
        en = translate_message(e.message, e.params)
    _refuse(zh, en)


def _refuse(zh: str, en: str) -> None:
    click.echo(zh, err=True)
    if en != zh:
        click.echo(en, err=True)
    raise SystemExit(EXIT_REFUSED)


def _day(raw: str, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        _refuse(f"日期应写作 YYYY-MM-DD：{raw}", f"Dates are written YYYY-MM-DD: {raw}")
        raise  # unreachable


def _yuan(fen: int) -> str:
    from app.services.ledger_reports import yuan

    return yuan(fen)


@ledger_group.command("trial-balance", help="The trial balance as of a day, as JSON, CSV or XLSX.")
@click.option("--as-of", "as_of", default="", help="YYYY-MM-DD (default: today in China Standard Time).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write (replaced only once complete); standard output without it.")
def trial_balance_command(as_of: str, fmt: str, output: Path | None) -> None:
    from app import clock
    from app.services import exports, ledger_reports

    day = _day(as_of, clock.business_today())
    if output is not None and not output.parent.is_dir():
        _refuse(f"输出目录不存在：{output.parent}", f"The output folder does not exist: {output.parent}")
    tb = ledger_reports.trial_balance(day)
    report = ledger_reports.trial_balance_report(day)

    def write_json(_report, f) -> int:
        f.write(json.dumps(tb.as_json(), ensure_ascii=False, indent=1).encode("utf-8") + b"\n")
        return len(tb.rows)

    writer = write_json if fmt == "json" else None
    with force_locale("zh"):
        if output is not None:
            rows = exports.audited_write(None, report, fmt, output, writer=writer)
            click.echo(f"{output}: {rows} 行 / rows", err=True)
        else:
            import io

            buffer = io.BytesIO()
            rows = writer(report, buffer) if writer else exports.write(report, fmt, buffer)
            exports.record(None, report, fmt, rows)
            click.echo(buffer.getvalue(), nl=False)
    if not tb.balanced:
        click.echo(f"借贷不平：借方 {_yuan(tb.debit)}，贷方 {_yuan(tb.credit)} / The trial balance does not balance.",
                   err=True)
        raise SystemExit(EXIT_DIFFERENCE)


@ledger_group.command("reconcile", help="The loan accounts against the loans; exits 1 on any difference.")
@click.option("--as-of", "as_of", default="", help="YYYY-MM-DD (default: today in China Standard Time).")
def reconcile_command(as_of: str) -> None:
    from app import clock
    from app.services import ledger_loans

    day = _day(as_of, clock.business_today())
    result = ledger_loans.reconcile(day)
    click.echo(f"{'科目':<6} {'名称':<12} {'账面':>16} {'贷款台账':>16} {'差额':>14}   as of {day.isoformat()}")
    for row in result.rows:
        mark = "" if row.difference_fen == 0 else "  ✗"
        click.echo(f"{row.code:<8} {row.name:<12} {_yuan(row.ledger_fen):>16} {_yuan(row.loans_fen):>16} "
                   f"{_yuan(row.difference_fen):>14}{mark}")
    waiting = getattr(result, "not_in_books", 0)
    if waiting:
        click.echo(f"{waiting} 笔贷款尚未入账（期初余额未过账） / loans whose opening balances are not posted yet")
    if not result.ok or any(row.difference_fen for row in result.rows):
        click.echo("账务与贷款台账不符 / The ledger and the loans differ.", err=True)
        raise SystemExit(EXIT_DIFFERENCE)
    click.echo("核对相符 / The ledger agrees with the loans.")


@ledger_group.command("close-day", help="The day-end close of a day (default yesterday) and of every day before it.")
@click.option("--date", "day", default="", help="YYYY-MM-DD, a day that is over (default: yesterday).")
def close_day_command(day: str) -> None:
    from app import clock
    from app.extensions import db
    from app.services import ledger_close
    from app.services.errors import ServiceError

    when = _day(day, clock.business_today() - timedelta(days=1))
    try:
        done = ledger_close.close_day(when)
    except ServiceError as e:
        db.session.rollback()
        _refuse_error(e)
    click.echo(f"日结至 {done['closed_through']} / closed through {done['closed_through']}: "
               f"{done.get('entries', 0)} 张凭证 / entries, 借 {_yuan(done.get('debit', 0))} 贷 {_yuan(done.get('credit', 0))}")


@ledger_group.command("provision", help="The loan loss provision of a month (YYYY-MM), once it has ended.")
@click.argument("period")
def provision_command(period: str) -> None:
    from app.extensions import db
    from app.services import provisioning
    from app.services.errors import ServiceError

    try:
        done = provisioning.provision(period)
    except ServiceError as e:
        db.session.rollback()
        _refuse_error(e)
    click.echo(f"{period} 贷款损失准备 / loan loss provision: 目标 target {_yuan(done['target'])}, "
               f"原有 before {_yuan(done['before'])}, 本次 posted {_yuan(done['posted'])}")


@ledger_group.command("close-month", help="The month-end close of a period (YYYY-MM) after its checks.")
@click.argument("period")
def close_month_command(period: str) -> None:
    from app.extensions import db
    from app.services import ledger_close
    from app.services.errors import ServiceError

    try:
        done = ledger_close.close_month(period, None)
    except ServiceError as e:
        db.session.rollback()
        _refuse_error(e)
    tb = done["checks"]["close"]["trial_balance"]
    click.echo(f"{period} 已结账 / closed: 借 {_yuan(tb['debit'])} 贷 {_yuan(tb['credit'])}, 核对相符 / reconciled")


def register(app: Flask) -> None:
    app.cli.add_command(ledger_group)
