"""Administration: staff accounts and enrolled devices."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Device, User
from app.services import auth as auth_service
from app.web.security import client_ip, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required("admin")
def users():
    rows = db.session.scalars(
        select(User).options(selectinload(User.office)).order_by(User.office_id, User.username)
    ).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/<int:user_id>/enabled", methods=["POST"])
@roles_required("admin")
def set_enabled(user_id: int):
    user = db.get_or_404(User, user_id)
    enable = request.form.get("enabled") == "1"
    if user.id == current_user.id and not enable:
        flash(_("You cannot disable your own account."), "error")
    else:
        auth_service.set_enabled(user, enable, actor_id=current_user.id, ip=client_ip())
        flash(
            _("%(name)s enabled.", name=user.full_name) if enable else _("%(name)s disabled.", name=user.full_name),
            "success",
        )
    return redirect(url_for(".users"), code=303)


@bp.route("/devices")
@roles_required("admin")
def devices():
    rows = db.session.scalars(
        select(Device).options(selectinload(Device.user)).order_by(Device.enrolled_at.desc())
    ).all()
    return render_template("admin/devices.html", devices=rows)
