"""Guarantors on screen: the box on the application page and the guarantees a borrower gave
(fragments loaded into those pages by htmx)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.http_edge import client_ip
from app.services import guarantees, identity_access, scope
from app.services.scope import APPLICATIONS, grants, require
from app.web.security import any_staff

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
