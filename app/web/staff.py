"""Staff accounts (admin): the list, create, edit, enable/disable, force logout, reset password,
transfer to another office, move an officer's portfolio. Thin: parse → service → render; the rules
and the audit are in app/services/staff.py."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.domain.staff_roles import ROLES
from app.http_edge import client_ip, translate_message
from app.services import auth as auth_service
from app.services import staff as staff_service
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("staff", __name__, url_prefix="/admin/users")


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdecimal() and len(raw) < 10 else None


def _errors(e: staff_service.StaffError) -> dict[str, str]:
    errors = {field: translate_message(msg, dict(params)) for field, (msg, params) in e.fields.items()}
    if not errors:
        errors["form"] = translate_message(e.message, e.params)
    return errors


def _typed() -> dict:
    return {
        "full_name": request.form.get("full_name", ""),
        "username": request.form.get("username", ""),
        "mobile": request.form.get("mobile", ""),
        "office_id": request.form.get("office_id", ""),
        "roles": {r[:30] for r in request.form.getlist("roles")},
    }


@bp.route("")
@roles_required("admin")
def users():
    return render_template("admin/users.html", users=staff_service.staff_list(),
                           left_work=staff_service.disabled_with_open_work())


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    values = {"full_name": "", "username": "", "mobile": "", "office_id": "", "roles": set()}
    if request.method == "POST":
        values = _typed()
        try:
            user, temporary = staff_service.create_user(
                full_name=values["full_name"], username=values["username"], mobile=values["mobile"],
                office_id=_int(values["office_id"]), roles=values["roles"], actor_id=current_user.id,
                method=current_app.config["PASSWORD_HASH_METHOD"], ip=client_ip())
        except staff_service.StaffError as e:
            return _form(None, values, _errors(e)), 422
        # Shown once, in this response only: only the hash is stored.
        return render_template("admin/user_password.html", user=user, temporary=temporary, created=True)
    return _form(None, values, {})


def _form(user, values: dict, errors: dict[str, str]) -> str:
    return render_template("admin/user_form.html", user=user, values=values, errors=errors, roles=ROLES,
                           offices=staff_service.open_offices(),
                           work=staff_service.portfolio(user) if user is not None else None)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(user_id: int):
    user = auth_service.user(user_id)
    if request.method == "POST":
        values = _typed()
        try:
            changed = staff_service.update_user(user, full_name=values["full_name"], mobile=values["mobile"],
                                                roles=values["roles"], actor_id=current_user.id, ip=client_ip())
        except staff_service.StaffError as e:
            return _form(user, {**values, "username": user.username}, _errors(e)), 422
        flash(_("%(name)s saved.", name=user.full_name) if changed else _("Nothing changed."),
              "success" if changed else "info")
        return redirect(url_for(".edit", user_id=user.id), code=303)
    values = {"full_name": user.full_name, "username": user.username, "mobile": user.phone,
              "office_id": str(user.office_id), "roles": set(user.roles)}
    return _form(user, values, {})


@bp.route("/<int:user_id>/enabled", methods=["POST"])
@roles_required("admin")
def set_enabled(user_id: int):
    user = auth_service.user(user_id)
    enable = request.form.get("enabled") == "1"
    back_to(url_for(".users"))
    if staff_service.set_enabled(user, enable, actor_id=current_user.id, ip=client_ip()):
        flash(_("%(name)s enabled.", name=user.full_name) if enable else _("%(name)s disabled.", name=user.full_name),
              "success")
        # Disabling is never held up (a leaver or a lost trust must stop at once), but his open work
        # must not be forgotten: the admin is sent on to hand it over.
        work = {} if enable else staff_service.open_work(user)
        if work:
            flash(_("%(name)s still holds %(applications)s open applications, %(loans)s active loans and %(tasks)s "
                    "open tasks: hand them to another officer.", name=user.full_name, **work), "warning")
            return redirect(url_for(".portfolio", user_id=user.id), code=303)
    return redirect(url_for(".users"), code=303)


@bp.route("/<int:user_id>/logout", methods=["POST"])
@roles_required("admin")
def force_logout(user_id: int):
    user = auth_service.user(user_id)
    staff_service.force_logout(user, actor_id=current_user.id, ip=client_ip())
    flash(_("%(name)s has been logged out everywhere.", name=user.full_name), "success")
    return redirect(url_for(".edit", user_id=user.id), code=303)


@bp.route("/<int:user_id>/password-reset", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int):
    user = auth_service.user(user_id)
    temporary = staff_service.reset_password(user, actor_id=current_user.id, ip=client_ip(),
                                             method=current_app.config["PASSWORD_HASH_METHOD"])
    return render_template("admin/user_password.html", user=user, temporary=temporary, created=False)


@bp.route("/<int:user_id>/transfer", methods=["GET", "POST"])
@roles_required("admin")
def transfer(user_id: int):
    """Step 1 (no office yet): choose the office. Step 2: what happens to his open work, with the
    counts; the admin chooses to keep it with him or hand it to an officer of the office he leaves."""
    user = auth_service.user(user_id)
    source = request.form if request.method == "POST" else request.args
    office_id = _int(source.get("office_id"))
    errors: dict[str, str] = {}
    office = None
    if source.get("office_id") is not None:
        try:
            office = staff_service.check_transfer(user, office_id)
        except staff_service.StaffError as e:
            errors = _errors(e)
    if request.method == "POST" and office is not None:
        keep = source.get("mode") == "keep"
        try:
            work = staff_service.transfer(user, office.id, keep=keep, to_officer_id=_int(source.get("to_officer_id")),
                                          actor_id=current_user.id, ip=client_ip())
        except staff_service.StaffError as e:
            errors = _errors(e)
        else:
            flash(_("%(name)s now works at %(office)s.", name=user.full_name, office=office.name), "success")
            if not work.empty:
                flash(_("Open work kept by %(name)s.", name=user.full_name) if keep else
                      _("Open work handed over."), "info")
            return redirect(url_for(".edit", user_id=user.id), code=303)
    return render_template(
        "admin/user_transfer.html", user=user, office=office, errors=errors,
        offices=[o for o in staff_service.open_offices() if o.id != user.office_id],
        work=staff_service.portfolio(user), successors=staff_service.officers_of(user.office_id, besides=user.id),
        mode=source.get("mode", ""), to_officer_id=_int(source.get("to_officer_id")),
    ), (422 if errors else 200)


@bp.route("/<int:user_id>/portfolio", methods=["GET", "POST"])
@roles_required("admin")
def portfolio(user_id: int):
    """Move an officer's whole open portfolio to another officer, after a page that lists the counts."""
    user = auth_service.user(user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            moved = staff_service.move_portfolio(user, _int(request.form.get("to_officer_id")),
                                                 actor_id=current_user.id, ip=client_ip())
        except staff_service.StaffError as e:
            errors = _errors(e)
        else:
            flash(_("Handed over: %(borrowers)s borrowers, %(applications)s open applications, %(loans)s active "
                    "loans, %(tasks)s open tasks.", **moved.as_dict()), "success")
            return redirect(url_for(".edit", user_id=user.id), code=303)
    return render_template("admin/user_portfolio.html", user=user, work=staff_service.portfolio(user), errors=errors,
                           officers=staff_service.all_officers(besides=user.id)), (422 if errors else 200)
