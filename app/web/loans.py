"""Disbursement, the loan account (schedule, repayments, reversal), the printable note, the portfolio."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import repayment as rp
from app.domain import restructure
from app.extensions import photo_store
from app.http_edge import client_ip, translate_message
from app.services import loans as loan_service
from app.services import app_settings, identity_access, portfolio
from app.services import products as product_service
from app.services import scope
from app.services import restructuring as restructuring_service
from app.services import write_off as write_off_service
from app.services.scope import ACTIONS, abilities
from app.web import images
from app.web.htmx import render_page_or_partial
from app.web.errors import back_to
from app.web.security import any_staff, roles_required

bp = Blueprint("loans", __name__)


def _settings() -> loan_service.LoanSettings:
    return loan_service.LoanSettings.from_config(current_app.config)


def _errors(e: loan_service.LoanError) -> dict[str, str]:
    return {k: translate_message(m, p) for k, (m, p) in e.errors.items()}


@bp.route("/applications/<int:application_id>/disburse", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def disburse(application_id: int):
    app = scope.application(current_user, application_id)
    form = loan_service.DisbursementForm(**{k: request.form.get(k, "") for k in
                                            ("amount", "disbursed_on", "channel", "reference", "due_dates")})
    back_to(url_for("applications.detail", application_id=app.id))
    try:
        loan = loan_service.disburse(app, form, current_user, today=clock.business_today(), now=clock.now(),
                                      settings=_settings(), ip=client_ip())
    except loan_service.LoanError as e:  # shown beside the fields, the typing kept
        return _application_page(app, form, _errors(e)), 422
    flash(_("Disbursed: the loan account and its schedule are created."), "success")
    return redirect(url_for(".detail", loan_id=loan.id), code=303)


def _application_page(app, form, errors: dict):
    from app.web.applications import detail_context

    context = detail_context(app) | {"disbursement": form, "disbursement_errors": errors}
    return render_template("applications/detail.html", **context)


@bp.route("/loans/<int:loan_id>")
@any_staff
def detail(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    return _loan_page(loan)


def _loan_page(loan, repayment_form: dict | None = None, errors: dict | None = None, status: int = 200):
    today = clock.business_today()
    position = loan_service.position(loan, max(today, loan.accrued_through or today))
    return render_template(
        "loans/detail.html", loan=loan, position=position, today=today,
        outstanding=position.outstanding(loan.penalty_rate), channels=loan_service.CHANNELS,
        channel_labels=loan_service.CHANNELS | loan_service.INTERNAL_CHANNELS,  # a field collection's too
        class_labels=rp.CLASS_LABELS, form=repayment_form or {}, errors=errors or {}, can=abilities(current_user),
        rows=loan_service.schedule_rows(loan), current_schedule=loan_service.current_schedule(loan), splits=loan_service.repayment_splits(loan, position),
        books=write_off_service.panel(loan), quote=None, error=None, on=today.isoformat(),
        restructurings=restructuring_service.history_of(loan), restructure_kinds=restructure.KINDS,
        restructure_statuses=restructure.STATUSES,
    ), status


@bp.route("/loans/<int:loan_id>/repayments", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def repay(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    values = {k: request.form.get(k, "") for k in ("amount", "paid_on", "channel", "reference")}
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    upload = request.files.get("receipt")
    try:
        loan_service.record_repayment(
            loan, **values, user=current_user, today=clock.business_today(), now=clock.now(),
            expected_version=expected, settings=_settings(), ip=client_ip(),
            receipt=upload.stream if upload is not None and upload.filename else None, store=photo_store(),
            max_photo_bytes=current_app.config["MAX_PHOTO_BYTES"], max_photo_pixels=current_app.config["MAX_PHOTO_PIXELS"],
        )
    except loan_service.LoanError as e:
        return _loan_page(loan, values, _errors(e), 422)
    except loan_service.LoanChanged:
        flash(_("Someone else changed this loan meanwhile; check it and enter the repayment again."), "warning")
        return redirect(url_for(".detail", loan_id=loan_id), code=303)
    flash(_("Repayment recorded."), "success")
    return redirect(url_for(".detail", loan_id=loan.id), code=303)


@bp.route("/loans/<int:loan_id>/repayments/<int:repayment_id>/reverse", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def reverse(loan_id: int, repayment_id: int):
    loan = scope.loan(current_user, loan_id)
    rep = next((r for r in loan.repayments if r.id == repayment_id), None)
    if rep is None:
        abort(404)
    back_to(url_for(".detail", loan_id=loan_id))
    loan_service.reverse_repayment(rep, current_user, request.form.get("reason", ""), now=clock.now(),
                                   settings=_settings(), ip=client_ip())
    flash(_("Repayment reversed; the later repayments were allocated again."), "success")
    return redirect(url_for(".detail", loan_id=loan_id), code=303)


@bp.route("/loans/<int:loan_id>/undo", methods=["POST"])
@roles_required(*ACTIONS["handle_money"])
def undo(loan_id: int):
    loan = scope.loan(current_user, loan_id)
    application_id = loan.application_id
    back_to(url_for(".detail", loan_id=loan_id))
    loan_service.undo_disbursement(loan, current_user, request.form.get("reason", ""), now=clock.now(), ip=client_ip())
    flash(_("The disbursement is undone; the application waits for disbursement again."), "success")
    return redirect(url_for("applications.detail", application_id=application_id), code=303)


@bp.route("/loans/<int:loan_id>/repayments/<int:repayment_id>/receipt")
@any_staff
def receipt(loan_id: int, repayment_id: int):
    loan = scope.loan(current_user, loan_id)
    rep = next((r for r in loan.repayments if r.id == repayment_id and r.receipt_sha256), None)
    if rep is None:
        abort(404)
    return images.stored_image(rep.receipt_sha256, "view")


@bp.route("/loans/<int:loan_id>/note")
@roles_required(*ACTIONS["print_contract"])
def note(loan_id: int):
    """The loan contract and its schedule, laid out for A4 (借款合同). The one document that shows
    the borrower's full ID number: the roles who have it signed, and each view is recorded."""
    loan = scope.loan(current_user, loan_id)
    identity_access.record_view(current_user, loan.borrower_id, ["contract", "id_number"], object_type="loan",
                                object_id=loan.id, ip=client_ip())
    response = current_app.make_response(render_template(
        # The contract's schedule: for a restructured loan the one it was signed with (kept by the
        # first restructuring), not the installments since.
        "loans/note.html", loan=loan, channels=loan_service.CHANNELS, schedule=loan_service.schedule_segments(loan)[0].lines,
        institution=app_settings.institution_name_or_default(current_app.config)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/loans/<int:loan_id>/statement")
@any_staff
def statement(loan_id: int):
    """The loan statement (贷款对账单): schedule vs actual, each event and the balances after it;
    A4 for print, ``?format=csv|xlsx`` to download (audited). The ID number masked."""
    from app.services import statement as statement_service

    loan = scope.loan(current_user, loan_id)
    today = clock.business_today()
    built = statement_service.build(loan, max(today, loan.accrued_through or today))
    fmt = request.args.get("format")
    if fmt:
        from app.web.reports import send_export

        return send_export(statement_service.as_report(built), fmt)
    response = current_app.make_response(render_template(
        "loans/statement.html", st=built, loan=loan, labels=statement_service, class_labels=rp.CLASS_LABELS,
        channels=loan_service.CHANNELS, institution=app_settings.institution_name_or_default(current_app.config)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/calculator")
@any_staff
def calculator():
    """Repayment calculator: the product's method, with the figures the loans will have."""
    products = product_service.active_products()
    if not products:
        abort(404)
    chosen = next((p for p in products if str(p.id) == request.args.get("product_id")), products[0])
    raw = {k: request.args.get(k, "") for k in ("amount", "term_months", "rate_percent", "start", "due_dates")}
    schedule, errors = None, {}
    if request.args.get("amount"):
        try:
            schedule = loan_service.calculate(chosen, raw)
        except loan_service.LoanError as e:
            errors = _errors(e)
    else:
        raw |= {"amount": f"{chosen.min_amount:.2f}", "term_months": str(chosen.min_term_months),
                "rate_percent": f"{chosen.annual_rate * 100:.2f}", "start": clock.business_today().isoformat()}
    context = {"products": products, "product": chosen, "raw": raw, "schedule": schedule, "errors": errors}
    return render_page_or_partial("loans/calculator.html", "loans/_calculation.html", **context)


@bp.route("/loans")
@any_staff
def index():
    fmt = request.args.get("format", "").strip()
    if fmt:  # ?format=csv|xlsx: every loan in reach, not only the page's first 200 (audited)
        from app.services import exports
        from app.web.reports import send_export

        scope.require(current_user, scope.LOANS)
        exports.check_format(fmt)
        return send_export(exports.loans_report(current_user, clock.business_today()), fmt)
    return render_template("loans/index.html", loans=loan_service.in_reach(current_user), par=portfolio.par(current_user),
                           class_labels=rp.CLASS_LABELS)
