"""The embedded default's clock: the daily job runs on the first request of each business day."""
from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, request

from app import clock
from app.services import jobs

log = logging.getLogger(__name__)
_lock = threading.Lock()


def init_app(app: Flask) -> None:
    if not app.config.get("DAILY_JOB_ON_FIRST_REQUEST"):
        return

    @app.before_request
    def run_daily_job_once_a_day() -> None:
        if request.endpoint == "static":
            return
        today = clock.business_today()
        if app.extensions.get("daily_job_done") == today:
            return
        # One request of this process does it; the JobRun row tells other processes.
        with _lock:
            if app.extensions.get("daily_job_done") == today:
                return
            if not jobs.has_run(today):
                from app.retention_cli import retention_from
                from app.services.tasks import TaskSettings

                result = jobs.run_daily(today, class_days=jobs.class_days(current_app.config),
                                        sms_settings=jobs.sms_settings(current_app.config),
                                        task_settings=TaskSettings.from_config(current_app.config),
                                        retention=retention_from(current_app))
                log.info("daily job for %s on first request: %s", today, result)
                if current_app.config["SMS_GATEWAY"] == "console":
                    # The console gateway only logs: cheap enough to do here, after the job's commit.
                    from app.services import sms
                    from app.sms import make_gateway

                    sms.send_due(clock.now(), make_gateway(current_app.config),
                                 max_attempts=current_app.config["SMS_MAX_ATTEMPTS"])
            app.extensions["daily_job_done"] = today
