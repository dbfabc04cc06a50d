"""The administrator's forms for a product's joint-liability group rules and light-path rules
(``Product.credit_rules["group"]`` / ``["light_path"]``; app/services/product_rules.py)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.http_edge import client_ip, translate_message
from app.services import product_rules as rules_service
from app.services import products as product_service
from app.web.security import roles_required

bp = Blueprint("product_rules", __name__)


def _errors(e: rules_service.RulesRefused) -> dict[str, str]:
    return {k: translate_message(m, dict(p)) for k, (m, p) in e.fields.items()}


def _saved(changed: bool, saved: str, unchanged: str):
    flash(saved if changed else unchanged, "success" if changed else "info")
    return redirect(url_for("admin.products"), code=303)


@bp.route("/admin/products/<int:product_id>/group-rules", methods=["GET", "POST"])
@roles_required("admin")
def group_rules(product_id: int):
    product = product_service.product(product_id)
    rules, problem = rules_service.stored_group_rules(product)
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in rules_service.GROUP_FIELDS}
        try:
            changed = rules_service.save_group_rules(product, typed, actor_id=current_user.id, ip=client_ip())
        except rules_service.RulesRefused as e:
            return render_template("admin/group_rules.html", product=product, values={**typed, "allowed": bool(typed["allowed"])},
                                   errors=_errors(e), problem=problem), 422
        return _saved(changed, _("Group rules of %(name)s saved.", name=product.name),
                      _("Nothing changed in the group rules of %(name)s.", name=product.name))
    return render_template("admin/group_rules.html", product=product, values=rules_service.group_form_values(product, rules),
                           errors={}, problem=problem)


@bp.route("/admin/products/<int:product_id>/light-path-rules", methods=["GET", "POST"])
@roles_required("admin")
def light_path_rules(product_id: int):
    product = product_service.product(product_id)
    rules, problem = rules_service.stored_light_path_rules(product)
    page = {"product": product, "problem": problem, "items": rules_service.light_path_item_choices(product, rules),
            "ratings": rules_service.rating_choices()}
    if request.method == "POST":
        typed = {"enabled": request.form.get("enabled", ""), "min_score": request.form.get("min_score", ""),
                 "valid_days": request.form.get("valid_days", ""),
                 "excluded_ratings": request.form.getlist("excluded_ratings"),
                 "required_items": request.form.getlist("required_items")}
        try:
            changed = rules_service.save_light_path_rules(product, typed, actor_id=current_user.id, ip=client_ip())
        except rules_service.RulesRefused as e:
            return render_template("admin/light_path_rules.html", values={**typed, "enabled": bool(typed["enabled"])},
                                   errors=_errors(e), **page), 422
        return _saved(changed, _("Light-path rules of %(name)s saved.", name=product.name),
                      _("Nothing changed in the light-path rules of %(name)s.", name=product.name))
    return render_template("admin/light_path_rules.html", values=rules_service.light_path_form_values(rules),
                           errors={}, **page)
