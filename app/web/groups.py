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
from app.services import scope
from app.services.scope import APPLICATIONS, abilities, grants, require
from app.web.errors import back_to
from app.web.security import any_staff

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.route("/<group_key>")
@any_staff
def detail(group_key: str):
    require(current_user, APPLICATIONS)
    group = scope.group(current_user, group_key)
    return render_template("groups/detail.html", may=grants(current_user), can=abilities(current_user),
                           **group_service.page(current_user, group))


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
