"""The daily job's screen: last runs and their results; "run now" for the administrator."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.retention_cli import retention_from
from app.http_edge import client_ip
from app.services import job_control, jobs
from app.services.tasks import TaskSettings
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.route("/")
@roles_required("admin")
def index():
    now = clock.now()
    return render_template("admin/jobs.html", runs=job_control.recent_runs(), today=clock.business_today(now),
                           running=job_control.current_lease(jobs.DAILY, now=now))


@bp.route("/run", methods=["POST"])
@roles_required("admin")
def run():
    day = clock.business_today()
    config = current_app.config
    back_to(url_for(".index"))  # already running: said there (app/web/errors.py)
    result = job_control.run_now(
        day, actor_id=current_user.id, actor=current_user.username, ip=client_ip(), now=clock.now(),
        class_days=jobs.class_days(config), sms_settings=jobs.sms_settings(config),
        task_settings=TaskSettings.from_config(config), retention=retention_from(current_app))
    if result.get("skipped"):
        flash(_("Another run of the daily job finished at the same moment; its result stands."), "info")
    else:
        flash(_("Daily job for %(day)s done.", day=day.isoformat()), "success")
    return redirect(url_for(".index"), code=303)
