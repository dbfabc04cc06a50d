"""``flask report snapshots --from YYYY-MM-DD --to YYYY-MM-DD``: rebuild the kept figures of past
days from the ledger (schedules and standing repayments), for a book imported with its history.

Each day is committed on its own (an interrupted run keeps the days done and may simply be run
again); a refused range (the days in the wrong order, a day after today, more than three years)
exits 2 with the reason in Chinese and English and writes nothing.
"""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask_babel import force_locale

EXIT_REFUSED = 2


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        click.echo(f"{name} 必须是 YYYY-MM-DD 格式的日期。", err=True)
        click.echo(f"{name} must be a date written YYYY-MM-DD.", err=True)
        raise SystemExit(EXIT_REFUSED) from None


def run_snapshots(date_from: str, date_to: str) -> dict:
    from app import clock
    from app.http_edge import translate_message
    from app.services import snapshots
    from app.services.loans import LoanSettings

    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    try:
        done = snapshots.rebuild_range(first, last, today=clock.business_today(),
                                       class_days=LoanSettings.from_config(current_app.config).class_days)
    except snapshots.SnapshotRangeError as e:
        with force_locale("zh"):
            click.echo(translate_message(e.message, e.params), err=True)
        with force_locale("en"):
            click.echo(translate_message(e.message, e.params), err=True)
        raise SystemExit(EXIT_REFUSED) from None
    click.echo(f"{done['days']} 天 / days, {done['portfolio_rows']} 行 / rows")
    return done
