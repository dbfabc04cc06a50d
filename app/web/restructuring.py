"""Restructuring and extension (重组 / 展期): the request on the loan page, the reviewers' queue, the decision."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import restructure as rs
from app.http_edge import client_ip, translate_message
from app.services import restructuring as service
from app.services import jobs, scope
from app.services.scope import ACTIONS, abilities
from app.web.security import roles_required

bp = Blueprint("restructuring", __name__)


def _errors(e: service.RestructureError) -> dict[str, str]:
    return {k: translate_message(m, p) for k, (m, p) in e.errors.items()}


def _form() -> service.RequestForm:
    f = request.form
    return service.RequestForm(kind=f.get("kind", ""), reason=f.get("reason", ""), note=f.get("note", "")[:400],
                               term_months=f.get("term_months", ""), method=f.get("method", ""),
                               grace_months=f.get("grace_months", "0"), capitalise=f.get("capitalise") == "1")


def _request_page(loan, form: service.RequestForm | None, errors: dict, status: int = 200):
    return render_template("restructuring/request.html", loan=loan, form=form or service.RequestForm(
        method=loan.repayment_method), errors=errors, kinds=rs.KINDS, reasons=rs.REASONS, methods=service.METHODS,
        rules=service.rules_of(loan.product), facts=service.facts_of(loan), pending=service.pending_of(loan),
        can=abilities(current_user)), status


@bp.route("/loans/<int:loan_id>/restructure", methods=["GET", "POST"])
@roles_required(*ACTIONS["request_restructure"])
def request_form(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    if request.method == "GET":
        return _request_page(loan, None, {})
    form = _form()
    try:
        row = service.request(loan, form, current_user, today=clock.business_today(), now=clock.now(), ip=client_ip())
    except service.RestructureError as e:
        return _request_page(loan, form, _errors(e), 422)
    flash(_("Asked for: the request waits for the %(level)s.", level=_(rs.LEVELS[service.next_level(row)])), "success")
    return redirect(url_for(".detail", request_id=row.id), code=303)


@bp.route("/restructurings")
@roles_required(*ACTIONS["decide_restructure"])
def queue():
    return render_template("restructuring/queue.html", rows=service.waiting_for(current_user), kinds=rs.KINDS,
                           reasons=rs.REASONS, levels=rs.LEVELS, next_level=service.next_level)


def _row_in_reach(request_id: int):
    row = service.get(request_id)
    if row is None:
        abort(404)
    scope.loan(current_user, row.loan_id)  # the same answer (404) for a loan out of the user's reach
    return row


def _detail_page(row, errors: dict, status: int = 200):
    return render_template("restructuring/detail.html", row=row, loan=row.loan, errors=errors, kinds=rs.KINDS,
                           statuses=rs.STATUSES,
                           reasons=rs.REASONS, levels=rs.LEVELS, level=service.next_level(row),
                           chain=service.chain(row), may_decide=service.may_decide(row, current_user),
                           may_withdraw=service.may_withdraw(row, current_user), can=abilities(current_user),
                           deciders=service.deciders(row)), status


@bp.route("/restructurings/<int:request_id>")
@roles_required(*(ACTIONS["request_restructure"] + ACTIONS["decide_restructure"]))
def detail(request_id: int):
    return _detail_page(_row_in_reach(request_id), {})


@bp.route("/restructurings/<int:request_id>/decide", methods=["POST"])
@roles_required(*ACTIONS["decide_restructure"])
def decide(request_id: int):
    row = _row_in_reach(request_id)
    approve = request.form.get("decision") == "approve"
    try:
        service.decide(row, current_user, approve=approve, comment=request.form.get("comment", "")[:400],
                       today=clock.business_today(), now=clock.now(), class_days=jobs.class_days(current_app.config),
                       ip=client_ip())
    except service.RestructureError as e:
        return _detail_page(service.get(request_id), _errors(e), 422)
    if row.status == "approved":
        flash(_("Approved: the loan has its new schedule."), "success")
    elif row.status == "refused":
        flash(_("Refused."), "success")
    else:
        flash(_("Approved at this level; it goes on to the %(level)s.", level=_(rs.LEVELS[service.next_level(row)])),
              "success")
    return redirect(url_for(".detail", request_id=row.id), code=303)


@bp.route("/restructurings/<int:request_id>/withdraw", methods=["POST"])
@roles_required(*ACTIONS["request_restructure"])
def withdraw(request_id: int):
    row = _row_in_reach(request_id)
    try:
        service.withdraw(row, current_user, ip=client_ip())
    except service.RestructureError as e:
        return _detail_page(row, _errors(e), 422)
    flash(_("Withdrawn."), "success")
    return redirect(url_for("loans.detail", loan_id=row.loan_id), code=303)

