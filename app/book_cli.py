"""``flask import book FILE.xlsx [--dry-run] [--json]`` and ``flask export book FILE.xlsx``.

The import checks the whole workbook and writes nothing unless all of it is right (app/services/book.py);
then the daily job brings the imported loans' arrears, penalties and classification up to date.
``--json`` prints exactly {"borrowers", "loans", "repayments", "outstanding_principal",
"past_due_loans", "errors": [{"sheet", "row", "column", "message"}]}; the exit code is 1 when there
are errors, 2 when the file itself is refused (not a workbook, too big).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale

EXIT_ERRORS, EXIT_REFUSED = 1, 2


def summary_dict(summary, translate) -> dict:
    return {
        "borrowers": summary.borrowers, "loans": summary.loans, "repayments": summary.repayments,
        "outstanding_principal": str(summary.outstanding_principal), "past_due_loans": summary.past_due_loans,
        "errors": [{"sheet": e.sheet, "row": e.row, "column": e.column, "message": translate(e.message, dict(e.params))}
                   for e in summary.errors],
    }


def register(app: Flask) -> None:
    group_import = AppGroup("import", help="Bring data in: flask import book FILE.xlsx.")
    group_export = AppGroup("export", help="Write data out: flask export book FILE.xlsx.")

    @group_import.command("book")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the workbook and report; write nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary and the errors as JSON.")
    @click.option("--by", "login", default=None, help="Administrator to record the import as (default: the first).")
    def import_book(file: Path, dry_run: bool, as_json: bool, login: str | None) -> None:
        """Import an existing loan book (sheets 借款人, 贷款, 还款)."""
        from app import clock
        from app.http_edge import translate_message
        from app.services import book, jobs

        with force_locale("zh"):
            try:
                summary = book.run(file, user=book.actor(login), today=clock.business_today(), now=clock.now(),
                                   dry_run=dry_run, class_days=jobs.class_days(current_app.config),
                                   max_bytes=current_app.config.get("BOOK_MAX_BYTES", book.DEFAULT_MAX_BYTES),
                                   file_name=file.name)
            except book.BookRefused as e:
                message = translate_message(e.message, e.params)
                if as_json:
                    click.echo(json.dumps({"borrowers": 0, "loans": 0, "repayments": 0, "outstanding_principal": "0.00",
                                           "past_due_loans": 0, "errors": [{"sheet": None, "row": None, "column": None,
                                                                            "message": message}]}, ensure_ascii=False))
                else:
                    click.echo(message, err=True)
                raise SystemExit(EXIT_REFUSED) from None
            result = summary_dict(summary, translate_message)
        if summary.written:
            _daily(current_app)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            for e in result["errors"]:
                where = "/".join(str(x) for x in (e["sheet"], e["row"], e["column"]) if x is not None)
                click.echo(f"{where}: {e['message']}")
            click.echo(f"借款人 {summary.borrowers}，贷款 {summary.loans}，还款 {summary.repayments}，"
                       f"未还本金 {summary.outstanding_principal:,.2f} 元，逾期贷款 {summary.past_due_loans}")
            if summary.errors:
                click.echo(f"{len(summary.errors)} 个问题：未导入任何数据。")
            elif dry_run:
                click.echo("检查通过（试运行，未写入）。")
            else:
                click.echo(f"已导入：新借款人 {summary.new_borrowers}，新贷款 {summary.new_loans}，"
                           f"新还款 {summary.new_repayments}。")
        if summary.errors:
            raise SystemExit(EXIT_ERRORS)

    @group_export.command("book")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def export_book(file: Path) -> None:
        """Export the loan book in the import's format."""
        from app.services import book

        counts = book.export(file)
        click.echo(" ".join(f"{sheet} {n}" for sheet, n in counts.items()))

    app.cli.add_command(group_import)
    app.cli.add_command(group_export)


def _daily(app: Flask) -> None:
    """The daily job after an import, under its lease like ``flask jobs daily``; a busy lease is told, not fatal."""
    from app import clock
    from app.services import job_control
    from app.services import jobs as job_service
    from app.services.tasks import TaskSettings

    try:
        job_control.run_leased(clock.business_today(), holder=job_control.holder_name("import"), now=clock.now(),
                               class_days=job_service.class_days(app.config),
                               sms_settings=job_service.sms_settings(app.config),
                               task_settings=TaskSettings.from_config(app.config))
    except job_control.JobBusy:
        click.echo("日终任务正在运行；导入的贷款将在其下次运行时更新。", err=True)
