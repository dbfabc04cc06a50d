"""``flask photos migrate --to s3://bucket/prefix``: move the photo store into an object store.

    flask photos migrate --to s3://ddt-photos/prod [--jobs 4] [--verify-existing]
                                                     # copy, verify, check; run again to resume

Copies every original of the configured store (``PHOTO_STORE``, normally the local folder) into
the object store named by ``--to``, reached with the same settings the app uses for one
(``S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_DEFAULT_REGION``,
``S3_ADDRESSING_STYLE``). Verified, resumable, nothing deleted from the source; at the end every
photo the database names must be in the target, else the command lists what is missing and exits
with 1. See app/services/photo_migration.py.
"""
from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

__all__ = ["register"]

PROGRESS_EVERY_S = 2.0
MISSING_SHOWN = 200


def _target_store(url: str):
    from app.storage import make_store

    return make_store({**current_app.config, "PHOTO_STORE": url})


def _switch_lines(url: str) -> list[str]:
    """What the operator sets on every app host afterwards, exactly."""
    config = current_app.config
    lines = [f"  PHOTO_STORE={url}"]
    if config.get("S3_ENDPOINT_URL"):
        lines.append(f"  S3_ENDPOINT_URL={config['S3_ENDPOINT_URL']}")
    if config.get("S3_ADDRESSING_STYLE"):
        lines.append(f"  S3_ADDRESSING_STYLE={config['S3_ADDRESSING_STYLE']}")
    lines.append("  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION: the values this command ran with")
    return lines


def register(app: Flask) -> None:
    group = AppGroup("photos", help="The photo store: move it into an S3-compatible object store.")

    @group.command("migrate")
    @click.option("--to", "to", required=True, metavar="s3://BUCKET/PREFIX",
                  help="The object store to copy every photo into (its endpoint and credentials from "
                       "S3_ENDPOINT_URL and AWS_*, as for PHOTO_STORE).")
    @click.option("--verify-existing", is_flag=True,
                  help="Read back and hash every photo already in the target too (default: trust the "
                       "target's own SHA-256 of it, which it checked when the photo was written).")
    @click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
                  help="Photos copied at once (an object store far away answers each request slowly).")
    def migrate_command(to: str, verify_existing: bool, jobs: int) -> None:
        """Copy every photo into the object store TO, verified; safe to run again (it resumes)."""
        from app.extensions import photo_store
        from app.services import photo_migration
        from app.storage import StoreMisconfigured, StoreUnavailable

        url = to.strip()
        if not url.lower().startswith("s3://"):
            raise click.BadParameter("expected s3://bucket/prefix", param_hint="--to")
        if url.rstrip("/") == str(current_app.config.get("PHOTO_STORE") or "").strip().rstrip("/"):
            raise click.ClickException(f"PHOTO_STORE is {url} already: the photos are there; nothing to move.")
        source = photo_store()
        try:
            target = _target_store(url)
            target.check()
        except (StoreMisconfigured, StoreUnavailable, ValueError) as e:
            raise click.ClickException(f"目标存储不可用 the target store cannot be used: {e}") from None

        click.echo(f"迁移照片 moving photos: {source!r} -> {target!r} (nothing is deleted from the source)")
        last = [time.monotonic()]

        def progress(r: photo_migration.MigrationResult) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or r.done == r.total:
                last[0] = now
                click.echo(f"  {r.done}/{r.total} photos: {r.copied} copied ({r.bytes_copied / 1e6:.1f} MB), "
                           f"{r.already} already there and verified")

        try:
            result = photo_migration.migrate(source, target, verify_existing=verify_existing, jobs=jobs,
                                             progress=progress, describe=(repr(source), url))
        except KeyboardInterrupt:
            click.echo("\n中断 interrupted: nothing was deleted; run the same command again to finish "
                       "(what is verified in the target is skipped).", err=True)
            raise click.exceptions.Exit(130) from None
        except (StoreUnavailable, StoreMisconfigured) as e:
            raise click.ClickException(
                f"中断 interrupted, a store failed: {e}. Nothing was deleted; run the same command again "
                "to finish (what is verified in the target is skipped).") from None

        click.echo(f"copied {result.copied}, already there {result.already}, replaced {result.replaced} "
                   f"of {result.total} photos ({result.bytes_copied / 1e6:.1f} MB copied)")
        for sha256 in result.damaged_in_source:
            click.echo(f"  DAMAGED in the source (bytes do not match the name; not copied): {sha256}", err=True)
        for sha256 in result.failed:
            click.echo(f"  NOT VERIFIED in the target (removed there; run again): {sha256}", err=True)
        if result.missing:
            click.echo(f"MISSING: {len(result.missing)} photos the database refers to are not in the target:", err=True)
            for ref in result.missing[:MISSING_SHOWN]:
                if ref.sha256 in result.missing_in_source:
                    where = "not in the source either"
                elif ref.sha256 in result.damaged_in_source:
                    where = "damaged in the source"
                else:
                    where = "in the source: run again"
                click.echo(f"  {ref.kind} {ref.row_id} {ref.sha256} ({where})", err=True)
            if len(result.missing) > MISSING_SHOWN:
                click.echo(f"  … and {len(result.missing) - MISSING_SHOWN} more (the audit log keeps the first 50)", err=True)
        if not result.ok:
            click.echo("迁移未完成 the move is NOT complete: keep PHOTO_STORE as it is.", err=True)
            raise click.exceptions.Exit(1)
        click.echo("迁移完成 every photo the database refers to is in the target and verified.")
        click.echo("Next: set on every app host, then restart them (the old folder stays as it was; keep it "
                   "until the new store is backed up):")
        for line in _switch_lines(url):
            click.echo(line)
        click.echo("Photos received between this run and the switch: run this command once more just before "
                   "switching (it copies only those).")

    app.cli.add_command(group)
