"""gunicorn settings for a Daidaitong app host: `gunicorn -c deploy/gunicorn.conf.py "app:create_app()"`.

Every setting may still be given on the command line or in GUNICORN_CMD_ARGS (they win over this file).
Prometheus metrics across the worker processes: set PROMETHEUS_MULTIPROC_DIR (an empty folder, local
to this host, emptied at each start — here, if it is set) in the environment of gunicorn itself, so every
worker writes its values there and /metrics adds them up; ``child_exit`` forgets a dead worker's live
gauges (app/metrics.py). Without it each worker would answer /metrics with its own numbers only.
"""
import os
import shutil
from pathlib import Path

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
# A 32 MB upload over a slow rural line, a large report: longer than gunicorn's 30 s default.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# The app logs one line per request itself (with its request id); gunicorn's own access log is off.
accesslog = None
errorlog = "-"


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # Files of a previous run would be added to this run's counts.
        path = Path(folder)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from app import metrics

    metrics.mark_dead(worker.pid)
