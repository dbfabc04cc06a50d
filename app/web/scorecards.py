"""The scorecard's screens: the admin's editor per loan type (each save a new version, every problem
named at once and nothing saved), and the score partial (templates/applications/_score.html) on the
application and data-entry pages, fed by the template global ``score_of``."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.domain import scorecard as card_rules
from app.http_edge import client_ip, translate_message
from app.services import products as product_service
from app.services import scope, scoring, surveys, transactions
from app.web import editor_forms
from app.web.security import roles_required

bp = Blueprint("scorecards", __name__)

MAX_FACTORS = card_rules.MAX_FACTORS + 1
MAX_BINS = card_rules.MAX_BINS + 1
MAX_GRADES = 10
LIMIT_FIELDS = ("income_multiple", "repayment_share", "capacity_years", "step")
BIN_FIELDS = ("min", "max", "values", "points", "reason")
FACTOR_FIELDS = ("key", "label", "fact", "missing_points", "missing_reason", "other_points", "other_reason")


def _rows_from_form() -> dict:
    form = request.form
    factors = []
    for i in range(editor_forms.count(form.get("factors"), MAX_FACTORS)):
        p = f"f{i}_"
        f = {name: form.get(p + name, "") for name in FACTOR_FIELDS}
        f["bins"] = [{name: form.get(f"{p}b{j}_{name}", "") for name in BIN_FIELDS}
                     for j in range(editor_forms.count(form.get(p + "n"), MAX_BINS))]
        factors.append(f)
    grades = [{name: form.get(f"g{k}_{name}", "") for name in ("min_score", "label", "max_amount")}
              for k in range(editor_forms.count(form.get("grades"), MAX_GRADES))]
    return {"base": form.get("base", ""), "factors": factors, "grades": grades,
            **{name: form.get(name, "") for name in LIMIT_FIELDS}}


def _blank_bin() -> dict:
    return {name: "" for name in BIN_FIELDS}


def _editor(product, rows, problems=None, status=200, *, base_version=None):
    current = scoring.ensure_current(product.id)
    return render_template(
        "admin/scorecard_edit.html", product=product, rows=rows, problems=problems or [],
        base_version=base_version or current.version, current=current,
        history=scoring.history(product.id), facts=scoring.fact_choices(product.id),
        span=scoring.span(product.id, rows, current),
    ), status


@bp.route("/admin/products/<int:product_id>/scorecard", methods=["GET"])
@roles_required("admin")
def edit(product_id: int):
    product = product_service.product(product_id)
    current = scoring.ensure_current(product.id)
    return _editor(product, scoring.to_rows(current.definition))


@bp.route("/admin/products/<int:product_id>/scorecard", methods=["POST"])
@roles_required("admin")
def save(product_id: int):
    product = product_service.product(product_id)
    rows = _rows_from_form()
    base = editor_forms.base_version()
    action = editor_forms.action()
    factors = rows["factors"]
    if action == "add_factor":
        factors.append({name: "" for name in FACTOR_FIELDS} | {"bins": [_blank_bin()]})
        return _editor(product, rows, base_version=base)
    if action == "add_grade":
        rows["grades"].append({"min_score": "", "label": "", "max_amount": ""})
        return _editor(product, rows, base_version=base)
    parts = action.split("_")
    numbers = [int(x) for x in parts[1:] if x.isdigit()]
    if parts[0] in ("addbin", "dropfactor", "dropbin", "dropgrade") and len(numbers) == len(parts) - 1:
        if parts[0] == "addbin" and numbers and numbers[0] < len(factors):
            factors[numbers[0]]["bins"].append(_blank_bin())
        elif parts[0] == "dropfactor" and numbers and numbers[0] < len(factors):
            del factors[numbers[0]]
        elif parts[0] == "dropbin" and len(numbers) == 2 and numbers[0] < len(factors) \
                and numbers[1] < len(factors[numbers[0]]["bins"]):
            del factors[numbers[0]]["bins"][numbers[1]]
        elif parts[0] == "dropgrade" and numbers and numbers[0] < len(rows["grades"]):
            del rows["grades"][numbers[0]]
        return _editor(product, rows, base_version=base)
    if action != "publish":
        abort(400)
    try:
        row, written = scoring.publish(product.id, scoring.from_rows(product.id, rows), current_user,
                                       expected_version=base, ip=client_ip())
    except scoring.ScorecardRefused as e:
        transactions.rollback()
        problems = [card_rules.problem_text(m, p, _) for m, p in e.problems]
        return _editor(product, rows, problems, 422, base_version=base)
    except scoring.ScorecardConflict as e:
        transactions.rollback()
        return _editor(product, rows, [translate_message(e.message, e.params)], 409, base_version=base)
    if written:
        flash(_("Scorecard of %(name)s published as version %(version)s. Applications are scored with it "
                "when their survey answers change and when they pass first-level review.",
                name=product.name, version=row.version), "success")
    else:
        flash(_("Nothing changed in the scorecard of %(name)s.", name=product.name), "info")
    return redirect(url_for(".edit", product_id=product.id), code=303)


# --- the score on an application's pages ---------------------------------------------------------


def _money(text: object) -> Decimal | None:
    try:
        return Decimal(str(text)) if text is not None else None
    except (InvalidOperation, ValueError):
        return None


def _option_labels(app) -> dict[str, dict[str, str]]:
    """question key -> {option value: its label} of the survey the application was answered on."""
    definition = surveys.definition_for(app)
    if definition is None:
        return {}
    return {q.key: {o.value: o.label for o in q.options} for q in definition.questions() if q.type == "choice"}


def _shown(c: dict, options: dict[str, dict[str, str]]) -> str:
    """A contribution's answer in words: a choice by its label, yes/no, a number as stored."""
    value = c.get("value")
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return options.get(c.get("fact", ""), {}).get(str(value), str(value))


@bp.app_template_global("score_of")
def score_of(app) -> dict:
    """What templates/applications/_score.html needs: the stored score, each factor's points and
    reason, the suggested limit and its steps in words, the amount asked against it."""
    if not scope.may(current_user, scope.APPLICATIONS):  # the partial is a kind of application data
        return {"shown": False}
    detail = app.score_detail or None
    if app.score is None or not detail:
        return {"shown": True, "scored": False, "answered": bool(app.survey_answers)}
    limit = detail.get("limit") or {}
    options = _option_labels(app)
    reasons = [translate_message(r.get("message", ""), r.get("params") or {}) for r in limit.get("reasons", ())]
    suggested = app.suggested_limit if app.suggested_limit is not None else _money(limit.get("amount"))
    return {
        "shown": True,
        "scored": True,
        "score": app.score,
        "base": detail.get("base"),
        "contributions": [dict(c, shown=_shown(c, options)) for c in detail.get("contributions", [])],
        "grade": limit.get("grade"),
        "limit": suggested,
        "limit_reasons": reasons,
        "over": suggested is not None and app.amount > suggested,
        "version": detail.get("scorecard_version"),
    }
