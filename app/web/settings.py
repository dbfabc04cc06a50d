"""The administrator's run-time settings (today: the phone app's minimum version)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.http_edge import client_ip, translate_message
from app.services import app_settings
from app.web.security import roles_required

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    error, value = "", None
    if request.method == "POST":
        value = request.form.get("min_client_version", "")
        try:
            saved = app_settings.set_min_client_version(
                value, current=current_app.config["CLIENT_VERSION"], config=current_app.config,
                actor_id=current_user.id, ip=client_ip())
        except app_settings.SettingError as e:
            error = translate_message(e.message, e.params)
        else:
            flash(_("Minimum app version set to %(version)s.", version=saved), "success")
            return redirect(url_for(".index"), code=303)
    setting = app_settings.min_client_version_view(current_app.config)
    return render_template("admin/settings.html", setting=setting, value=setting.value if value is None else value,
                           error=error, current=current_app.config["CLIENT_VERSION"]), (422 if error else 200)
