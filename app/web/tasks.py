"""Post-loan tasks at the office: the director's list, reassignment, visit reports."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import false, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import FollowUpTask, Loan, User, UserRole
from app.services import tasks as task_service
from app.services.scope import PHOTOS, TASKS, OutOfScope, grants, may, reaches_every_office, require, scope_clause
from app.web.i18n import translate_message
from app.web.security import any_staff, client_ip, roles_required

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

STATUSES = ("open", "done", "cancelled")


def _scoped_tasks():
    query = select(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id).where(scope_clause(current_user, Loan))
    return query if may(current_user, TASKS) else query.where(false())


@bp.route("/")
@any_staff
def index():
    status = request.args.get("status", "open")
    query = _scoped_tasks()
    if status in STATUSES:
        query = query.where(FollowUpTask.status == status)
    rows = db.session.scalars(
        query.options(selectinload(FollowUpTask.loan).selectinload(Loan.borrower), selectinload(FollowUpTask.officer),
                      selectinload(FollowUpTask.photos))
        .order_by(FollowUpTask.due_date, FollowUpTask.id).limit(300)
    ).all()
    officers = []
    if current_user.has_role("director"):
        officers = db.session.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .where(User.office_id == current_user.office_id, UserRole.role == "officer", User.is_enabled.is_(True))
            .order_by(User.full_name)
        ).all()
    office = None if reaches_every_office(current_user, TASKS) else current_user.office_id
    return render_template("tasks/index.html", tasks=rows, status=status, statuses=STATUSES, officers=officers,
                           may=grants(current_user),
                           kind_labels=task_service.KIND_LABELS, report=task_service.visit_report(office))


@bp.route("/<int:task_id>/reassign", methods=["POST"])
@roles_required("director")
def reassign(task_id: int):
    task = db.session.scalar(_scoped_tasks().where(FollowUpTask.id == task_id))
    if task is None:
        raise OutOfScope("FollowUpTask", task_id)
    officer_id = request.form.get("officer_id", "")
    to = db.session.get(User, int(officer_id)) if officer_id.isascii() and officer_id.isdigit() else None
    try:
        if to is None:
            raise task_service.ReportError("bad_assignee", "Choose an active loan officer of the loan's office.", 422)
        task_service.reassign(task, to, current_user, ip=client_ip())
    except task_service.ReportError as e:
        flash(translate_message(e.message), "error")
    else:
        flash(_("Task reassigned to %(name)s.", name=to.full_name), "success")
    return redirect(url_for(".index"), code=303)


@bp.route("/trail/<int:user_id>")
@any_staff
def trail_day(user_id: int):
    """An officer's day on a map: the GPS trail, his visits and the borrowers' homes."""
    from datetime import date

    from flask import abort

    from app.services import jobs, trail

    officer = db.session.get(User, user_id)
    if officer is None or not trail.may_see(current_user, officer):
        abort(404)
    try:
        day = date.fromisoformat(request.args.get("date", "")) if request.args.get("date") else jobs.business_today()
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
    from flask import abort

    from app.models import TaskPhoto
    from app.services import identity_access
    from app.web import images

    require(current_user, TASKS)
    require(current_user, PHOTOS)  # a visit's photos show the borrower's home
    found = db.session.scalar(
        select(TaskPhoto).join(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id)
        .where(TaskPhoto.id == photo_id, scope_clause(current_user, Loan))
    )
    if found is None:
        abort(404)
    identity_access.record_view(current_user, found.task.loan.borrower_id, "photo", object_type="task_photo",
                                object_id=found.id, ip=client_ip())
    return images.stored_image(found.sha256, "view")
