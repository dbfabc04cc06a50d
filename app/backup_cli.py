"""``flask backup DIR`` and ``flask restore DIR``: the whole installation, database, photos and the
published Android apps.

    flask backup /backups/2026-11-30      # a new folder: database, photos, apps, manifest.json
    flask restore /backups/2026-11-30     # only into an empty installation

Refusals print the service's message in Chinese (the institution's language) and exit with 1;
see app/services/backup.py for what is copied and how.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask_babel import force_locale

__all__ = ["register"]


def _refusal(error) -> click.ClickException:
    from app.http_edge import translate_message

    with force_locale("zh"):
        return click.ClickException(translate_message(error.message, error.params))


def _known_revisions() -> frozenset[str]:
    """Every migration revision this version of the app has (from migrations/)."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return frozenset(script.revision for script in ScriptDirectory.from_config(config).walk_revisions())


def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(directory: Path) -> None:
        """Back up the database, the photo store and the published Android apps into DIRECTORY (new or empty)."""
        from flask import current_app

        from app import clock
        from app.config import APP_VERSION
        from app.extensions import photo_store
        from app.services import android_releases, backup

        try:
            manifest = backup.create(directory, photo_store(), android_releases.files_from(current_app.config),
                                     now=clock.now(), app_version=APP_VERSION)
        except backup.BackupError as e:
            raise _refusal(e) from None
        click.echo(f"备份完成 backup written: {directory} — database {manifest.database_kind}, "
                   f"revision {manifest.alembic_revision or '-'}, {len(manifest.photos)} photos, "
                   f"{len(manifest.apks)} Android apps, "
                   f"{len(manifest.files)} files, {manifest.total_bytes} bytes")

    @app.cli.command("restore")
    @click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def restore_command(directory: Path) -> None:
        """Restore the backup in DIRECTORY into this installation, which must be empty."""
        from flask import current_app

        from app.extensions import photo_store
        from app.services import android_releases, backup

        try:
            manifest = backup.restore(directory, photo_store(), android_releases.files_from(current_app.config),
                                      known_revisions=_known_revisions())
        except backup.BackupError as e:
            raise _refusal(e) from None
        click.echo(f"恢复完成 restored: {directory} (made {manifest.created_at}, app {manifest.app_version}, "
                   f"revision {manifest.alembic_revision or '-'}): {len(manifest.photos)} photos, "
                   f"{len(manifest.apks)} Android apps. "
                   f"Then run `flask db upgrade` if this version of the app is newer.")
