"""The Prometheus metrics (prometheus-client), defined once here; code elsewhere calls one line
(``metrics.login_failures.labels(why="password").inc()``). Plain Python, no Flask: services and
the CLI may import it; app/domain never does.

Across gunicorn's worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set in the environment
before the process starts (deploy/gunicorn.conf.py), prometheus-client keeps every value in a
memory-mapped file of that folder and ``render`` adds up all processes' files; gunicorn's
``child_exit`` hook (``mark_dead``) drops a dead worker's live gauges. Without it, each process
counts alone (fine for one process: ``flask run``, the tests).

What the database knows better than one process (the OCR queue, the SMS outbox, the last daily
job) is read at scrape time by the view and passed to ``render`` as ``Reading``s, so every host and
worker reports the same truth and a job run from cron is seen too.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

# A flask command (cron, `flask db upgrade`) may run on a host before gunicorn made the folder:
# prometheus-client would fail on the first metric below. Make it (gunicorn.conf.py empties it).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

__all__ = ["CONTENT_TYPE_LATEST", "Reading", "render", "status_class"]

PREFIX = "daidaitong_"
# From a thumbnail (~5 ms) to a report or a 32 MB upload over a slow line.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

request_seconds = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint (never the raw path), method and status class.",
    ("endpoint", "method", "status"), buckets=LATENCY_BUCKETS,
)
login_failures = Counter(
    PREFIX + "login_failures_total",
    "Refused staff logins: why is password (a known account), unknown (no such account), locked or disabled.",
    ("why",),
)
sync_uploads_in_progress = Gauge(
    PREFIX + "sync_uploads_in_progress",
    "Photo upload chunks (tus PATCH) being received right now.",
    multiprocess_mode="livesum",
)
sync_upload_bytes = Counter(
    PREFIX + "sync_upload_bytes_total", "Photo bytes received from phones (tus PATCH bodies written)."
)
ocr_run_seconds = Histogram(
    PREFIX + "ocr_run_seconds", "Time of one OCR run's reading of its photo (the engine's time, done runs).",
    buckets=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
)
ocr_runs = Counter(PREFIX + "ocr_runs_total", "OCR runs finished, by result (done, failed).", ("result",))
daily_job_seconds = Histogram(
    PREFIX + "daily_job_duration_seconds", "Time of one run of the daily job.",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
daily_job_runs = Counter(
    PREFIX + "daily_job_runs_total",
    "Runs of the daily job by result: ok, skipped (another process did the day) or error.",
    ("result",),
)
sms_send_failures = Counter(
    PREFIX + "sms_send_failures_total",
    "SMS sending failures: final (the message is given up) or retry (tried again later).",
    ("final",),
)


def status_class(status: int) -> str:
    """200 → "2xx": a bounded label, whatever the status."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def ocr_finished(status: str, seconds: float | None) -> None:
    """One OCR run ended: its result, and its reading time when the engine read the photo."""
    ocr_runs.labels(result=status).inc()
    if seconds is not None:
        ocr_run_seconds.observe(seconds)


def timed_daily_job(run: Callable[..., dict]) -> Callable[..., dict]:
    """Decorates the daily job: its duration and result ("skipped" when it says so, "error" when it raises)."""

    @wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> dict:
        with daily_job_seconds.time():
            try:
                result = run(*args, **kwargs)
            except BaseException:
                daily_job_runs.labels(result="error").inc()
                raise
        daily_job_runs.labels(result="skipped" if isinstance(result, dict) and result.get("skipped") else "ok").inc()
        return result

    return wrapper


@dataclass(frozen=True)
class Reading:
    """A gauge read at scrape time (from the database): name without the prefix, help, value."""

    name: str
    help: str
    value: float


class _Readings:
    def __init__(self, readings: Iterable[Reading]) -> None:
        self.readings = list(readings)

    def collect(self):
        for r in self.readings:
            yield GaugeMetricFamily(PREFIX + r.name, r.help, value=r.value)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(readings: Iterable[Reading] = ()) -> bytes:
    """The exposition text: this process's metrics, or every worker's with PROMETHEUS_MULTIPROC_DIR,
    plus the readings given."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Readings(readings))
    return body + generate_latest(extra)


def mark_dead(pid: int) -> None:
    """gunicorn's child_exit: forget a dead worker's live gauges (its counters still count)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
