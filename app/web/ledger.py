"""The books on screen (/ledger/…): trial balance, general ledger per account, journal, balance sheet,
income statement (each on screen, ``?format=csv|xlsx`` to download, audited), the voucher export
for accounting packages, the chart of accounts with its role mapping and the provisioning rates,
manual journal entries and their reversal, and the day and month close.

Who: the roles granted the ledger (cashier, accountant, auditor) read; only the accountant
(``keep_books``) posts, reverses and closes; the chart and its mapping are edited by the accountant
or the administrator (``edit_chart``; the administrator sees the chart, not the figures). Filters
stay in the URL; the results swap in by htmx (``#ledger-results``).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import from_fen
from app.domain.repayment import CLASS_LABELS, CLASSES
from app.http_edge import client_ip, translate_message
from app.services import exports, ledger_admin, ledger_reports, ledger_settings, scope
from app.services.errors import ServiceError
from app.web.errors import back_to
from app.web.htmx import wants_partial
from app.web.reports import send_export
from app.web.security import roles_required

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

READERS = scope.roles_granted(scope.LEDGER)
KEEPER = scope.ACTIONS["keep_books"]
CHART_EDITORS = scope.ACTIONS["edit_chart"]
CHART_READERS = tuple(dict.fromkeys((*READERS, *CHART_EDITORS)))


def _day(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ledger_reports.LedgerReportError("bad_date", N_("Dates are written YYYY-MM-DD.")) from None


def _period() -> tuple[date, date]:
    today = clock.business_today()
    return _day("from", today.replace(day=1)), _day("to", today)


def _yuan(figures: dict[str, int]) -> dict:
    return {k: from_fen(v) for k, v in figures.items()}


def _links(endpoint: str, raw: dict) -> dict[str, str]:
    filters = {k: v for k, v in raw.items() if v and k != "format"}
    return {fmt: url_for(endpoint, **filters, format=fmt) for fmt in exports.FORMATS}


def _show(view: str, build, *, title: str, period: bool, extra: dict | None = None):
    """One report screen: the filter form and its results, or its download."""
    scope.require(current_user, scope.LEDGER)
    raw = {k: v for k, v in request.args.items() if k != "format"}
    fmt = request.args.get("format", "").strip()
    context = {"view": view, "title": title, "period": period, "raw": raw, "error": "", "report": None,
               "links": _links(f"ledger.{view}", raw), "extra": extra or {},
               "today": clock.business_today()}
    status = 200
    try:
        report, figures = build()
        if fmt:
            exports.check_format(fmt)
            return send_export(report, fmt)
        context.update(report=report, figures=figures)
    except ServiceError as e:
        context["error"] = translate_message(e.message, e.params)
        status = 400
    template = "ledger/_results.html" if wants_partial() and request.headers.get("HX-Target") == "ledger-results" else "ledger/report.html"
    return render_template(template, **context), status


@bp.route("/")
@roles_required(*READERS)
def trial_balance():
    def build():
        as_of = _day("as_of", clock.business_today())
        tb = ledger_reports.trial_balance(as_of)
        return ledger_reports.trial_balance_report(as_of), {"balanced": tb.balanced, "as_of": as_of}
    return _show("trial_balance", build, title=_("Trial balance"), period=False)


@bp.route("/general-ledger")
@roles_required(*READERS)
def general_ledger():
    accounts = ledger_admin.chart()

    def build():
        start, end = _period()
        code = request.args.get("account", "").strip() or (accounts[0].code if accounts else "")
        return ledger_reports.general_ledger_report(code, start, end, _), {}
    return _show("general_ledger", build, title=_("General ledger"), period=True, extra={"accounts": accounts})


@bp.route("/journal")
@roles_required(*READERS)
def journal():
    def build():
        start, end = _period()
        return ledger_reports.journal_report(start, end, _, limit=None if request.args.get("format") else
                                             ledger_reports.JOURNAL_LIMIT), {}
    return _show("journal", build, title=_("Journal"), period=True)


@bp.route("/balance-sheet")
@roles_required(*READERS)
def balance_sheet():
    def build():
        as_of = _day("as_of", clock.business_today())
        bs = ledger_reports.balance_sheet(as_of)
        return ledger_reports.balance_sheet_report(as_of, _), {"statement": _yuan(bs.figures)}
    return _show("balance_sheet", build, title=_("Balance sheet"), period=False)


@bp.route("/income-statement")
@roles_required(*READERS)
def income_statement():
    def build():
        start, end = _period()
        st = ledger_reports.income_statement(start, end)
        return ledger_reports.income_statement_report(start, end, _), {"statement": _yuan(st.figures)}
    return _show("income_statement", build, title=_("Income statement"), period=True)


@bp.route("/vouchers")
@roles_required(*READERS)
def vouchers():
    scope.require(current_user, scope.LEDGER)
    raw = {k: v for k, v in request.args.items() if k != "format"}
    fmt = request.args.get("format", "").strip()
    error = ""
    try:
        start, end = _period()
        if fmt:
            data, name = ledger_reports.voucher_file(current_user.id, start, end, fmt, ip=client_ip(), translate=_)
            response = Response(data, mimetype=exports.MEDIA_TYPES.get(fmt, "application/octet-stream"))
            response.headers.set("Content-Disposition", "attachment", filename=name)
            response.headers["Cache-Control"] = "no-store"
            return response
        ledger_reports.check_period(start, end)
    except ServiceError as e:
        error = translate_message(e.message, e.params)
        start, end = clock.business_today().replace(day=1), clock.business_today()
    return render_template("ledger/vouchers.html", raw=raw, error=error, start=start, end=end,
                           links=_links("ledger.vouchers", raw), headers=ledger_reports.VOUCHER_HEADERS), 400 if error else 200


# --- the chart of accounts, the mapping, the rates -------------------------------------------------


def _accounts_page(status: int = 200, rate_values: dict | None = None, rate_errors: dict | None = None):
    return render_template(
        "ledger/accounts.html", accounts=ledger_admin.chart(), mapping=ledger_admin.mapping(),
        products=ledger_admin.products(), kinds=books.KINDS, classes=[(c, CLASS_LABELS[c]) for c in CLASSES],
        rates=rate_values or ledger_settings.percents(), rate_errors=rate_errors or {},
        roles=books.ROLES, sides={"debit": N_("Debit"), "credit": N_("Credit")},
    ), status


@bp.route("/accounts")
@roles_required(*CHART_READERS)
def accounts():
    if not scope.can(current_user, "edit_chart"):
        scope.require(current_user, scope.LEDGER)
    return _accounts_page()


@bp.route("/accounts/add", methods=["POST"])
@roles_required(*CHART_EDITORS)
def add_account():
    back_to(url_for(".accounts"))
    f = request.form
    account = ledger_admin.add_account(f.get("code", ""), f.get("name", ""), f.get("kind", ""), f.get("side", ""),
                                       actor_id=current_user.id, ip=client_ip())
    flash(_("Account %(code)s %(name)s added.", code=account.code, name=account.name), "success")
    return redirect(url_for(".accounts"), code=303)


@bp.route("/accounts/rename", methods=["POST"])
@roles_required(*CHART_EDITORS)
def rename_account():
    back_to(url_for(".accounts"))
    account = ledger_admin.rename_account(request.form.get("code", ""), request.form.get("name", ""),
                                          actor_id=current_user.id, ip=client_ip())
    flash(_("Account %(code)s is now named %(name)s.", code=account.code, name=account.name), "success")
    return redirect(url_for(".accounts"), code=303)


@bp.route("/accounts/retire", methods=["POST"])
@roles_required(*CHART_EDITORS)
def retire_account():
    back_to(url_for(".accounts"))
    account = ledger_admin.retire_account(request.form.get("code", ""), actor_id=current_user.id, ip=client_ip())
    flash(_("Account %(code)s %(name)s is retired: it takes no more postings.", code=account.code, name=account.name),
          "success")
    return redirect(url_for(".accounts"), code=303)


@bp.route("/mapping", methods=["POST"])
@roles_required(*CHART_EDITORS)
def set_mapping():
    back_to(url_for(".accounts") + "#mapping")
    raw_product = request.form.get("product", "").strip()
    product_id = int(raw_product) if raw_product.isdigit() else None
    ledger_admin.set_mapping(request.form.get("role", ""), request.form.get("code", ""), product_id=product_id,
                             actor_id=current_user.id, ip=client_ip())
    flash(_("Mapping saved."), "success")
    return redirect(url_for(".accounts") + "#mapping", code=303)


@bp.route("/rates", methods=["POST"])
@roles_required(*KEEPER)
def set_rates():
    values = {c: request.form.get(c, "") for c in CLASSES}
    try:
        ledger_settings.set_provision_rates(values, actor_id=current_user.id, ip=client_ip())
    except ledger_settings.LedgerSettingError as e:
        errors = {k: translate_message(m, dict(p)) for k, (m, p) in e.fields.items()}
        return _accounts_page(422, values, errors)
    flash(_("Provisioning rates saved; the next month-end close uses them."), "success")
    return redirect(url_for(".accounts") + "#rates", code=303)


# --- manual entries ----------------------------------------------------------------------------------


@bp.route("/entries/new", methods=["GET", "POST"])
@roles_required(*KEEPER)
def new_entry():
    form = request.form
    values = {"date": form.get("date", clock.business_today().isoformat()), "summary": form.get("summary", ""),
              "code": form.getlist("code") or [""] * 4, "debit": form.getlist("debit") or [""] * 4,
              "credit": form.getlist("credit") or [""] * 4}
    if request.method == "POST":
        try:
            entry = ledger_admin.manual_entry(ledger_admin.parse_day(values["date"]), values["summary"], values["code"],
                                              values["debit"], values["credit"], actor_id=current_user.id, ip=client_ip())
        except ServiceError as e:
            return render_template("ledger/entry_form.html", values=values, accounts=ledger_admin.chart(),
                                   error=translate_message(e.message, e.params)), 422
        flash(_("Entry posted on %(day)s.", day=entry.posting_date.isoformat()), "success")
        return redirect(url_for(".journal", **{"from": entry.posting_date.isoformat(), "to": entry.posting_date.isoformat()}),
                        code=303)
    return render_template("ledger/entry_form.html", values=values, accounts=ledger_admin.chart(), error="")


@bp.route("/entries/reverse", methods=["POST"])
@roles_required(*KEEPER)
def reverse_entry():
    raw = request.form.get("entry_id", "").strip()
    if not raw.isdigit():
        raise ledger_admin.LedgerError("unknown_entry", N_("There is no such journal entry."))
    mirror = ledger_admin.reverse_entry(int(raw), request.form.get("reason", ""), actor_id=current_user.id, ip=client_ip())
    flash(_("Entry reversed by a mirror entry posted on %(day)s.", day=mirror.posting_date.isoformat()), "success")
    return redirect(url_for(".journal", **{"from": mirror.posting_date.isoformat(), "to": mirror.posting_date.isoformat()}),
                    code=303)


# --- closing -----------------------------------------------------------------------------------------


@bp.route("/close")
@roles_required(*READERS)
def close():
    scope.require(current_user, scope.LEDGER)
    closed_through, periods = ledger_admin.closing_status()
    today = clock.business_today()
    asked = bool(request.args.get("reconcile"))
    reconciliation = ledger_admin.reconciliation(today) if asked else None
    last_month = today.replace(day=1) - timedelta(days=1)
    return render_template("ledger/close.html", closed_through=closed_through, periods=periods, today=today,
                           yesterday=today - timedelta(days=1), last_period=books.period_of(last_month),
                           reconciliation=reconciliation, asked=asked, yuan=ledger_reports.yuan)


@bp.route("/close/day", methods=["POST"])
@roles_required(*KEEPER)
def close_day():
    back_to(url_for(".close"))
    day = ledger_admin.parse_day(request.form.get("day", ""))
    done = ledger_admin.close_day(day, actor=current_user)
    flash(_("The books are closed through %(day)s.", day=done["closed_through"]), "success")
    return redirect(url_for(".close"), code=303)


@bp.route("/close/provision", methods=["POST"])
@roles_required(*KEEPER)
def provision():
    back_to(url_for(".close"))
    period = request.form.get("period", "").strip()
    done = ledger_admin.provision(period, actor=current_user)
    flash(_("Loan loss provision of %(period)s: the allowance is now %(target)s (posted %(posted)s).", period=period,
            target=ledger_reports.yuan(done["target"]), posted=ledger_reports.yuan(done["posted"])), "success")
    return redirect(url_for(".close"), code=303)


@bp.route("/close/month", methods=["POST"])
@roles_required(*KEEPER)
def close_month():
    back_to(url_for(".close"))
    period = request.form.get("period", "").strip()
    ledger_admin.close_month(period, actor=current_user)
    flash(_("Period %(period)s is closed.", period=period), "success")
    return redirect(url_for(".close"), code=303)
