"""The audit log viewer (/admin/audit): filter, page newest first ("more" by htmx), export as CSV."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user

from app import clock
from app.http_edge import client_ip, translate_message
from app.services import audit_log, retention
from app.services.scope import ACTIONS, AUDIT_LOG, require, roles_granted
from app.web.security import roles_required

bp = Blueprint("audit_log", __name__, url_prefix="/admin/audit")
ROLES = roles_granted(AUDIT_LOG)  # the administrator and the internal auditor


def _parsed():
    parsed = audit_log.parse_filter(request.args)
    errors = {name: translate_message(msg, params) for name, (msg, params) in parsed.problems.items()}
    return parsed.filter, errors


@bp.route("/")
@roles_required(*ROLES)
def index():
    require(current_user, AUDIT_LOG)
    f, errors = _parsed()
    raw_cursor = request.args.get("before", "")
    cursor = int(raw_cursor) if raw_cursor.isascii() and raw_cursor.isdigit() and len(raw_cursor) <= 18 else None
    page = audit_log.Page([], None) if errors else audit_log.page(f, before_id=cursor)
    context = dict(f=f, errors=errors, page=page, object_types=audit_log.OBJECT_TYPES, args=f.query_args())
    if cursor is not None and request.headers.get("HX-Request") == "true":
        return render_template("admin/audit_rows.html", **context)
    return render_template("admin/audit.html", **context), (422 if errors else 200)


@bp.route("/export.csv")
@roles_required(*ROLES)
def export():
    require(current_user, AUDIT_LOG)
    f, errors = _parsed()
    if errors:
        return render_template("admin/audit.html", f=f, errors=errors, page=audit_log.Page([], None),
                               object_types=audit_log.OBJECT_TYPES, args=f.query_args()), 422
    audit_log.record_export(f, actor_id=current_user.id, ip=client_ip())
    name = f"audit-{clock.business_today().isoformat()}.csv"
    return Response(stream_with_context(
        chunk.encode("utf-8") for chunk in audit_log.csv_lines(f)),
        mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/borrowers/<int:borrower_id>/export.json")
@roles_required(*ACTIONS["export_borrower_data"])
def borrower_export(borrower_id: int):
    """A borrower's data for his access request: one JSON file (audited, an identity view)."""
    document = retention.borrower_export(borrower_id, viewer=current_user, ip=client_ip())
    body = json.dumps(document, ensure_ascii=False, indent=1)
    name = f"borrower-{borrower_id}-{clock.business_today().isoformat()}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
