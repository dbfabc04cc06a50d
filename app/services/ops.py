"""What the operations endpoints (app/web/ops.py) read from the database: whether it answers and
at which migration it stands (/readyz), and the backlogs /metrics reports at scrape time.

Each is one cheap query: /readyz is polled every few seconds by a load balancer, so the database
answer is one indexed read of ``alembic_version`` (which also proves the database answers); the
migration scripts' head is read from disk once per process (``script_heads``, cached).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import func, select, text

from app.domain.i18n import N_
from app.extensions import db
from app.metrics import Reading
from app.models import JobRun, OcrRun, SmsMessage
from app.services.errors import ServiceError

DAILY_JOB = "daily"  # JobRun.job of the daily job (app.services.jobs.DAILY)


class DatabaseDown(ServiceError):
    """The database did not answer; ``params["error"]`` names the error's class only (no URL, no password)."""


@lru_cache(maxsize=4)
def script_heads(migrations_dir: str) -> frozenset[str]:
    """The head revision(s) of the migration scripts in ``migrations_dir`` (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> frozenset[str]:
    """The revision(s) the database is at (empty: never migrated); raises DatabaseDown."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:  # any driver's error: unreachable, refused, no such table
        db.session.rollback()
        if "alembic_version" in str(exc) and ("exist" in str(exc) or "no such table" in str(exc)):
            return frozenset()
        raise DatabaseDown("database_down", N_("The database does not answer."), error=type(exc).__name__) from None
    finally:
        # A load balancer's poll must not hold a pooled connection's transaction open.
        db.session.rollback()
    return frozenset(rows)


def backlog_readings(today: date) -> list[Reading]:
    """The queues and the last daily job, read now (the same answer from every host and worker)."""
    sms_backlog = db.session.scalar(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.status.in_(("pending", "sending")))
    )
    sms_failed = db.session.scalar(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "failed", SmsMessage.for_date == today)
    )
    ocr_pending = db.session.scalar(select(func.count()).select_from(OcrRun).where(OcrRun.status == "pending"))
    ocr_running = db.session.scalar(select(func.count()).select_from(OcrRun).where(OcrRun.status == "running"))
    last = db.session.execute(
        select(JobRun.for_date, JobRun.finished_at).where(JobRun.job == DAILY_JOB)
        .order_by(JobRun.for_date.desc()).limit(1)
    ).first()
    db.session.rollback()
    readings = [
        Reading("sms_outbox_backlog", "SMS messages waiting to be sent or being sent (all hosts).", sms_backlog or 0),
        Reading("sms_outbox_failed_today", "SMS messages of today's business date given up as failed.", sms_failed or 0),
        Reading("ocr_queue_depth", "OCR runs waiting for a worker (all hosts).", ocr_pending or 0),
        Reading("ocr_running", "OCR runs a worker is reading now (all hosts).", ocr_running or 0),
    ]
    if last is not None:
        readings += [
            Reading("daily_job_last_business_day_seconds",
                    "The last business day the daily job has done, as a Unix time (midnight UTC of that date).",
                    _epoch(last.for_date)),
            Reading("daily_job_last_finished_seconds", "When the daily job last finished, as a Unix time.",
                    _as_utc_timestamp(last.finished_at)),
        ]
    return readings


def _epoch(day: date) -> float:
    return float((day - date(1970, 1, 1)).days * 86400)


def _as_utc_timestamp(value) -> float:
    from datetime import timezone

    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
