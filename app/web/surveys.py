"""The household survey's screens: the admin's editor per loan type (each save a new version), and
the clerk's correction of an application's answers on the data-entry page (its own form, swapped
in by htmx). The answers read-only on the application page are the partial
templates/applications/_survey.html, fed by ``survey_context``."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.domain import survey as survey_rules
from app.domain.i18n import N_
from app.http_edge import client_ip, translate_message
from app.services import applications as app_service
from app.services import products as product_service
from app.services import scope, surveys, transactions
from app.services.scope import ACTIONS
from app.web import editor_forms
from app.web.htmx import wants_partial
from app.web.security import roles_required

bp = Blueprint("surveys", __name__)

MAX_SECTIONS = survey_rules.MAX_SECTIONS + 1
MAX_ROWS = 60
TYPE_LABELS = survey_rules.TYPE_LABELS


def _rows_from_form() -> list[dict]:
    form = request.form
    rows = []
    for i in range(editor_forms.count(form.get("sections"), MAX_SECTIONS)):
        questions = []
        for j in range(editor_forms.count(form.get(f"s{i}_n"), MAX_ROWS)):
            p = f"s{i}_q{j}_"
            q = {name: form.get(p + name, "") for name in survey_rules.ROW_FIELDS}
            q["required"] = form.get(p + "required") == "1"
            questions.append(q)
        rows.append({"key": form.get(f"s{i}_key", ""), "title": form.get(f"s{i}_title", ""), "questions": questions})
    return rows


def _blank_question() -> dict:
    return {name: "" for name in survey_rules.ROW_FIELDS} | {"type": "number", "required": False}


def _editor(product, rows, errors=None, status=200, *, base_version=None, impact=None):
    current = surveys.current_version(product.id)
    errors = errors or {}
    return render_template(
        "admin/survey_edit.html", product=product, rows=rows, errors=errors, types=TYPE_LABELS,
        summary=[m for k, m in errors.items()], base_version=base_version or current.version,
        current=current, history=surveys.history(product.id), impact=impact,
    ), status


def _impact(e: surveys.SurveyAffectsScorecard) -> dict:
    """The scorecard warning for the editor: what it says, each factor's line, the confirmation."""
    return {"message": translate_message(e.message, e.params), "ack": e.ack,
            "lines": [translate_message(i.message, i.params) for i in e.impacts]}


@bp.route("/admin/products/<int:product_id>/survey", methods=["GET"])
@roles_required("admin")
def edit(product_id: int):
    product = product_service.product(product_id)
    current = surveys.ensure_current(product.id)
    rows = survey_rules.to_rows(surveys.definition_of(current))
    return _editor(product, rows)


@bp.route("/admin/products/<int:product_id>/survey", methods=["POST"])
@roles_required("admin")
def save(product_id: int):
    product = product_service.product(product_id)
    rows = _rows_from_form()
    base = editor_forms.base_version()
    action = editor_forms.action()
    if action == "add_section":
        rows.append({"key": "", "title": "", "questions": [_blank_question()]})
        return _editor(product, rows, base_version=base)
    if action.startswith("add_q_"):
        i = editor_forms.count(action[6:], MAX_SECTIONS)
        if i < len(rows):
            rows[i]["questions"].append(_blank_question())
        return _editor(product, rows, base_version=base)
    if action.startswith("remove_"):
        parts = action.split("_")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            i, j = int(parts[1]), int(parts[2])
            if i < len(rows) and j < len(rows[i]["questions"]):
                del rows[i]["questions"][j]
        return _editor(product, rows, base_version=base)
    if action != "publish":
        abort(400)
    try:
        row, written = surveys.publish_rows(product.id, rows, current_user, expected_version=base, ip=client_ip(),
                                            scorecard_ack=request.form.get("scorecard_ack") or None)
    except surveys.SurveyAffectsScorecard as e:
        transactions.rollback()
        return _editor(product, rows, status=422, base_version=base, impact=_impact(e))
    except surveys.SurveyDefinitionRefused as e:
        transactions.rollback()
        errors = {field: translate_message(m, p) for field, (m, p) in e.fields.items()}
        return _editor(product, rows, errors, 422, base_version=base)
    except surveys.SurveyConflict as e:
        transactions.rollback()
        return _editor(product, rows, {"_": translate_message(e.message, e.params)}, 409, base_version=base)
    if written:
        flash(_("Survey of %(name)s published as version %(version)s. Applications already captured keep "
                "the version they were answered on.", name=product.name, version=row.version), "success")
    else:
        flash(_("Nothing changed in the survey of %(name)s.", name=product.name), "info")
    return redirect(url_for(".edit", product_id=product.id), code=303)


# ------------------------------------------------------------------ the clerk's answers
def survey_context(app, *, editable: bool, values=None, errors=None) -> dict:
    """What templates/entry/_survey.html and applications/_survey.html need."""
    definition = surveys.definition_for(app)
    if definition is None:
        return {"survey": None}
    answers = app.survey_answers or {}
    if values is None:
        values = {q.key: _shown_value(q, answers.get(q.key)) for q in definition.questions()}
    return {"survey": definition, "survey_values": values, "survey_errors": errors or {},
            "survey_editable": editable, "survey_sections": surveys.shown_sections(app),
            "survey_missing": surveys.missing_required(definition, answers),
            "survey_photos": [p for p in app.photos if p.purged_at is None]}


@bp.app_template_global("survey_of")
def survey_of(app, editable: bool = False) -> dict:
    """The survey partials' context, for the page that includes them (entry, application)."""
    return survey_context(app, editable=editable and surveys.may_edit_answers(app))


def _shown_value(q, value) -> str:
    if value is None:
        return ""
    if q.type == "yesno":
        return "true" if value is True else "false"
    return str(value)


@bp.route("/applications/<int:application_id>/survey", methods=["POST"])
@roles_required(*ACTIONS["enter_data"])
def save_answers(application_id: int):
    app = scope.application(current_user, application_id)
    definition = surveys.definition_for(app)
    if definition is None:
        abort(404)
    values = {q.key: request.form.get(f"sv_{q.key}", "") for q in definition.questions()}
    answers = {k: v for k, v in values.items() if v.strip()}
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    status = 200
    errors = None
    try:
        changed = surveys.save_answers(app, answers, current_user, complete=False, expected_version=expected,
                                       ip=client_ip())
    except surveys.SurveyRefused as e:
        transactions.rollback()
        if e.code in ("survey_locked", "survey_missing"):
            flash(translate_message(e.message, e.params), "error")
            return redirect(url_for("applications.detail", application_id=app.id), code=303)
        errors = {k: translate_message(m, p) for k, (m, p) in e.fields.items()}
        flash(_("The survey was not saved: correct the answers marked below."), "error")
        status = 422
    except app_service.Conflict as conflict:
        flash(_("This application was changed by %(who)s meanwhile. Your typing is still in the form; reload to see their change.",
                who=conflict.changed_by), "warning")
        errors = {}
        status = 409
    else:
        if changed:
            flash(_("Survey saved (%(n)s answer(s) changed).", n=len(changed)), "success")
        else:
            flash(_("Nothing changed in the survey."), "info")
        values = None
    transactions.reload(app)
    context = survey_context(app, editable=surveys.may_edit_answers(app), values=values, errors=errors)
    if wants_partial():
        return render_template("entry/_survey.html", app=app, sv=context), status
    if status == 200:
        return redirect(url_for("entry.form", application_id=app.id), code=303)
    # Without htmx, the entry page again with the typing and the problems.
    return render_template("entry/_survey_page.html", app=app, sv=context), status


N_("Yes")
N_("No")
