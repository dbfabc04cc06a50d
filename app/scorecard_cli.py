"""``flask scorecard backtest`` and ``flask scorecard generate-book`` (issue 18).

``flask scorecard backtest [--product CODE] [--as-of YYYY-MM-DD] [--bands 50,60,70,80,90]
[--min-months 12] [--format json|text]`` prints the back-test of the products' current scorecards
on the institution's own past loans (app/services/backtest.py), for the whole institution (the
command line is the server's operator). JSON (``backtest.as_json``)::

    {"as_of": "2026-12-02", "min_months": 12, "default_definition": "ever 90+ days past due",
     "loans": 1843, "defaults": 231, "default_rate": "12.53",
     "gini": "0.6021", "gini_interval": ["0.5583", "0.6459"], "ks": "0.4640", "ks_score": 55,
     "bands": [{"band": "<50", "min": null, "max": 49, "loans": 700, "defaults": 170,
                "default_rate": "24.29", "share": "37.98", "cum_loans": "37.98",
                "cum_defaults": "73.59", "cum_goods": "32.75"}, …],
     "not_scorable": 57, "not_scorable_reasons": {"no_answers": 57, "no_scorecard": 0, "bad_answers": 0},
     "too_recent": 100, "scorecards": {"XYD": 1}, "verdict": "ranks", "verdict_text": "评分卡能够区分…"}

Counts are JSON integers; Gini, KS, rates and shares decimal strings (exact, rounded half-up;
percentages with two decimals, Gini and KS with four); null when they cannot be computed.
``--format text`` prints the same in Chinese for a person. A bad option exits 2 with the reason in
Chinese and English.

``flask scorecard generate-book --loans N [--seed S] [--product CODE] [--officer LOGIN]
[--as-of YYYY-MM-DD]`` writes a generated book whose true risk drivers are known
(app/services/backtest_book.py) — for a demonstration or a test database, never a production one.
"""
from __future__ import annotations

import json
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale

EXIT_REFUSED = 2

scorecard_group = AppGroup("scorecard", help="The scorecard: back-test on past loans, a generated book.")


def _refuse(message: str, params: dict | None = None) -> None:
    from app.http_edge import translate_message

    with force_locale("zh"):
        zh = translate_message(message, params)
    with force_locale("en"):
        en = translate_message(message, params)
    click.echo(zh, err=True)
    if en != zh:
        click.echo(en, err=True)
    raise SystemExit(EXIT_REFUSED)


def _day(value: str) -> date | None:
    from app import clock
    from app.domain.i18n import N_

    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        _refuse(N_("%(field)s must be a date written YYYY-MM-DD."), {"field": "--as-of"})
    if day > clock.business_today():
        _refuse(N_("The as-of date cannot be after today."))
    return day


@scorecard_group.command("backtest", help="How the current scorecard ranks past loans: Gini, KS, score bands.")
@click.option("--product", default="", help="A product's code (default: every product).")
@click.option("--as-of", "as_of", default="", help="YYYY-MM-DD (default: today in China Standard Time).")
@click.option("--bands", default="", help="Band edges, e.g. 50,60,70,80,90 (the default).")
@click.option("--min-months", "min_months", default="", help="Only loans disbursed at least this many months "
                                                              "before the as-of date (default 12).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json")
@with_appcontext
def backtest_command(product: str, as_of: str, bands: str, min_months: str, fmt: str) -> None:
    from app import clock
    from app.services import backtest, reporting
    from app.services.reporting import ReportRequestError

    raw = {"as_of": as_of, "product": product, "bands": bands, "min_months": min_months}
    try:
        request = reporting.parse("scorecard_backtest", {k: v for k, v in raw.items() if v}, viewer=None,
                                  today=clock.business_today())
        edges, months = backtest.options(request.extra)
    except ReportRequestError as e:
        _refuse(e.message, e.params)
    result = backtest.run(None, as_of=request.as_of, product_id=request.product_id, edges=edges, min_months=months)
    with force_locale("zh"):
        from flask_babel import gettext

        if fmt == "json":
            click.echo(json.dumps(backtest.as_json(result, gettext), ensure_ascii=False, indent=1))
        else:
            click.echo(backtest.as_text(result, gettext))


@scorecard_group.command("generate-book", help="Write a generated loan book whose true risk drivers are known "
                                               "(demonstration and test databases only).")
@click.option("--loans", "n", type=int, required=True, help="How many loans (and households).")
@click.option("--seed", type=int, default=18, show_default=True)
@click.option("--product", default="XYD", show_default=True, help="A product's code (monthly installments).")
@click.option("--officer", default="", help="The loan officer's login (default: the first officer).")
@click.option("--as-of", "as_of", default="", help="YYYY-MM-DD (default: today in China Standard Time).")
@with_appcontext
def generate_book_command(n: int, seed: int, product: str, officer: str, as_of: str) -> None:
    from app.services import backtest_book

    day = _day(as_of)
    try:
        made = backtest_book.generate(n, seed=seed, as_of=day, product_code=product, officer_login=officer or None)
    except backtest_book.BookGenerationError as e:
        _refuse(e.message, e.params)
    click.echo(f"贷款 loans: {made.loans} (已有 skipped: {made.skipped}), 还款 repayments: {made.repayments}, "
               f"计划违约 planned defaults: {made.planned_defaults}, 近期 recent: {made.recent}, "
               f"无调查 unsurveyed: {made.unsurveyed}")


def register(app: Flask) -> None:
    app.cli.add_command(scorecard_group)
