"""Finding an application, its detail and timeline, and acting on it."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from app.domain import workflow
from app.domain.workflow import Event, State, TransitionRefused
from app.extensions import db
from app.models import Application, Borrower
from app.services import applications as app_service
from app.services.scope import get_scoped, scoped
from app.web.htmx import render_page_or_partial
from app.web.i18n import translate_message
from app.web.security import any_staff, client_ip

bp = Blueprint("applications", __name__, url_prefix="/applications")

PAGE_SIZE = 50


@bp.route("/")
@any_staff
def index():
    q = request.args.get("q", "").strip()
    state = request.args.get("state", "")
    query = scoped(current_user, Application).join(Borrower, Application.borrower_id == Borrower.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Borrower.name.like(like), Borrower.id_number.like(like)))
    if state in {s.value for s in State}:
        query = query.where(Application.state == state)
    rows = db.session.scalars(
        query.options(selectinload(Application.borrower), selectinload(Application.product))
        .order_by(Application.updated_at.desc(), Application.id.desc())
        .limit(PAGE_SIZE)
    ).all()
    return render_page_or_partial(
        "applications/index.html",
        "partials/application_rows.html",
        applications=rows,
        q=q,
        state=state,
        states=list(State),
    )


@bp.route("/<int:application_id>")
@any_staff
def detail(application_id: int):
    app = get_scoped(current_user, Application, application_id)
    actor = app_service.actor_for(current_user)
    events = workflow.allowed_events(app.facts(), actor)
    return render_template("applications/detail.html", app=app, events=events)


@bp.route("/<int:application_id>/act", methods=["POST"])
@any_staff
def act(application_id: int):
    app = get_scoped(current_user, Application, application_id)
    try:
        event = Event(request.form.get("event", ""))
        expected_version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        app_service.act(
            app.id,
            event,
            current_user,
            now=datetime.now(timezone.utc),
            comment=request.form.get("comment", ""),
            expected_version=expected_version,
            ip=client_ip(),
        )
    except TransitionRefused as refused:
        flash(translate_message(refused.refusal.message, dict(refused.refusal.params)), "error")
        return redirect(url_for(".detail", application_id=app.id), code=303)
    except app_service.Conflict as conflict:
        flash(
            _(
                "This application was changed by %(who)s at %(when)s. The page has been reloaded; check it and decide again.",
                who=conflict.changed_by,
                when=_format_time(conflict.changed_at),
            ),
            "warning",
        )
        return redirect(url_for(".detail", application_id=app.id), code=303)
    flash(_("Done: %(event)s.", event=translate_message(workflow.EVENT_LABELS[event])), "success")
    return redirect(url_for(".detail", application_id=app.id), code=303)


def _format_time(value: datetime | None) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else "?"
