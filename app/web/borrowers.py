"""Borrowers: search, detail, and registration by the officer or director."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.http_edge import client_ip, translate_message
from app.services import borrowers as borrower_service
from app.services import identity_access
from app.services import scope
from app.services.search import LOAN_STATE_LABELS
from app.services.scope import ACTIONS, VIEW_LOG, abilities, grants, require
from app.web.htmx import render_page_or_partial
from app.web.security import any_staff, roles_required

bp = Blueprint("borrowers", __name__, url_prefix="/borrowers")


@bp.route("/")
@any_staff
def index():
    q = request.args.get("q", "").strip()
    rows = borrower_service.search(current_user, q)
    return render_page_or_partial("borrowers/index.html", "partials/borrower_rows.html", borrowers=rows, q=q,
                                  can=abilities(current_user))


@bp.route("/<int:borrower_id>")
@any_staff
def detail(borrower_id: int):
    borrower = scope.borrower(current_user, borrower_id)
    applications = borrower_service.applications_of(current_user, borrower)
    identity_access.record_view(current_user, borrower.id, "borrower_page", object_type="borrower",
                                object_id=borrower.id, ip=client_ip())
    may = grants(current_user)
    views = identity_access.views_of(borrower.id) if may[VIEW_LOG] else None
    story = borrower_service.story(current_user, borrower, applications, clock.business_today())
    return render_template("borrowers/detail.html", borrower=borrower, applications=applications, may=may, views=views,
                           labels=identity_access, story=story, home=_home(borrower, applications),
                           state_labels=LOAN_STATE_LABELS)


def _home(borrower, applications) -> dict | None:
    """The home on the map: the borrower's GPS, else the newest application's (WGS-84, converted
    to the tiles' system as the trail map does); None when nothing recorded it."""
    from flask import current_app

    from app.domain import basemap, geo

    point = next(((lat, lon) for lat, lon in [(borrower.home_lat, borrower.home_lon)]
                  + [(a.home_lat, a.home_lon) for a in applications] if lat is not None and lon is not None), None)
    if point is None:
        return None
    base_map = basemap.from_config(current_app.config)
    lat, lon = point if base_map.crs == geo.WGS84 else geo.from_wgs84(point[0], point[1], base_map.crs)
    # Drawn by trail.js as one place: its marker at the home.
    home = {"lat": lat, "lon": lon, "on_site": True, "borrower": borrower.name, "distance_m": None,
            "home": {"lat": lat, "lon": lon}}
    return {"base_map": base_map, "data": {"points": [], "visits": [home]}}


@bp.route("/<int:borrower_id>/views")
@any_staff
def views(borrower_id: int):
    """One page of who viewed this borrower's identity data (administrator, internal auditor)."""
    borrower = scope.borrower(current_user, borrower_id)
    require(current_user, VIEW_LOG)
    page = request.args.get("page", "1")
    views = identity_access.views_of(borrower.id, int(page) if page.isdigit() else 1)
    return render_template("partials/identity_views.html", borrower=borrower, views=views, labels=identity_access)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ACTIONS["register_borrower"])
def new():
    form = {k: request.form.get(k, "").strip() for k in borrower_service.FIELDS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        result = borrower_service.register(form, officer=current_user, today=clock.business_today(), ip=client_ip())
        if result.borrower is not None:
            flash(_("Borrower %(name)s registered.", name=result.borrower.name), "success")
            return redirect(url_for(".detail", borrower_id=result.borrower.id), code=303)
        errors = {field: translate_message(msg, params) for field, (msg, params) in result.errors.items()}
        return render_template("borrowers/new.html", form=form, errors=errors), 422
    return render_template("borrowers/new.html", form=form, errors=errors)
