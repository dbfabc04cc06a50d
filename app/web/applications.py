"""Finding an application, its detail and timeline, and acting on it."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import workflow
from app.domain.entry import FIELDS
from app.domain.workflow import Event, State
from app.extensions import photo_store
from app.http_edge import client_ip, translate_message
from app.services import applications as app_service
from app.services import light_path
from app.services import photos as photo_service
from app.services.loans import CHANNELS
from app.services import identity_access
from app.services import scope
from app.services.scope import PHOTOS, grants, require
from app.web import images
from app.web.htmx import render_page_or_partial
from app.web.errors import back_to
from app.web.security import any_staff

bp = Blueprint("applications", __name__, url_prefix="/applications")


@bp.route("/")
@any_staff
def index():
    q = request.args.get("q", "").strip()
    state = request.args.get("state", "")
    rows = app_service.search(current_user, q, state)
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
    app = scope.application(current_user, application_id)
    return render_template("applications/detail.html", **detail_context(app))


def detail_context(app) -> dict:
    """What the application page shows; also used to re-render it with a refused form."""
    events = workflow.allowed_events(app.facts(), app_service.actor_for(current_user))
    may = grants(current_user)
    shown = ["application", *(identity_access.kinds_of_photos(app.photos) if may[PHOTOS] else ())]
    identity_access.record_view(current_user, app.borrower_id, shown, object_type="application", object_id=app.id,
                                ip=client_ip())
    return {
        "app": app, "events": events, "may": may,
        "office_distance": app_service.distance_from_office(app),
        "duplicates": app_service.other_applications_in_flight(app),
        "preview": app_service.routing_preview(app, clock.business_today()),
        "history": app_service.borrower_history(app),
        "entry_fields": FIELDS,
        "loan": app_service.loan_of(app),
        "channels": CHANNELS,
        "today": clock.business_today(),
        "disbursement": None, "disbursement_errors": {},
        # 整村授信: the pre-approval and the light path (templates/applications/_village.html).
        "village_credit": light_path.light_path_of(app, clock.business_today()),
    }


@bp.route("/<int:application_id>/act", methods=["POST"])
@any_staff
def act(application_id: int):
    app = scope.application(current_user, application_id)
    try:
        event = Event(request.form.get("event", ""))
        expected_version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    back_to(url_for(".detail", application_id=app.id))  # a refusal: flashed there (app/web/errors.py)
    try:
        app_service.act(
            app.id,
            event,
            current_user,
            now=clock.now(),
            comment=request.form.get("comment", ""),
            expected_version=expected_version,
            ip=client_ip(),
        )
    except app_service.Conflict as conflict:  # told when, in the user's time zone
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


@bp.route("/<int:application_id>/photos/<int:photo_id>/<kind>")
@any_staff
def photo(application_id: int, photo_id: int, kind: str):
    app = scope.application(current_user, application_id)
    require(current_user, PHOTOS)
    found = photo_service.received_photo(app, photo_id)
    if found is None or kind not in images.KINDS:
        abort(404)
    identity_access.record_photo(current_user, app.borrower_id, found, kind, ip=client_ip())
    name = photo_service.archive_name(app, found).split("/")[-1]
    return images.stored_image(found.sha256, kind, mimetype=found.content_type, download_name=name)


@bp.route("/<int:application_id>/photos.zip")
@any_staff
def photos_zip(application_id: int):
    app = scope.application(current_user, application_id)
    require(current_user, PHOTOS)
    if not any(p.received_at for p in app.photos):
        flash(_("No photo of this application has arrived yet."), "warning")
        return redirect(url_for(".detail", application_id=app.id), code=303)
    archive = photo_service.build_zip(app, photo_store(), user=current_user, ip=client_ip())
    identity_access.record_view(current_user, app.borrower_id, identity_access.kinds_of_photos(app.photos),
                                object_type="photos_zip", object_id=app.id, ip=client_ip())
    return images.archive_response(archive, f"{app.borrower.name}_{app.product.name}.zip")


def _format_time(value: datetime | None) -> str:
    from flask_babel import format_datetime

    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else "?"
