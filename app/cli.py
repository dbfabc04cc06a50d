"""Command-line tools: ``flask demo load``, ``flask users create``, ``flask translate …``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "app" / "translations"


def register_cli(app: Flask) -> None:
    demo = AppGroup("demo", help="Demo data for the embedded default.")

    @demo.command("load")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
    def demo_load(if_empty: bool) -> None:
        from app.services import demo as demo_service

        if not demo_service.is_empty():
            if if_empty:
                click.echo("Database already has data; demo data not loaded.")
                return
            raise click.ClickException("The database is not empty; demo data is only loaded into an empty one.")
        from app.extensions import photo_store

        users = demo_service.load(current_app.config["PASSWORD_HASH_METHOD"], photo_store())
        click.echo(f"Demo data loaded. Accounts (password {demo_service.DEMO_PASSWORD}):")
        for user in users.values():
            click.echo(f"  {user.username:<10} {user.full_name:<6} {', '.join(sorted(user.roles))}")

    @demo.command("accounts")
    def demo_accounts() -> None:
        from app.services import demo as demo_service

        click.echo(f"Demo accounts (password {demo_service.DEMO_PASSWORD}):")
        for username, full_name, roles, _office in demo_service.DEMO_USERS:
            click.echo(f"  {username:<10} {full_name:<6} {', '.join(roles)}")

    translate = AppGroup("translate", help="Extract, update and compile the UI translations.")

    def babel(*args: str) -> None:
        pybabel = Path(sys.executable).with_name("pybabel")
        subprocess.run([str(pybabel), *args], check=True, cwd=PROJECT_ROOT)

    @translate.command("update")
    def translate_update() -> None:
        babel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o", "messages.pot", ".")
        babel("update", "-i", "messages.pot", "-d", str(TRANSLATIONS))
        (PROJECT_ROOT / "messages.pot").unlink()

    @translate.command("compile")
    def translate_compile() -> None:
        babel("compile", "-d", str(TRANSLATIONS))

    jobs = AppGroup("jobs", help="Scheduled jobs; safe to run from cron on any host, any number of times.")

    @jobs.command("daily")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Business day to bring the loans to (default: today in China Standard Time).")
    @click.option("--if-not-done", is_flag=True,
                  help="The cron form on several hosts: skip a day that already ran, and exit quietly "
                       "while another host runs it.")
    def jobs_daily(day, if_not_done: bool) -> None:
        from app import clock
        from app.services import job_control
        from app.services import jobs as job_service
        from app import retention_cli
        from app.services.tasks import TaskSettings

        for_day = day.date() if day else clock.business_today()

        try:  # under the run lease: never beside another run (the admin's run now, another host)
            result = job_control.run_leased(
                for_day, holder=job_control.holder_name("cli"), now=clock.now(), if_not_done=if_not_done,
                class_days=job_service.class_days(current_app.config),
                sms_settings=job_service.sms_settings(current_app.config),
                task_settings=TaskSettings.from_config(current_app.config),
                retention=retention_cli.retention_from(current_app))
        except job_control.JobBusy as e:
            if if_not_done:  # another host (or the admin's run now) is doing the day: nothing to do here
                click.echo(f"daily job for {for_day.isoformat()}: being run by {e.params['holder']}")
                return
            raise click.ClickException(f"daily job for {for_day.isoformat()} not run: already running "
                                       f"({e.params['holder']})") from None
        if result.get("already_done"):
            click.echo(f"daily job for {for_day.isoformat()}: already done")
            return
        click.echo(f"daily job for {for_day.isoformat()}: {result}")

    @jobs.command("sms")
    def jobs_sms() -> None:
        """Send the SMS reminders that are due (run every few minutes; each message goes once)."""
        from app import clock
        from app.services import sms as sms_service
        from app.sms import make_gateway, reminder_settings

        result = sms_service.send_due(clock.now(), make_gateway(current_app.config),
                                      max_attempts=reminder_settings(current_app.config).max_attempts)
        click.echo(f"sms: {result}")

    app.cli.add_command(demo)
    app.cli.add_command(translate)
    app.cli.add_command(jobs)

    from app.ocr.cli import register as register_ocr

    register_ocr(app)
    from app.retention_cli import register as register_retention

    register_retention(app)
    from app.schedule_cli import register as register_schedule

    register_schedule(app)
    from app.setup_cli import register as register_setup

    register_setup(app)
    from app.book_cli import register as register_book

    register_book(app)
    from app.backup_cli import register as register_backup

    register_backup(app)
    from app.report_cli import register as register_report

    register_report(app)
    from app.ledger_cli import register as register_ledger

    register_ledger(app)
    from app.android_cli import register as register_android

    register_android(app)
    from app.scorecard_cli import register as register_scorecard

    register_scorecard(app)
    from app.photos_cli import register as register_photos

    register_photos(app)
