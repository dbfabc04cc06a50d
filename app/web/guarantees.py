"""Guarantors on screen: the box on the application page and the guarantees a borrower gave
(fragments loaded into those pages by htmx)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.domain.guarantees import ARREARS_MODES
from app.http_edge import client_ip, translate_message
from app.services import guarantees, identity_access, scope
from app.services import products as product_service
from app.services.scope import APPLICATIONS, grants, require
from app.web.security import any_staff, roles_required

bp = Blueprint("guarantees", __name__)


@bp.route("/applications/<int:application_id>/guarantors")
@any_staff
def application_box(application_id: int):
    app = scope.application(current_user, application_id)
    require(current_user, APPLICATIONS)
    views = guarantees.for_application(current_user, app)
    for v in views:  # the guarantor's name, masked ID number and loans were shown
        identity_access.record_view(current_user, v.guarantor.id, "application", object_type="application",
                                    object_id=app.id, ip=client_ip())
    return render_template("applications/_guarantors_box.html", app=app, views=views, may=grants(current_user),
                           rules=guarantees.rules_of(app.product))


@bp.route("/borrowers/<int:borrower_id>/guarantees")
@any_staff
def borrower_box(borrower_id: int):
    borrower = scope.borrower(current_user, borrower_id)
    summary = guarantees.given_by(current_user, borrower)
    return render_template("borrowers/_guarantees.html", borrower=borrower, summary=summary, may=grants(current_user))


# --- the administrator: a product's guarantor rules (credit_rules["guarantor"]) --------------------


@bp.route("/admin/products/<int:product_id>/guarantor-rules", methods=["GET", "POST"])
@roles_required("admin")
def product_rules(product_id: int):
    product = product_service.product(product_id)
    rules, problem = guarantees.stored_rules(product)
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("required", "consent_photo", "limit", "arrears", "arrears_days")}
        try:
            changed = guarantees.save_rules(product, typed, actor_id=current_user.id, ip=client_ip())
        except guarantees.GuarantorRulesRefused as e:
            errors = {k: translate_message(m, p) for k, (m, p) in e.fields.items()}
            values = {**typed, "required": bool(typed["required"]), "consent_photo": bool(typed["consent_photo"])}
            return render_template("admin/guarantor_rules.html", product=product, values=values, errors=errors,
                                   problem=problem, modes=ARREARS_MODES), 422
        flash(_("Guarantor rules of %(name)s saved.", name=product.name) if changed
              else _("Nothing changed in the guarantor rules of %(name)s.", name=product.name), "success" if changed else "info")
        return redirect(url_for("admin.products"), code=303)
    return render_template("admin/guarantor_rules.html", product=product, values=guarantees.form_values(rules),
                           errors={}, problem=problem, modes=ARREARS_MODES)
