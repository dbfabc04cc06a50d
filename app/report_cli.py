"""``flask report NAME [--as-of YYYY-MM-DD] [--from … --to …] [--by office|branch|officer|product]
[--office CODE] [--officer ID] [--product CODE] --format csv|xlsx|json --out FILE``.

The same files as the screens' downloads (app/services/exports.py), for the whole institution (the
command line is the server's operator). JSON, for scripts and tests, is ``reporting.as_json``:
``{"report", "as_of", "filters", "rows": [...], "totals": {...}}`` with amounts as strings in yuan
with two decimals. A request that cannot be honoured (an unknown report, a bad date, a period in
the wrong order or longer than three years, an unknown office…) exits 2 with the reason in Chinese
and English, and writes nothing. Every file written is audited as ``report.exported``.

Other report tools (``flask report snapshots``) are commands of the same group: a name that is not
one of them is taken for a report.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale

EXIT_REFUSED = 2


class ReportGroup(AppGroup):
    """``flask report NAME``: a registered subcommand, else the report called NAME."""

    def get_command(self, ctx, cmd_name):
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        return _report_command(cmd_name)

    def list_commands(self, ctx):
        from app.services.reporting import NAMES

        return sorted(set(super().list_commands(ctx)) | set(NAMES))


def _report_command(name: str) -> click.Command:
    @click.command(name, help=f"Write the report {name!r} to a file (CSV, XLSX or JSON).")
    @click.option("--as-of", "as_of", default="", help="YYYY-MM-DD (default: today in China Standard Time).")
    @click.option("--from", "date_from", default="", help="A period's first day, YYYY-MM-DD.")
    @click.option("--to", "date_to", default="", help="A period's last day, YYYY-MM-DD.")
    @click.option("--by", default="", help="Breakdown: office, branch, officer or product.")
    @click.option("--office", default="", help="An office's code: it and every office under it.")
    @click.option("--officer", default="", help="A loan officer's user id.")
    @click.option("--product", default="", help="A product's code.")
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), required=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="The file to write (replaced only once complete).")
    @with_appcontext
    def command(as_of, date_from, date_to, by, office, officer, product, fmt, out: Path) -> None:
        run_report(name, {"as_of": as_of, "from": date_from, "to": date_to, "by": by, "office": office,
                          "officer": officer, "product": product}, fmt, out)

    return command


def run_report(name: str, raw: dict[str, str], fmt: str, out: Path) -> int:
    from app import clock
    from app.http_edge import translate_message
    from app.services import exports, reporting

    raw = {k: v for k, v in raw.items() if v}
    if not out.parent.is_dir():
        _refuse(f"输出目录不存在：{out.parent}", f"The output folder does not exist: {out.parent}")
    try:
        request = reporting.parse(name, raw, viewer=None, today=clock.business_today())
        report = reporting.run(None, request)
    except reporting.ReportRequestError as e:
        with force_locale("zh"):
            zh = translate_message(e.message, e.params)
        with force_locale("en"):
            en = translate_message(e.message, e.params)
        _refuse(zh, en)
    with force_locale("zh"):
        if fmt == "json":
            rows = exports.audited_write(None, report, fmt, out, writer=_write_json)
        else:
            rows = exports.audited_write(None, report, fmt, out)
    click.echo(f"{out}: {rows} 行 / rows")
    return rows


def _write_json(report, f) -> int:
    """``reporting.as_json``'s shape, written a row at a time (a long list is never held whole)."""
    from app.services import reporting

    def dump(value) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")

    head = {"report": report.name, "as_of": report.as_of.isoformat(), "filters": reporting.filters_shown(report.request)}
    f.write(dump(head)[:-1] + b', "rows": [')
    n = 0
    for row in report.rows:
        f.write((b",\n" if n else b"\n") + dump({key: reporting.plain(value) for key, value in row.items()}))
        n += 1
    f.write(b'\n], "totals": ' + dump({key: reporting.plain(value) for key, value in report.totals.items()}) + b"}\n")
    return n


def _refuse(zh: str, en: str) -> None:
    click.echo(zh, err=True)
    if en != zh:
        click.echo(en, err=True)
    raise SystemExit(EXIT_REFUSED)


# The group: app/cli.py registers it; other report tools add their commands to it.
report_group = ReportGroup("report", help="Reports as files: flask report NAME --format csv|xlsx|json --out FILE.")


@report_group.command("snapshots", help="Rebuild the kept figures of past days from the ledger (imported books).")
@click.option("--from", "date_from", required=True, help="The first day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="The last day, YYYY-MM-DD.")
def snapshots_command(date_from: str, date_to: str) -> None:
    from app.snapshots_cli import run_snapshots

    run_snapshots(date_from, date_to)


def register(app: Flask) -> None:
    app.cli.add_command(report_group)
