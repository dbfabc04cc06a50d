"""The embedded default's clock: the daily job runs on the first request of each business day.

Safe with several processes and hosts: the run takes the job's lease with ``if_not_done``
(app/services/job_control.py), so of the hosts whose first request of the day arrives together
one runs the day, the others find it done or being run (and look again a little later). A
deployment of several hosts still runs the job from cron (deploy/cron) and leaves this off
(DAILY_JOB_ON_FIRST_REQUEST=0, the default with MariaDB): a web request should not wait for it."""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, request

from app import clock
from app.services import jobs

log = logging.getLogger(__name__)
_lock = threading.Lock()
BUSY_RETRY_S = 30  # another process runs the day: look again this much later, not on every request


def init_app(app: Flask) -> None:
    if not app.config.get("DAILY_JOB_ON_FIRST_REQUEST"):
        return

    @app.before_request
    def run_daily_job_once_a_day() -> None:
        if request.endpoint == "static" or request.blueprint == "ops":  # a load balancer's poll runs no job
            return
        today = clock.business_today()
        if app.extensions.get("daily_job_done") == today:
            return
        # One request of this process does it; the lease and the JobRun row tell other processes and hosts.
        if app.extensions.get("daily_job_busy_until", 0) > time.monotonic():
            return
        with _lock:
            if app.extensions.get("daily_job_done") == today:
                return
            if not jobs.has_run(today):
                from app.retention_cli import retention_from
                from app.services import job_control
                from app.services.tasks import TaskSettings

                try:
                    result = job_control.run_leased(
                        today, holder=job_control.holder_name("first-request"), now=clock.now(), if_not_done=True,
                        class_days=jobs.class_days(current_app.config),
                        sms_settings=jobs.sms_settings(current_app.config),
                        task_settings=TaskSettings.from_config(current_app.config),
                        retention=retention_from(current_app))
                except job_control.JobBusy as busy:
                    log.info("daily job for %s is being run by %s", today, busy.params.get("holder"))
                    app.extensions["daily_job_busy_until"] = time.monotonic() + BUSY_RETRY_S
                    return
                log.info("daily job for %s on first request: %s", today, result)
                if current_app.config["SMS_GATEWAY"] == "console" and not result.get("skipped"):
                    # The console gateway only logs: cheap enough to do here, after the job's commit.
                    from app.services import sms
                    from app.sms import make_gateway

                    sms.send_due(clock.now(), make_gateway(current_app.config),
                                 max_attempts=current_app.config["SMS_MAX_ATTEMPTS"])
            app.extensions["daily_job_done"] = today
