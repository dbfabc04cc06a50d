"""Field collections at the branch (/collections/): each officer's collections of a day, what he
should hand over and what the cashier counted, the deposit confirmed (never by the officer who
collected), shortfalls flagged, and the ledger entries each step made."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain.ledger import ENTRY_KINDS
from app.http_edge import client_ip
from app.services import field_collections as fc
from app.services.scope import ACTIONS, LEDGER, abilities, roles_granted
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("collections", __name__, url_prefix="/collections")
# Who sees the page: whoever handles the money or keeps the books (the cash in transit is theirs),
# and the directors, told of a shortfall in their offices. Only the cashier confirms.
VIEWERS = tuple(sorted(set(roles_granted(LEDGER)) | set(ACTIONS["reassign_tasks"]) | set(ACTIONS["handle_money"])))


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    days = fc.pending(current_user)
    deposits = fc.recent_deposits(current_user)
    return render_template("collections/index.html", days=days, deposits=deposits,
                           entries=fc.entries(deposits, days), can=abilities(current_user),
                           receipt_state=fc.receipt_state, receipt_labels=fc.RECEIPT_LABELS, entry_kinds=ENTRY_KINDS)


@bp.route("/deposits", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def confirm():
    back_to(url_for(".index"))  # a refusal comes back to the page with its message
    deposit = fc.confirm_deposit(request.form.get("day", ""), request.form.get("handed", ""),
                                 request.form.get("expected", ""), current_user, now=clock.now(), ip=client_ip())
    if deposit.shortfall > 0:
        flash(_("Deposit confirmed with a shortfall of %(amount)s yuan; the director has been told.",
                amount=f"{deposit.shortfall:,.2f}"), "warning")
    else:
        flash(_("Deposit confirmed: %(amount)s yuan moved from cash in transit to the till.",
                amount=f"{deposit.handed:,.2f}"), "success")
    return redirect(url_for(".index", _anchor=f"deposit-{deposit.id}"), code=303)
