"""Administration (staff accounts: app/web/staff.py): enrolled devices, the loan products' review rules and post-loan settings."""
from __future__ import annotations

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.domain.phone import PhoneError, normalise_mobile
from app.domain.sim import ABSENT_LABEL, UNREADABLE_LABEL
from app.http_edge import client_ip, translate_message
from app.services import auth as auth_service
from app.services import devices as device_service
from app.services import products as product_service
from app.services.tasks import TaskSettings
from app.web.errors import back_to
from app.web.security import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/devices")
@roles_required("admin")
def devices():
    """The phones grouped by officer: model, number, status, last seen; each officer's allowance."""
    return render_template("admin/devices.html", officers=device_service.by_officer(),
                           blocked=device_service.blocked_numbers(),
                           status_label=device_status_label, max_allowance=device_service.MAX_ALLOWANCE,
                           describe=device_service.describe, sim_label=sim_label)


@bp.route("/devices/<int:device_id>/lost")
@roles_required("admin")
def device_lost(device_id: int):
    """The confirmation before 挂失停用: says what will happen to the phone and to the officer."""
    device = device_service.device(device_id)
    if device.status == "revoked":
        return redirect(url_for(".devices"), code=303)
    return render_template("admin/device_lost.html", device=device, describe=device_service.describe)


@bp.route("/users/<int:user_id>/device-allowance", methods=["POST"])
@roles_required("admin")
def device_allowance(user_id: int):
    officer = auth_service.user(user_id)
    raw = request.form.get("max_active", "")
    back_to(url_for(".devices"))
    if device_service.set_allowance(officer, int(raw) if raw.isascii() and raw.isdigit() else 0,
                                    admin=current_user, now=clock.now(), ip=client_ip()):
        flash(_("%(name)s may now hold %(n)s active phone(s).", name=officer.full_name, n=int(raw)), "success")
    return redirect(url_for(".devices"), code=303)


