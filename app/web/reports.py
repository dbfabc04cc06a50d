"""The query terminal's reports: /reports lists every registered report, /reports/<name> shows one
with its filters (htmx: the results swap as a filter changes; the filters stay in the URL, so a link
shares the view), and ``?format=csv|xlsx`` downloads it (audited). Every report goes through
``reporting.parse`` and ``reporting.run``: the screens know no report by name.

A request that cannot be honoured (dates in the wrong order, an office out of reach, an unknown
report, a page past the end, too long a period) is answered with the filter form and the reason,
never a 500 and never another office's figures.
"""
from __future__ import annotations

import os

from flask import Blueprint, after_this_request, render_template, request, send_file, url_for
from flask_login import current_user

from app import clock
from app.http_edge import client_ip, translate_message
from app.services import exports, reporting, scope
from app.services.reporting import ReportRequestError
from app.web.htmx import wants_partial
from app.web.security import any_staff

bp = Blueprint("reports", __name__)

FILTER_KEYS = ("as_of", "from", "to", "by", "office", "officer", "product")


def _require_reports() -> None:
    if not reporting.may_see_reports(current_user):
        raise scope.OutOfScope("reports")


@bp.route("/reports")
@any_staff
def index():
    _require_reports()
    return render_template("reports/index.html", specs=reporting.specs())


@bp.route("/reports/<name>")
@any_staff
def show(name: str):
    _require_reports()
    raw = {k: v for k, v in request.args.items() if k != "format"}
    fmt = request.args.get("format", "").strip()
    spec = None
    try:
        spec = reporting.spec(name)
        req = reporting.parse(name, raw, viewer=current_user, today=clock.business_today())
        if fmt:
            exports.check_format(fmt)
            return send_export(reporting.run(current_user, req), fmt)
        number = reporting.page_number(raw)
        report = reporting.run(current_user, req)
        shown = reporting.page(report.rows, number)
    except ReportRequestError as e:
        reporting_error = translate_message(e.message, e.params)
        status = 404 if e.code == "unknown_report" else 400
        return _render(spec, raw, error=reporting_error), status
    return _render(spec, raw, report=report, page=shown)


def _render(spec, raw: dict, *, report=None, page=None, error: str = ""):
    context = {
        "spec": spec, "raw": raw, "report": report, "page": page, "error": error,
        "choices": reporting.filter_choices(current_user) if spec is not None else {},
        "totals": exports.totals_row(report) if report is not None else None,
        "links": _links(spec, raw, page) if spec is not None else {}, "by_labels": exports.BY_LABELS,
    }
    if wants_partial() and request.headers.get("HX-Target") == "report-results":
        return render_template("reports/_results.html", **context)
    return render_template("reports/report.html", **context)


def _links(spec, raw: dict, page) -> dict[str, str]:
    """The shareable URLs of this view: the downloads and the neighbouring pages."""
    filters = {k: v for k, v in raw.items() if v and k != "page"}

    def to(**extra):
        return url_for(".show", name=spec.name, **filters, **extra)

    links = {"csv": to(format="csv"), "xlsx": to(format="xlsx")}
    if page is not None and page.number > 1:
        links["previous"] = to(page=page.number - 1)
    if page is not None and page.has_next:
        links["next"] = to(page=page.number + 1)
    return links


def send_export(report: reporting.Report, fmt: str):
    """Write ``report`` as CSV or XLSX to a temporary file (audited by ``exports.audited_download``),
    send it, and delete the file once sent."""
    path, name, _rows = exports.audited_download(current_user, report, fmt, client_ip())

    @after_this_request
    def _remove(response):
        try:
            os.unlink(path)  # the open file stays readable until it is sent
        except OSError:
            pass
        return response

    response = send_file(path, as_attachment=True, download_name=name, mimetype=exports.MEDIA_TYPES[fmt])
    response.headers["Cache-Control"] = "no-store"
    return response
