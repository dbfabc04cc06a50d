"""HQ data entry screen: the photos beside the form, screenshots of regions, OCR proposals."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain.entry import FIELDS
from app.domain.i18n import N_
from app.domain import workflow
from app.domain.workflow import State, TransitionRefused
from app.extensions import photo_store
from app.http_edge import client_ip, translate_message
from app.services import applications as app_service
from app.services import entry as entry_service
from app.services import ocr as ocr_service
from app.services import photos as photo_service
from app.services import screenshots as screenshot_service
from app.services import identity_access, scope, transactions
from app.services.scope import ACTIONS, PHOTOS, can, require
from app.web import images
from app.web.htmx import go_to, wants_partial
from app.web.security import any_staff, roles_required

bp = Blueprint("entry", __name__, url_prefix="/applications")

GROUPS = (
    ("borrower", N_("Borrower")),
    ("household", N_("Household and income")),
    ("guarantor", N_("Guarantor (if any)")),
    ("loan", N_("Loan, as written on the IOU")),
)


def _ocr_settings() -> ocr_service.OcrSettings:
    return ocr_service.OcrSettings.from_config(current_app.config)


def _entry_app(application_id: int):
    return scope.application(current_user, application_id)


def _form_context(app, values: dict[str, str], errors: dict | None = None, derived: dict | None = None):
    if derived is None and values.get("id_number"):
        derived = entry_service.check(app, values, clock.business_today()).derived
    return {
        "app": app,
        "fields": FIELDS,
        "groups": GROUPS,
        "values": values,
        "errors": {k: translate_message(m, p) for k, (m, p) in (errors or {}).items()},
        "derived": derived or {},
        "products": entry_service.product_limits(),
        "ocr_on": _ocr_settings().available and can(current_user, "enter_data"),
        "events": workflow.allowed_events(app.facts(), app_service.actor_for(current_user)),
    }


@bp.route("/<int:application_id>/entry")
@roles_required(*ACTIONS["enter_data"])
def form(application_id: int):
    app = _entry_app(application_id)
    if app.state != State.AWAITING_ENTRY.value:
        flash(_("This application is not waiting for data entry."), "warning")
        return redirect(url_for("applications.detail", application_id=app.id), code=303)
    values = entry_service.initial_values(app)
    shown = ["entry", *(["id_number"] if values.get("id_number") else []), *identity_access.kinds_of_photos(app.photos)]
    identity_access.record_view(current_user, app.borrower_id, shown, object_type="application", object_id=app.id,
                                ip=client_ip())
    return render_template("entry/entry.html", **_form_context(app, values))


@bp.route("/<int:application_id>/entry", methods=["POST"])
@roles_required(*ACTIONS["enter_data"])
def save(application_id: int):
    app = _entry_app(application_id)
    complete = request.form.get("action") == "complete"
    raw = {f.key: request.form.get(f.key, "") for f in FIELDS}
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        result = entry_service.save(app, raw, current_user, complete=complete, expected_version=expected,
                                    now=clock.now(), ip=client_ip())
    except app_service.Conflict as conflict:
        flash(_("This application was changed by %(who)s meanwhile. Your typing is still in the form; reload to see their change.",
                who=conflict.changed_by), "warning")
        return _render_form(app, raw, None, status=409)
    except TransitionRefused as refused:
        flash(translate_message(refused.refusal.message, dict(refused.refusal.params)), "error")
        return _render_form(app, raw, None, status=403)
    if complete and result.ok:
        flash(_("Data entry complete: the application now waits for first-level review."), "success")
        return go_to(url_for("applications.detail", application_id=app.id))
    if complete:
        flash(_("Saved, but not complete: correct the fields marked below."), "error")
    else:
        flash(_("Saved."), "success")
    return _render_form(app, raw, result, status=422 if complete else 200)


def _render_form(app, raw: dict, result, status: int):
    transactions.reload(app)
    values = result.values if result is not None else raw
    # Where a value did not check out, show exactly what was typed.
    if result is not None:
        values = {k: (raw.get(k, "") if k in result.errors else v) for k, v in values.items()}
    context = _form_context(app, values, result.errors if result else None, result.derived if result else None)
    template = "entry/_form.html" if wants_partial() else "entry/entry.html"
    return render_template(template, **context), status


# --- screenshots and OCR --------------------------------------------------------------------


@bp.route("/<int:application_id>/region", methods=["POST"])
@roles_required(*ACTIONS["enter_data"])
def region(application_id: int):
    """Save a region as a screenshot; with ``ocr`` also read it. The whole upright photo is read as is."""
    app = _entry_app(application_id)
    try:
        photo = photo_service.received_photo(app, int(request.form.get("photo_id", "")))
    except ValueError:
        photo = None
    if photo is None:
        return _ocr_partial(app, None, error=_("Choose a photo first."), status=422)
    try:
        rotation, box = screenshot_service.parse_region(request.form)
        whole = screenshot_service.is_whole(rotation, box)
        shot = None
        if not whole or request.form.get("action") == "screenshot":
            shot = screenshot_service.create(
                app, photo, rotation=rotation, box=box, label=request.form.get("label", ""),
                user=current_user, store=photo_store(), now=clock.now(), ip=client_ip(),
            )
    except screenshot_service.ScreenshotError as e:
        return _ocr_partial(app, None, error=translate_message(e.message, e.params), status=422)
    if request.form.get("action") != "ocr":
        return render_template("entry/_screenshots.html", app=app, oob=False)
    sha = shot.sha256 if shot else photo.sha256
    return _start_ocr(app, sha, shot)


@bp.route("/<int:application_id>/screenshots/<int:screenshot_id>/ocr", methods=["POST"])
@roles_required(*ACTIONS["enter_data"])
def screenshot_ocr(application_id: int, screenshot_id: int):
    app = _entry_app(application_id)
    shot = next((s for s in app.screenshots if s.id == screenshot_id), None)
    if shot is None:
        abort(404)
    return _start_ocr(app, shot.sha256, None)


def _start_ocr(app, sha256: str, new_shot):
    try:
        run = ocr_service.request_run(sha256, now=clock.now(), settings=_ocr_settings())
    except ocr_service.OcrOff as e:
        return _ocr_partial(app, None, error=translate_message(e.message, e.params), status=409)
    return _ocr_partial(app, run, new_shot=new_shot)


def _ocr_partial(app, run, *, error: str | None = None, new_shot=None, status: int = 200):
    proposals = ocr_service.proposals(run) if run is not None and run.status == "done" else {}
    return render_template("entry/_ocr.html", app=app, run=run, error=error, new_shot=new_shot,
                           fields=FIELDS, proposals=proposals), status


@bp.route("/<int:application_id>/ocr/<int:run_id>")
@roles_required(*ACTIONS["enter_data"])
def ocr_status(application_id: int, run_id: int):
    app = _entry_app(application_id)
    run = ocr_service.run(run_id)
    # Only runs of this application's images are shown here.
    if run.sha256 not in {p.sha256 for p in app.photos if p.received_at} | {s.sha256 for s in app.screenshots}:
        abort(404)
    ocr_service.resume_if_overdue(run, now=clock.now(), settings=_ocr_settings())
    return _ocr_partial(app, run)


@bp.route("/<int:application_id>/screenshots/<int:screenshot_id>/<kind>")
@any_staff
def screenshot_image(application_id: int, screenshot_id: int, kind: str):
    app = scope.application(current_user, application_id)
    require(current_user, PHOTOS)
    shot = next((s for s in app.screenshots if s.id == screenshot_id and s.purged_at is None), None)
    if shot is None or kind not in images.KINDS:
        abort(404)
    identity_access.record_photo(current_user, app.borrower_id, shot.photo, kind, object_type="screenshot",
                                 object_id=shot.id, ip=client_ip())
    return images.stored_image(shot.sha256, kind)
