"""A joint-liability group's page and its decisions, taken for all members at once."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import workflow
from app.domain.workflow import Event
from app.http_edge import client_ip, translate_message
from app.services import applications as app_service
from app.services import groups as group_service
from app.services import identity_access, scope
from app.services.scope import ACTIONS, APPLICATIONS, abilities, grants, require
from app.web.errors import back_to
from app.web.htmx import go_to, render_page_or_partial
from app.web.security import any_staff, roles_required

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.route("/<group_key>")
@any_staff
def detail(group_key: str):
    require(current_user, APPLICATIONS)
    group = scope.group(current_user, group_key)
    page = group_service.page(current_user, group)
    for r in page["rows"]:  # each member's application data (amount, score and its answers, loans) was shown
        identity_access.record_view(current_user, r.app.borrower_id, "application", object_type="application",
                                    object_id=r.app.id, ip=client_ip())
    return render_template("groups/detail.html", may=grants(current_user), can=abilities(current_user), **page)


@bp.route("/<group_key>/decide", methods=["POST"])
@any_staff
def decide(group_key: str):
    require(current_user, APPLICATIONS)
    group = scope.group(current_user, group_key)
    try:
        event = Event(request.form.get("event", ""))
        expected_version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    here = url_for(".detail", group_key=group.uuid)
    back_to(here)  # a refusal: flashed there (app/web/errors.py)
    try:
        moved = group_service.decide(current_user, group.id, event, now=clock.now(),
                                     comment=request.form.get("comment", ""), expected_version=expected_version,
                                     ip=client_ip())
    except group_service.GroupMemberRefused as e:
        flash(_("%(name)s: %(reason)s", name=e.name, reason=translate_message(e.refusal.message, dict(e.refusal.params))),
              "error")
        return redirect(here, code=303)
    except app_service.Conflict:
        flash(_("The group was changed meanwhile; reload its page and decide again."), "warning")
        return redirect(here, code=303)
    flash(_("Done for %(n)s members: %(event)s.", n=moved, event=translate_message(workflow.EVENT_LABELS[event])),
          "success")
    return redirect(here, code=303)


# --- dissolving the group: a confirm step on its page (an htmx partial; a page of its own without JS) ---


def _dissolvable(group_key: str):
    require(current_user, APPLICATIONS)
    group = scope.group(current_user, group_key)  # 404 outside reach, as the page
    if not group_service.may_dissolve(current_user, group):
        abort(403)
    return group


def _dissolve_form(group, *, reason: str = "", error: str | None = None, status: int = 200):
    return render_page_or_partial("groups/dissolve.html", "groups/_dissolve.html", group=group, reason=reason,
                                  error=error, reason_max=group_service.DISSOLVE_REASON_MAX,
                                  state_label=group_service.STATE_LABELS.get(group.state, group.state)), status


@bp.route("/<group_key>/dissolve")
@roles_required(*ACTIONS["dissolve_group"])
def dissolve_form(group_key: str):
    group = _dissolvable(group_key)
    problem = group_service.dissolve_refusal(group.name, group.state, "-")  # approved or dissolved already
    return _dissolve_form(group, error=translate_message(problem[1], problem[2]) if problem else None)


@bp.route("/<group_key>/dissolve", methods=["POST"])
@roles_required(*ACTIONS["dissolve_group"])
def dissolve(group_key: str):
    group = _dissolvable(group_key)
    try:
        expected_version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    reason = request.form.get("reason", "")
    try:
        group_service.dissolve(current_user, group.id, reason, expected_version=expected_version, ip=client_ip())
    except group_service.GroupRefused as refused:
        # The form again, where it was, with the reason typed and what is wrong; nothing was written.
        return _dissolve_form(group, reason=reason, error=translate_message(refused.message, refused.params),
                              status=409 if refused.code == "group_changed" else 422)
    flash(_("The group %(group)s is dissolved: its members are decided one by one, on their own pages.",
            group=group.name), "success")
    return go_to(url_for(".detail", group_key=group.uuid))
