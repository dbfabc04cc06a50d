"""Home ("my queue"), notifications and the menu's badges, language switch, health check."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, User
from app.services import notifications as notification_service
from app.services.queues import queues_for, waiting_total
from app.web.auth import safe_next
from app.web.security import any_staff, public

bp = Blueprint("main", __name__)


@bp.route("/")
@any_staff
def home():
    admin_summary = None
    if current_user.has_role("admin"):
        admin_summary = {
            "users": db.session.scalar(select(func.count()).select_from(User)),
            "disabled": db.session.scalar(select(func.count()).where(User.is_enabled.is_(False))),
            "devices": db.session.scalar(select(func.count()).select_from(Device)),
        }
    return render_template("main/home.html", queues=queues_for(current_user), admin_summary=admin_summary)


@bp.route("/nav/counts")
@any_staff
def nav_counts():
    """The menu's badges, refreshed by htmx every minute without reloading the page."""
    return render_template(
        "partials/nav_counts.html",
        waiting=waiting_total(current_user), unread=notification_service.unread_count(current_user),
    )


@bp.route("/notifications")
@any_staff
def notifications():
    return render_template("main/notifications.html", groups=notification_service.grouped(current_user))


@bp.route("/notifications/read", methods=["POST"])
@any_staff
def notifications_read():
    notification_service.mark_all_read(current_user, datetime.now(timezone.utc))
    return redirect(url_for(".notifications"), code=303)


@bp.route("/lang", methods=["POST"])
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}
