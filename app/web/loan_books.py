"""A loan in the books: its write-off (核销) and the recoveries after it, the early settlement quote,
and the loan's account (the journal entries beside the schedule)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import ledger as books
from app.domain import repayment as rp
from app.http_edge import client_ip, translate_message
from app.services import ledger_loans, scope
from app.services import loans as loan_service
from app.services import settlement
from app.services import write_off as write_off_service
from app.services.scope import ACTIONS
from app.web.errors import back_to
from app.web.htmx import render_page_or_partial
from app.web.security import any_staff, roles_required

bp = Blueprint("loan_books", __name__)

WRITE_OFF_ROLES = tuple(dict.fromkeys(ACTIONS["request_write_off"] + ACTIONS["approve_write_off"]))


def _settings() -> loan_service.LoanSettings:
    return loan_service.LoanSettings.from_config(current_app.config)


def _to_loan(loan_id: int):
    return redirect(url_for("loans.detail", loan_id=loan_id, _anchor="write-off"), code=303)


@bp.route("/loans/<int:loan_id>/write-off", methods=["POST"])
@roles_required(*ACTIONS["request_write_off"])
def request_write_off(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    back_to(url_for("loans.detail", loan_id=loan_id, _anchor="write-off"))
    write_off_service.request(loan, current_user, basis=request.form.get("basis", ""),
                              reason=request.form.get("reason", ""), today=clock.business_today(), now=clock.now(),
                              settings=_settings(), ip=client_ip())
    flash(_("The write-off is asked for; a senior reviewer other than you decides it."), "success")
    return _to_loan(loan_id)


@bp.route("/loans/<int:loan_id>/write-off/decision", methods=["POST"])
@roles_required(*ACTIONS["approve_write_off"])
def decide_write_off(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    back_to(url_for("loans.detail", loan_id=loan_id, _anchor="write-off"))
    approved = write_off_service.decide(loan, current_user, decision=request.form.get("decision", ""),
                                        note=request.form.get("note", ""), today=clock.business_today(),
                                        now=clock.now(), settings=_settings(), ip=client_ip())
    if approved:
        flash(_("The loan is written off: it has left the balance sheet and stays in collection."), "success")
    else:
        flash(_("The write-off is refused; the loan is unchanged."), "success")
    return _to_loan(loan_id)


@bp.route("/loans/<int:loan_id>/recoveries", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def record_recovery(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    back_to(url_for("loans.detail", loan_id=loan_id, _anchor="recoveries"))
    write_off_service.record_recovery(
        loan, current_user, amount=request.form.get("amount", ""), received_on=request.form.get("received_on", ""),
        channel=request.form.get("channel", ""), reference=request.form.get("reference", ""),
        today=clock.business_today(), now=clock.now(), settings=_settings(), ip=client_ip())
    flash(_("Recovery recorded and posted as recovery income."), "success")
    return redirect(url_for("loans.detail", loan_id=loan_id, _anchor="recoveries"), code=303)


@bp.route("/write-offs")
@roles_required(*WRITE_OFF_ROLES)
def pending():
    """The write-off requests waiting for a decision (for the approvers; the requesters see theirs)."""
    return render_template("loans/write_offs.html", requests=write_off_service.pending(current_user),
                           bases=write_off_service.BASES, class_labels=rp.CLASS_LABELS)


@bp.route("/loans/<int:loan_id>/quote")
@any_staff
def quote(loan_id: int):
    """Early settlement (提前结清): what the borrower must bring on a day to close the loan."""
    loan = scope.loan(current_user, loan_id)
    today = clock.business_today()
    raw = request.args.get("on", "").strip() or today.isoformat()
    result, error = None, None
    try:
        on = date.fromisoformat(raw)
    except ValueError:
        error = _("Enter the date as YYYY-MM-DD.")
    else:
        try:
            result = settlement.quote(loan, on)
        except settlement.QuoteError as e:
            error = translate_message(e.message, e.params)
    return render_page_or_partial("loans/quote.html", "loans/_quote.html", loan=loan, quote=result, error=error,
                                  on=raw, today=today)


@bp.route("/loans/<int:loan_id>/account")
@roles_required(*scope.roles_granted(scope.LEDGER))
def account(loan_id: int):
    """The loan's account: the journal entries the books hold for it beside its schedule."""
    loan = scope.loan(current_user, loan_id)
    return render_template("loans/account.html", loan=loan, entries=ledger_loans.entries_of(loan.id),
                           installments=loan_service.current_schedule(loan),
                           rows=loan_service.schedule_rows(loan), off_balance=write_off_service.off_balance(loan),
                           kinds=books.ENTRY_KINDS, today=clock.business_today())
