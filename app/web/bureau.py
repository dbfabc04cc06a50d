"""Credit-bureau queries on screen: the box on the application page (log a query, attach its
report, the figures read), the report file, and the query log for audit (/admin/bureau-queries)."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import bureau as bureau_rules
from app.extensions import photo_store
from app.http_edge import client_ip, translate_message
from app.services import bureau, identity_access, scope
from app.services.scope import ACTIONS, AUDIT_LOG, can, grants, require, roles_granted
from app.web import images
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("bureau", __name__)
READERS = tuple(dict.fromkeys(ACTIONS["see_bureau_figures"] + ACTIONS["read_bureau_reports"] + ACTIONS["query_bureau"]))
LOG_ROLES = roles_granted(AUDIT_LOG)  # the administrator and the internal auditor


def _settings() -> bureau.BureauSettings:
    return bureau.BureauSettings.from_config(current_app.config)


def _detail(app_id: int) -> str:
    return url_for("applications.detail", application_id=app_id) + "#bureau"


@bp.route("/applications/<int:application_id>/bureau")
@roles_required(*READERS)
def box(application_id: int):
    app = scope.application(current_user, application_id)
    queries = bureau.queries_of(app)
    reading = [bureau.refresh(q) for q in queries]
    can_read = can(current_user, "see_bureau_figures")
    if can_read:  # the figures read from a report are the report's content: each showing is traced
        for q in queries:
            if q.report_sha256 and q.status != "reading" and any(k in bureau_rules.FIGURE_LABELS for k in q.figures or {}):
                identity_access.record_view(current_user, q.borrower_id, "bureau_report", object_type="bureau_report",
                                            object_id=q.id, ip=client_ip())
    return render_template("applications/_bureau.html", app=app, queries=queries, reading=any(reading),
                           consent=bureau.consent_photo(app), purposes=bureau_rules.PURPOSES,
                           labels=bureau_rules.FIGURE_LABELS, may=grants(current_user),
                           can_query=can(current_user, "query_bureau"), can_read=can_read,
                           can_open=can(current_user, "read_bureau_reports"))


@bp.route("/applications/<int:application_id>/bureau", methods=["POST"])
@roles_required(*ACTIONS["query_bureau"])
def record(application_id: int):
    app = scope.application(current_user, application_id)
    back_to(_detail(app.id))  # a refusal is flashed there (app/web/errors.py), nothing written
    upload = request.files.get("report")
    has_file = upload is not None and bool(upload.filename)
    bureau.record_query(app, current_user, purpose=request.form.get("purpose", ""),
                        result_ref=request.form.get("result_ref", ""),
                        report=upload.stream if has_file else None, report_name=upload.filename if has_file else "",
                        store=photo_store(), settings=_settings(), now=clock.now(), ip=client_ip())
    flash(_("The bureau query is logged."), "success")
    return redirect(_detail(app.id), code=303)


@bp.route("/applications/<int:application_id>/bureau/<int:query_id>/report", methods=["POST"])
@roles_required(*ACTIONS["query_bureau"])
def attach(application_id: int, query_id: int):
    app = scope.application(current_user, application_id)
    query = bureau.query_of(app, query_id)
    back_to(_detail(app.id))
    upload = request.files.get("report")
    if upload is None or not upload.filename:
        flash(_("Choose the report file first."), "error")
        return redirect(_detail(app.id), code=303)
    bureau.attach_report(query, current_user, report=upload.stream, report_name=upload.filename, store=photo_store(),
                         settings=_settings(), now=clock.now(), ip=client_ip())
    flash(_("The report is attached."), "success")
    return redirect(_detail(app.id), code=303)


@bp.route("/applications/<int:application_id>/bureau/<int:query_id>/report")
@roles_required(*ACTIONS["read_bureau_reports"])
def report(application_id: int, query_id: int):
    app = scope.application(current_user, application_id)
    query = bureau.query_of(app, query_id)
    if not query.report_sha256:
        abort(404)
    identity_access.record_view(current_user, query.borrower_id, "bureau_report", object_type="bureau_report",
                                object_id=query.id, ip=client_ip())
    return images.stored_document(query.report_sha256, (query.figures or {}).get("_type", "application/pdf"),
                                  download_name=bureau.report_file_name(query.report_name))


# --- the query log, for audit ------------------------------------------------------------------


def _log_filter():
    f, problems = bureau.parse_log_filter(request.args)
    return f, {k: translate_message(m, p) for k, (m, p) in problems.items()}


@bp.route("/admin/bureau-queries")
@roles_required(*LOG_ROLES)
def log():
    require(current_user, AUDIT_LOG)
    f, errors = _log_filter()
    rows = [] if errors else bureau.log_rows(f)
    return render_template("admin/bureau_log.html", f=f, errors=errors, rows=rows, purposes=bureau_rules.PURPOSES,
                           args=f.query_args()), (422 if errors else 200)


@bp.route("/admin/bureau-queries.csv")
@roles_required(*LOG_ROLES)
def log_csv():
    require(current_user, AUDIT_LOG)
    f, errors = _log_filter()
    if errors:
        return render_template("admin/bureau_log.html", f=f, errors=errors, rows=[], purposes=bureau_rules.PURPOSES,
                               args=f.query_args()), 422
    bureau.record_log_export(f, actor_id=current_user.id, ip=client_ip())
    purpose = lambda code: translate_message(bureau_rules.PURPOSES.get(code, code))  # noqa: E731
    when = lambda at: format_datetime(at, "yyyy-MM-dd HH:mm")  # noqa: E731
    name = f"bureau-queries-{clock.business_today().isoformat()}.csv"
    return Response(stream_with_context(chunk.encode("utf-8") for chunk in bureau.log_csv(f, purpose, when)),
                    mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                  "Cache-Control": "no-store"})
