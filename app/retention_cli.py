"""``flask retention purge [--dry-run]``: delete the photos whose retention period has ended
(app/services/retention.py); the daily job runs the same purge."""
from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def retention_from(app: Flask):
    """The purge's settings (RETENTION_* configuration) and the configured photo store."""
    from app.extensions import photo_store
    from app.services.retention import Retention, RetentionSettings

    return Retention(RetentionSettings.from_config(app.config), photo_store())


def register(app: Flask) -> None:
    group = AppGroup("retention", help="Personal information over time: the retention purge.")

    @group.command("purge")
    @click.option("--dry-run", is_flag=True, help="Count what is due; delete nothing.")
    def purge(dry_run: bool) -> None:
        from app import clock
        from app.services import retention

        r = retention_from(current_app)
        counts = retention.purge(today=clock.business_today(), now=clock.now(), settings=r.settings,
                                 store=r.store, dry_run=dry_run)
        click.echo(("dry run, nothing deleted: " if dry_run else "retention purge: ") + json.dumps(counts))

    app.cli.add_command(group)
