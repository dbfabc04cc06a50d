"""The director's view of his officers' phones: which are in use, and which are held because their
SIM card changed (the admin re-approves or revokes them on /admin/devices)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.services import devices as device_service
from app.services.scope import ACTIONS, TASKS, office_reach
from app.web.admin import device_status_label, sim_label
from app.web.security import roles_required

bp = Blueprint("phones", __name__, url_prefix="/phones")


@bp.route("/")
@roles_required(*ACTIONS["see_office_phones"])
def index():
    """Read-only: the phones of the officers of the offices the director reaches."""
    officers = device_service.by_officer(office_reach(current_user, TASKS))
    return render_template("phones/index.html", officers=officers, status_label=device_status_label,
                           sim_label=sim_label)
