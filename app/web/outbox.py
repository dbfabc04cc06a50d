"""The SMS outbox screen: counts, the messages by status, a borrower's messages, sending a failed one again."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.http_edge import client_ip
from app.services import outbox
from app.services.scope import ADMIN, TASKS, roles_granted
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
# The roles whose work it is, from the grants (app/services/scope.py): administration and post-loan work.
ROLES = tuple(sorted(set(roles_granted(ADMIN)) | set(roles_granted(TASKS))))


@bp.route("/")
@roles_required(*ROLES)
def index():
    if not outbox.may_see(current_user):
        abort(404)
    status = request.args.get("status", "")
    if status and status not in outbox.STATUS_FILTERS:
        status = ""  # an unknown filter shows everything rather than an error
    return render_template(
        "outbox/index.html", status=status, counts=outbox.counts(current_user),
        per_borrower=outbox.per_borrower(current_user), filters=outbox.STATUS_LABELS,
        messages=outbox.messages(current_user, status=status, today=clock.business_today()),
        kind_labels=outbox.KIND_LABELS, may_resend=outbox.may_resend(current_user),
    )


@bp.route("/borrower/<int:borrower_id>")
@roles_required(*ROLES)
def borrower(borrower_id: int):
    """A borrower's messages: the fragment the borrower page loads, or a page of its own."""
    found = outbox.borrower_in_reach(current_user, borrower_id)  # outside reach: 404 (web/errors.py)
    context = dict(borrower=found, counts=outbox.counts(current_user, borrower_id=borrower_id),
                   messages=outbox.messages(current_user, borrower_id=borrower_id, today=clock.business_today()),
                   filters=outbox.STATUS_LABELS, kind_labels=outbox.KIND_LABELS)
    if request.headers.get("HX-Request") == "true":
        return render_template("outbox/_borrower.html", **context)
    return render_template("outbox/borrower.html", **context)


@bp.route("/<int:message_id>/resend", methods=["POST"])
@roles_required("admin")
def resend(message_id: int):
    status = request.form.get("status", "")
    back = url_for(".index", status=status if status in outbox.STATUS_FILTERS else None)
    back_to(back)  # a refusal (web/errors.py) comes back to the list as it was filtered
    outbox.resend(current_user, message_id, today=clock.business_today(), ip=client_ip())
    flash(_("Message queued again; it goes out with the next sending run."), "success")
    return redirect(back, code=303)