@bp.route("/users/<int:user_id>/enrolment-code", methods=["POST"])
@roles_required("admin")
def enrolment_code(user_id: int):
    officer = auth_service.user(user_id)
    # 更换 on the devices page: a code for the replacement of this phone.
    replaces = device_service.active_device(officer, request.form.get("replaces", ""))
    back_to(url_for("staff.users"))
    code = device_service.create_enrolment_code(officer, admin=current_user, now=clock.now(), ip=client_ip())
    link = url_for("mobile.enrol", code=code, _external=True, **({"replaces": replaces.uuid} if replaces else {}))
    qr_svg = segno.make(link, error="m").svg_inline(scale=5)
    # Shown once: only the code's hash is stored.
    return render_template("admin/enrolment_code.html", officer=officer, code=code, link=link, qr_svg=qr_svg,
                           hours=int(device_service.CODE_LIFETIME.total_seconds() // 3600),
                           replaces=device_service.describe(replaces) if replaces else "",
                           active=[device_service.describe(d) for d in device_service.active_devices(officer)],
                           allowance=device_service.allowance(officer))


@bp.route("/devices/<int:device_id>/status", methods=["POST"])
@roles_required("admin")
def device_status(device_id: int):
    device = device_service.device(device_id)
    status = request.form.get("status", "")
    if status not in ("retired", "revoked", "active"):
        abort(400)
    if status == "revoked" and request.form.get("confirm") != "1":
        return redirect(url_for(".device_lost", device_id=device.id), code=303)  # never in one click
    back_to(url_for(".devices"))
    device_service.set_status(device, status, admin=current_user, now=clock.now(), ip=client_ip())
    flash(_("Phone %(label)s is now %(status)s.", label=device_service.describe(device), status=device_status_label(status)), "success")
    return redirect(url_for(".devices"), code=303)


@bp.route("/devices/<int:device_id>/sim-approve", methods=["POST"])
@roles_required("admin")
def device_sim_approve(device_id: int):
    """重新核准: the phone held for a SIM change is bound to its new SIM and may sync again."""
    device = device_service.device(device_id)
    back_to(url_for(".devices"))
    device_service.reapprove_sim(device, admin=current_user, now=clock.now(), ip=client_ip())
    flash(_("Phone %(label)s may sync again with SIM card %(sim)s.", label=device_service.describe(device),
            sim=sim_label(device.sim_label)), "success")
    return redirect(url_for(".devices", _anchor=f"device-{device.id}"), code=303)


@bp.route("/blocked-numbers", methods=["POST"])
@roles_required("admin")
def block_number():
    try:
        number = normalise_mobile(request.form.get("phone_number", ""))
    except PhoneError as e:
        flash(translate_message(e.message), "error")
        return redirect(url_for(".devices"), code=303)
    revoked = device_service.block_phone_number(
        number, reason=request.form.get("reason", ""), admin=current_user, now=clock.now(), ip=client_ip()
    )
    flash(_("Number %(number)s blocked; %(n)s device(s) revoked.", number=number, n=revoked), "success")
    return redirect(url_for(".devices"), code=303)


@bp.route("/products")
@roles_required("admin")
def products():
    rows = product_service.all_products()
    summaries = {}
    for product in rows:
        rules, problem = product_service.current_rules(product)
        summaries[product.id] = {"rules": product_service.describe(rules), "problem": problem}
    return render_template("admin/products.html", products=rows, summaries=summaries)


@bp.route("/products/<int:product_id>/entry-rule", methods=["POST"])
@roles_required("admin")
def product_entry_rule(product_id: int):
    product = product_service.product(product_id)
    blocks = request.form.get("entry_mismatch_blocks") == "1"
    if product_service.set_entry_mismatch_blocks(product, blocks, actor_id=current_user.id, ip=client_ip()):
        flash(_("%(name)s: a data-entry difference now blocks completion.", name=product.name) if blocks else
              _("%(name)s: a data-entry difference is now shown to the reviewer as a finding.", name=product.name),
              "success")
    return redirect(url_for(".products"), code=303)


@bp.route("/products/<int:product_id>/rules", methods=["GET", "POST"])
@roles_required("admin")
def product_rules(product_id: int):
    product = product_service.product(product_id)
    rules, problem = product_service.current_rules(product)
    if request.method == "POST":
        names = [name for name, _kind, _label in product_service.FIELDS]
        typed = {name: request.form.get(name, "") for name in names}
        try:
            saved = product_service.update_routing_rules(product, typed, actor_id=current_user.id, ip=client_ip())
        except product_service.RulesFormError as e:
            errors = {field: translate_message(msg, params) for field, (msg, params) in e.errors.items()}
            return render_template(
                "admin/product_rules.html", product=product, values=typed, errors=errors,
                fields=product_service.FIELDS, problem=problem,
            ), 422
        if problem is None and saved == rules:
            flash(_("Nothing changed in the review rules of %(name)s.", name=product.name), "info")
        else:
            flash(_("Review rules of %(name)s saved.", name=product.name), "success")
        return redirect(url_for(".products"), code=303)
    return render_template(
        "admin/product_rules.html", product=product, values=product_service.form_values(rules), errors={},
        fields=product_service.FIELDS, problem=problem,
    )


@bp.route("/products/<int:product_id>/post-loan", methods=["GET", "POST"])
@roles_required("admin")
def product_post_loan(product_id: int):
    product = product_service.product(product_id)
    if request.method == "POST":
        names = [name for name, _kind, _label in product_service.POST_LOAN_FIELDS] + list(product_service.ORDER_FIELDS)
        typed = {name: request.form.get(name, "") for name in names}
        try:
            changed = product_service.update_post_loan_settings(product, typed, actor_id=current_user.id, ip=client_ip())
        except product_service.RulesFormError as e:
            errors = {field: translate_message(msg, params) for field, (msg, params) in e.errors.items()}
            return _post_loan_page(product, typed, errors), 422
        if changed:
            flash(_("Post-loan settings of %(name)s saved.", name=product.name), "success")
        else:
            flash(_("Nothing changed in the post-loan settings of %(name)s.", name=product.name), "info")
        return redirect(url_for(".products"), code=303)
    return _post_loan_page(product, product_service.post_loan_values(product), {})


def _post_loan_page(product, values: dict[str, str], errors: dict[str, str]) -> str:
    defaults = TaskSettings.from_config(current_app.config)
    return render_template(
        "admin/product_post_loan.html", product=product, values=values, errors=errors,
        fields=product_service.POST_LOAN_FIELDS, order_fields=product_service.ORDER_FIELDS,
        components=product_service.COMPONENT_LABELS,
        defaults={name: str(getattr(defaults, name)) for name, _kind, _label in product_service.POST_LOAN_FIELDS},
    )


def sim_label(label: str) -> str:
    """A SIM card's label (app/domain/sim.py) in words: no SIM, nothing readable, or as kept."""
    return {ABSENT_LABEL: _("no SIM card"), UNREADABLE_LABEL: _("no readable SIM information")}.get(label, label)


def device_status_label(status: str) -> str:
    return {"active": _("in use"), "retired": _("retired"), "revoked": _("reported lost or replaced")}.get(status, status)
