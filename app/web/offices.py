"""Offices administration: the hierarchy head office → branches → offices (办事处) as a tree;
create, edit (code, name, address, GPS), move, close. Thin: parse, call app/services/offices.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain import offices as rules
from app.http_edge import client_ip, translate_message
from app.services import offices as office_service
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("offices", __name__, url_prefix="/admin/offices")

FORM_FIELDS = ("code", "name", "kind", "parent_id", "address", "lat", "lon")


def _form() -> office_service.OfficeForm:
    return office_service.OfficeForm(**{k: request.form.get(k, "")[:300] for k in FORM_FIELDS})


def _errors(e: office_service.OfficeError) -> dict[str, str]:
    return {name: translate_message(m, dict(p)) for name, (m, p) in e.fields.items()} or {
        "form": translate_message(e.message, e.params)}


@bp.route("/")
@roles_required("admin")
def index():
    return render_template("admin/offices.html", rows=office_service.tree(), kind_labels=rules.KIND_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    head = office_service.head_office()
    form = office_service.OfficeForm(kind=request.args.get("kind", rules.OFFICE), parent_id=str(head.id) if head else "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _form()
        try:
            office = office_service.create(form, actor_id=current_user.id, ip=client_ip())
        except office_service.OfficeError as e:
            errors = _errors(e)
        else:
            flash(_("Office %(name)s created.", name=office.name), "success")
            return redirect(url_for(".index"), code=303)
    kinds = [k for k in rules.KINDS if k != rules.HEAD_OFFICE]
    kind = form.kind if form.kind in kinds else rules.OFFICE
    parents = [o for k in kinds for o in office_service.possible_parents(k)]
    return render_template("admin/offices_form.html", form=form, errors=errors, office=None, kinds=kinds,
                           kind_labels=rules.KIND_LABELS, parents=sorted(set(parents), key=lambda o: o.code),
                           kind=kind), (422 if errors else 200)


@bp.route("/<int:office_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(office_id: int):
    office = office_service.office(office_id)
    form, errors = office_service.OfficeForm.of(office), {}
    if request.method == "POST":
        form = _form()
        back_to(url_for(".edit", office_id=office.id))
        try:
            changed = office_service.update(office, form, actor_id=current_user.id, ip=client_ip())
        except office_service.OfficeError as e:
            if e.code != "invalid_office":
                raise
            errors = _errors(e)
        else:
            flash(_("Office %(name)s saved.", name=office.name) if changed else _("Nothing was changed."), "success")
            return redirect(url_for(".index"), code=303)
    return render_template("admin/offices_form.html", form=form, errors=errors, office=office,
                           kind_labels=rules.KIND_LABELS, kind=office.kind,
                           parents=office_service.possible_parents(office.kind, moving=office),
                           open_work=[translate_message(m, p) for m, p in office_service.open_work(office)]
                           if office.closed_at is None else []), (422 if errors else 200)


@bp.route("/<int:office_id>/move", methods=["POST"])
@roles_required("admin")
def move(office_id: int):
    office = office_service.office(office_id)
    back_to(url_for(".edit", office_id=office.id))
    office_service.move(office, request.form.get("parent_id", "")[:20], actor_id=current_user.id, ip=client_ip())
    flash(_("%(name)s now belongs to %(parent)s.", name=office.name, parent=office.parent.name), "success")
    return redirect(url_for(".index"), code=303)


@bp.route("/<int:office_id>/close", methods=["POST"])
@roles_required("admin")
def close(office_id: int):
    office = office_service.office(office_id)
    back_to(url_for(".edit", office_id=office.id))
    office_service.close(office, actor_id=current_user.id, now=clock.now(), ip=client_ip())
    flash(_("Office %(name)s closed.", name=office.name), "success")
    return redirect(url_for(".index"), code=303)
