"""The daily job's screen: last runs and their results; "run now" for the administrator."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.http_edge import client_ip, translate_message
from app.services import job_control, jobs
from app.services.tasks import TaskSettings
from app.web.security import roles_required

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.route("/")
@roles_required("admin")
def index():
    now = datetime.now(timezone.utc)
    return render_template("admin/jobs.html", runs=job_control.recent_runs(), today=jobs.business_today(),
                           running=job_control.current_lease(jobs.DAILY, now=now))


@bp.route("/run", methods=["POST"])
@roles_required("admin")
def run():
    day = jobs.business_today()
    config = current_app.config
    try:
        result = job_control.run_now(
            day, actor_id=current_user.id, actor=current_user.username, ip=client_ip(), now=datetime.now(timezone.utc),
            class_days=jobs.class_days(config), sms_settings=jobs.sms_settings(config),
            task_settings=TaskSettings.from_config(config))
    except job_control.JobBusy as e:
        flash(translate_message(e.message, e.params), "error")
    else:
        if result.get("skipped"):
            flash(_("Another run of the daily job finished at the same moment; its result stands."), "info")
        else:
            flash(_("Daily job for %(day)s done.", day=day.isoformat()), "success")
    return redirect(url_for(".index"), code=303)
