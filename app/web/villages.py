"""Whole-village pre-credit (/villages/): village profiles, campaigns, the white list and the village
map. Thin: parse, permit, call app/services/villages.py, render."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import basemap
from app.domain import village as rules
from app.http_edge import client_ip, translate_message
from app.services import villages as service
from app.services.scope import ACTIONS, abilities
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("villages", __name__, url_prefix="/villages")
MANAGERS = ACTIONS[service.MANAGE]
VIEWERS = tuple(sorted(set(MANAGERS) | set(ACTIONS[service.APPROVE])))
FORM_FIELDS = ("office_id", "name", "township", "county", "committee", "households", "main_crops", "lat", "lon")


def _errors(e: service.VillageError) -> dict[str, str]:
    return {name: translate_message(m, dict(p)) for name, (m, p) in e.fields.items()} or {
        "form": translate_message(e.message, e.params)}


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    return render_template("villages/index.html", villages=service.villages(current_user), can=abilities(current_user))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def create():
    offices = service.offices_for(current_user)
    form = service.VillageForm(office_id=str(current_user.office_id or ""))
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = service.VillageForm(**{k: request.form.get(k, "")[:300] for k in FORM_FIELDS})
        try:
            v = service.save_village(current_user, form, ip=client_ip())
        except service.VillageError as e:
            errors = _errors(e)
        else:
            flash(_("Village %(name)s saved.", name=v.name), "success")
            return redirect(url_for(".detail", village_id=v.id), code=303)
    return render_template("villages/form.html", form=form, errors=errors, village=None, offices=offices), (422 if errors else 200)


@bp.route("/<int:village_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(village_id: int):
    v = service.village(current_user, village_id)
    form, errors = service.form_of(v), {}
    if request.method == "POST":
        form = service.VillageForm(**{k: request.form.get(k, "")[:300] for k in FORM_FIELDS})
        try:
            service.save_village(current_user, form, v, ip=client_ip())
        except service.VillageError as e:
            errors = _errors(e)
        else:
            flash(_("Village %(name)s saved.", name=v.name), "success")
            return redirect(url_for(".detail", village_id=v.id), code=303)
    return render_template("villages/form.html", form=form, errors=errors, village=v, offices=[v.office]), (422 if errors else 200)


@bp.route("/<int:village_id>")
@roles_required(*VIEWERS)
def detail(village_id: int):
    v = service.village(current_user, village_id)
    campaigns = service.campaigns_of(v)
    return render_template("villages/detail.html", village=v, campaigns=[(c, service.counts(c)) for c in campaigns],
                           products=service.products_for_campaigns(), can=abilities(current_user))


@bp.route("/<int:village_id>/campaigns", methods=["POST"])
@roles_required(*MANAGERS)
def start_campaign(village_id: int):
    v = service.village(current_user, village_id)
    back_to(url_for(".detail", village_id=v.id))
    c = service.start_campaign(current_user, v, request.form.get("product_id", ""), request.form.get("name", "")[:200],
                               ip=client_ip())
    flash(_("Campaign %(name)s started: the office's officers find it on their phones.", name=c.name), "success")
    return redirect(url_for(".campaign", campaign_id=c.id), code=303)


@bp.route("/campaigns/<int:campaign_id>")
@roles_required(*VIEWERS)
def campaign(campaign_id: int):
    c = service.campaign(current_user, campaign_id)
    today = clock.business_today()
    return render_template("villages/campaign.html", campaign=c, rows=service.white_list(c), counts=service.counts(c),
                           rating_labels=rules.RATING_LABELS, valid_until=(c.valid_until or service.default_valid_until(c, today)),
                           can=abilities(current_user))


@bp.route("/campaigns/<int:campaign_id>/decide", methods=["POST"])
@roles_required(*ACTIONS[service.APPROVE])
def decide(campaign_id: int):
    c = service.campaign(current_user, campaign_id)
    back_to(url_for(".campaign", campaign_id=c.id))
    decisions: dict[int, tuple[str, str]] = {}
    everything = request.form.get("all") == "approve"
    for key, value in request.form.items():
        if key.startswith("decision_") and key[9:].isdigit():
            decisions[int(key[9:])] = (value, request.form.get(f"limit_{key[9:]}", "")[:40])
    if everything:  # "approve all": every open proposal not marked refused, at the limit shown
        for row in service.white_list(c):
            pa = row.preapproval
            if pa is not None and pa.status == "proposed":
                chosen = decisions.get(pa.id, ("", ""))[0]
                decisions[pa.id] = ("refuse" if chosen == "refuse" else "approve", request.form.get(f"limit_{pa.id}", "")[:40])
    done = service.decide_white_list(current_user, c, decisions, request.form.get("valid_until", "")[:20],
                                     today=clock.business_today(), now=clock.now(), ip=client_ip())
    flash(_("White list decided: %(approved)s approved, %(refused)s refused.", **done), "success")
    return redirect(url_for(".campaign", campaign_id=c.id), code=303)


@bp.route("/campaigns/<int:campaign_id>/close", methods=["POST"])
@roles_required(*MANAGERS)
def close(campaign_id: int):
    c = service.campaign(current_user, campaign_id)
    back_to(url_for(".campaign", campaign_id=c.id))
    service.close_campaign(current_user, c, now=clock.now(), ip=client_ip())
    flash(_("Campaign closed: no more households are surveyed in it."), "success")
    return redirect(url_for(".campaign", campaign_id=c.id), code=303)


@bp.route("/campaigns/<int:campaign_id>/white-list.<fmt>")
@roles_required(*VIEWERS)
def download(campaign_id: int, fmt: str):
    from app.web.reports import send_export

    c = service.campaign(current_user, campaign_id)
    return send_export(service.white_list_report(c, clock.business_today()), fmt)


@bp.route("/<int:village_id>/map")
@roles_required(*VIEWERS)
def village_map(village_id: int):
    v = service.village(current_user, village_id)
    base_map = basemap.from_config(current_app.config)
    return render_template("villages/map.html", village=v, base_map=base_map,
                           labels={k: _(label) for k, label in rules.MAP_STATUS_LABELS.items()})


@bp.route("/<int:village_id>/map.json")
@roles_required(*VIEWERS)
def village_map_data(village_id: int):
    v = service.village(current_user, village_id)
    data = service.map_data(v, basemap.from_config(current_app.config).crs)
    # Compact: UTF-8 names as they are (not \u escapes), no spaces.
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, mimetype="application/json")
    # The households' names, homes and who is late: never kept in the browser's cache (a shared
    # office computer), as every other page with personal data.
    response.headers["Cache-Control"] = "no-store"
    return response
