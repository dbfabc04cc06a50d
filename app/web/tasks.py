"""Post-loan tasks at the office: the director's list, reassignment, visit reports."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.http_edge import client_ip
from app.services import auth as auth_service
from app.services import tasks as task_service
from app.services.scope import ACTIONS, PHOTOS, TASKS, abilities, grants, may_see_trail, office_reach, require
from app.web.errors import back_to
from app.web.security import any_staff, roles_required

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

STATUSES = ("open", "done", "cancelled")


@bp.route("/")
@any_staff
def index():
    status = request.args.get("status", "open")
    rows = task_service.in_reach(current_user, status if status in STATUSES else None)
    officers = task_service.assignable_officers(current_user)
    office = office_reach(current_user, TASKS)
    return render_template("tasks/index.html", tasks=rows, status=status, statuses=STATUSES, officers=officers,
                           may=grants(current_user), can=abilities(current_user),
                           kind_labels=task_service.KIND_LABELS, report=task_service.visit_report(office))


@bp.route("/<int:task_id>/reassign", methods=["POST"])
@roles_required(*ACTIONS["reassign_tasks"])
def reassign(task_id: int):
    task = task_service.task_in_reach(current_user, task_id)
    officer_id = request.form.get("officer_id", "")
    to = auth_service.find_user(int(officer_id)) if officer_id.isascii() and officer_id.isdigit() else None
    back_to(url_for(".index"))
    task_service.reassign(task, to, current_user, ip=client_ip())  # no such officer: refused there
    flash(_("Task reassigned to %(name)s.", name=to.full_name), "success")
    return redirect(url_for(".index"), code=303)


@bp.route("/trail/<int:user_id>")
@any_staff
def trail_day(user_id: int):
    """An officer's day on a map: the GPS trail, his visits and the borrowers' homes."""
    from datetime import date

    from flask import abort

    from app.services import trail

    officer = auth_service.find_user(user_id)
    if officer is None or not may_see_trail(current_user, officer):
        abort(404)
    try:
        day = date.fromisoformat(request.args.get("date", "")) if request.args.get("date") else clock.business_today()
    except ValueError:
        abort(400)
    if not date(2000, 1, 1) <= day <= date(9999, 12, 30):  # 0001-01-01 in China time is before year 1 in UTC
        abort(400)
    from flask import current_app

    from app.domain import basemap

    base_map = basemap.from_config(current_app.config)
    return render_template("tasks/trail.html", officer=officer, day=day, base_map=base_map,
                           data=trail.on_map(trail.day_of(officer, day), base_map.crs))


@bp.route("/photos/<int:photo_id>")
@any_staff
def photo(photo_id: int):
    from app.services import identity_access
    from app.web import images

    require(current_user, TASKS)
    require(current_user, PHOTOS)  # a visit's photos show the borrower's home
    found = task_service.visit_photo(current_user, photo_id)
    identity_access.record_view(current_user, found.task.loan.borrower_id, "photo", object_type="task_photo",
                                object_id=found.id, ip=client_ip())
    return images.stored_image(found.sha256, "view")
