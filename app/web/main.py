"""Home ("my queue"), language switch, health check."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, User
from app.services.queues import queues_for
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
