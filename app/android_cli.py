"""``flask android …``: the officer's Android app as the server offers it to the phones.

    flask android publish PATH [--min-version-code N] [--version-name TEXT]
    flask android list
    flask android set-minimum N

``publish`` checks the APK (a zip with our package, ANDROID_PACKAGE, and a version code above the
published one), keeps it and its row together (app/services/android_releases.py), audited. The
phones find it at /api/v1/android/release, people at /android. Refusals print the reason in
Chinese and exit with 1, nothing kept.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale

__all__ = ["register"]


def _refusal(error) -> click.ClickException:
    from app.http_edge import translate_message

    with force_locale("zh"):
        return click.ClickException(translate_message(error.message, error.params))


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def register(app: Flask) -> None:
    android = AppGroup("android", help="The officer's Android app: publish a new version, list, set the minimum.")

    @android.command("publish")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--min-version-code", type=click.IntRange(min=0), default=None,
                  help="The oldest app version code that may still sync (default: the previous release's).")
    @click.option("--version-name", default=None, help="The name shown to people (default: the manifest's).")
    def publish(path: Path, min_version_code: int | None, version_name: str | None) -> None:
        """Publish the APK at PATH as the app the phones install."""
        from app import clock
        from app.services import android_releases as releases

        try:
            done = releases.publish(path, files=releases.files_from(current_app.config),
                                    package=current_app.config["ANDROID_PACKAGE"], now=clock.now(),
                                    min_version_code=min_version_code, version_name=version_name)
        except releases.ReleaseError as e:
            raise _refusal(e) from None
        r = done.release
        click.echo(f"已发布 published: {r.package} {r.version_name} (version code {r.version_code}), "
                   f"{_size(r.size)}, SHA-256 {r.sha256}; minimum version code {r.min_version_code}"
                   + (f"; replaces {done.previous}" if done.previous is not None else ""))

    @android.command("list")
    def list_command() -> None:
        """The published versions, newest first."""
        from app.services import android_releases as releases

        rows = releases.list_releases()
        if not rows:
            click.echo("尚未发布 no app version published yet (flask android publish PATH)")
            return
        click.echo(f"{'code':>6}  {'name':<16} {'size':>8}  {'min':>5}  {'published (UTC)':<19}  sha256")
        for r in rows:
            click.echo(f"{r.version_code:>6}  {r.version_name:<16} {_size(r.size):>8}  {r.min_version_code:>5}  "
                       f"{r.published_at:%Y-%m-%d %H:%M:%S}  {r.sha256}")

    @android.command("set-minimum")
    @click.argument("version_code", type=int)
    def set_minimum(version_code: int) -> None:
        """Apps below VERSION_CODE must update before they may sync."""
        from app.services import android_releases as releases

        try:
            row = releases.set_minimum(version_code)
        except releases.ReleaseError as e:
            raise _refusal(e) from None
        click.echo(f"最低版本 minimum version code now {row.min_version_code} (latest {row.version_code})")

    app.cli.add_command(android)
