"""The query terminal's search box (/search): parse the query string, call the search service,
render the page or, for htmx, the results alone; export what was found (audited)."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app import clock
from app.domain import repayment as rp
from app.domain.workflow import STATE_LABELS, State
from app.http_edge import translate_message
from app.services import scope
from app.services import search as search_service
from app.web.htmx import wants_partial
from app.web.reports import send_export
from app.web.security import any_staff

bp = Blueprint("search", __name__, url_prefix="/search")


def _choices() -> dict:
    return {
        **search_service.filter_choices(current_user),
        "loan_states": search_service.LOAN_STATE_LABELS,
        "application_states": {s.value: STATE_LABELS[State(s)] for s in State},
        "classes": rp.CLASS_LABELS,
        "sorts": search_service.SORTS,
    }


@bp.route("/")
@any_staff
def index():
    scope.require(current_user, scope.BORROWERS)
    raw = {k: v for k, v in request.args.items()}
    error = page = None
    try:
        req = search_service.parse(raw, current_user)
        page = search_service.run(current_user, req)
    except search_service.SearchError as e:
        req = search_service.SearchRequest(raw={k: v[:50] for k, v in raw.items() if k != "page"})
        error = translate_message(e.message, e.params)
    context = dict(page=page, error=error, req=req, raw=raw, kind_labels=search_service.KIND_LABELS,
                   may=scope.grants(current_user), class_labels=rp.CLASS_LABELS)
    status = 400 if error else 200
    if wants_partial():
        return render_template("search/_results.html", **context), status
    return render_template("search/index.html", **context, **_choices()), status


@bp.route("/export")
@any_staff
def export():
    """Everything found, as CSV or XLSX (masked ID numbers; the export audited with its filters)."""
    scope.require(current_user, scope.BORROWERS)
    fmt = request.args.get("format", "xlsx")
    req = search_service.parse(request.args, current_user)
    return send_export(search_service.as_report(current_user, req, today=clock.business_today()), fmt)
