"""Administration of the loan products: create, edit the terms (each change a new version), retire or
delete, the collection items with a preview of the phone's checklist, and the holiday calendar.
The review rules and the post-loan settings keep their pages in app/web/admin.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.http_edge import client_ip, translate_message
from app.services import holidays as holiday_service
from app.services import products as product_service
from app.web.htmx import wants_partial
from app.web.security import roles_required

bp = Blueprint("products_admin", __name__, url_prefix="/admin")

TERM_NAMES = tuple(product_service.TERM_LABELS)
ITEM_NAMES = ("item_code", "item_name", "required_count", "max_count")


def _errors(e: product_service.RulesFormError | holiday_service.HolidayError) -> dict[str, str]:
    return {field: translate_message(msg, params) for field, (msg, params) in e.errors.items()}


def _form(names) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _terms_page(product, values, errors, status=200, *, item_values=None, item_errors=None,
                rs_values=None, rs_errors=None):
    from app.domain.repayment import CLASS_LABELS

    return render_template(
        "admin/product_edit.html", product=product, values=values, errors=errors,
        labels=product_service.TERM_LABELS, methods=product_service.METHOD_LABELS,
        frequencies=product_service.FREQUENCY_LABELS, day_counts=product_service.DAY_COUNT_LABELS,
        bases=product_service.BASIS_LABELS, rs_fields=product_service.RESTRUCTURE_FIELDS, classes=CLASS_LABELS,
        rs_values=rs_values or (product_service.restructure_values(product) if product else {}),
        rs_errors=rs_errors or {},
        versions=product_service.versions(product) if product else [],
        uses=product_service.uses(product) if product else 0,
        item_values=item_values or {}, item_errors=item_errors or {}, edit_errors={},
    ), status


@bp.route("/products/new", methods=["GET", "POST"])
@roles_required("admin")
def new_product():
    if request.method == "POST":
        values = _form(TERM_NAMES)
        try:
            product = product_service.create_product(values, actor_id=current_user.id, ip=client_ip())
        except product_service.ProductFormError as e:
            return _terms_page(None, values, _errors(e), 422)
        flash(_("Loan product %(name)s created. Now add the photos the phone asks for.", name=product.name), "success")
        return redirect(url_for(".edit_product", product_id=product.id), code=303)
    return _terms_page(None, product_service.term_values(), {})


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_product(product_id: int):
    product = product_service.product(product_id)
    if request.method == "POST":
        values = _form((*TERM_NAMES, "version"))
        try:
            changed = product_service.update_terms(product, values, actor_id=current_user.id, ip=client_ip())
        except product_service.ProductFormError as e:
            return _terms_page(product, values, _errors(e), 422)
        if changed:
            flash(_("Terms of %(name)s saved as version %(version)s. Loans already disbursed keep their terms.",
                    name=product.name, version=product.version), "success")
        else:
            flash(_("Nothing changed in the terms of %(name)s.", name=product.name), "info")
        return redirect(url_for(".edit_product", product_id=product.id), code=303)
    return _terms_page(product, product_service.term_values(product), {})


@bp.route("/products/<int:product_id>/restructuring", methods=["POST"])
@roles_required("admin")
def restructure_rules(product_id: int):
    product = product_service.product(product_id)
    names = [name for name, _kind, _label in product_service.RESTRUCTURE_FIELDS]
    values = _form((*names, "version"))
    try:
        changed = product_service.update_restructure_rules(product, values, actor_id=current_user.id, ip=client_ip())
    except product_service.ProductFormError as e:
        return _terms_page(product, product_service.term_values(product), {}, 422,
                           rs_values=values, rs_errors=_errors(e))
    if changed:
        flash(_("Restructuring rules of %(name)s saved as version %(version)s.",
                name=product.name, version=product.version), "success")
    else:
        flash(_("Nothing changed in the restructuring rules of %(name)s.", name=product.name), "info")
    return redirect(url_for(".edit_product", product_id=product.id) + "#restructuring", code=303)


@bp.route("/products/<int:product_id>/status", methods=["POST"])
@roles_required("admin")
def product_status(product_id: int):
    product = product_service.product(product_id)
    active = request.form.get("active") == "1"
    if product_service.set_active(product, active, actor_id=current_user.id, ip=client_ip()):
        flash(_("%(name)s is offered again.", name=product.name) if active else
              _("%(name)s is retired: no longer offered for new applications.", name=product.name), "success")
    return redirect(url_for(".edit_product", product_id=product.id), code=303)


@bp.route("/products/<int:product_id>/delete", methods=["POST"])
@roles_required("admin")
def delete_product(product_id: int):
    product = product_service.product(product_id)
    name = product.name
    try:
        product_service.delete_product(product, actor_id=current_user.id, ip=client_ip())
    except product_service.ProductInUse as e:
        flash(translate_message(e.message, e.params), "error")
        return redirect(url_for(".edit_product", product_id=product.id), code=303)
    flash(_("Loan product %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.products"), code=303)


# --- collection items --------------------------------------------------------------------

def _items_section(product, item_values=None, item_errors=None, edit_errors=None, status=200, notice=""):
    return render_template(
        "admin/_product_items.html", product=product, item_values=item_values or {},
        item_errors=item_errors or {}, edit_errors=edit_errors or {}, notice=notice,
    ), status


def _after_item_change(product, message: str, category: str = "success"):
    if wants_partial():  # htmx swaps the items section, which says what happened
        return _items_section(product, notice=message)
    flash(message, category)
    return redirect(url_for(".edit_product", product_id=product.id) + "#items", code=303)


@bp.route("/products/<int:product_id>/items", methods=["POST"])
@roles_required("admin")
def add_item(product_id: int):
    product = product_service.product(product_id)
    values = _form(ITEM_NAMES)
    try:
        it = product_service.add_item(product, values, actor_id=current_user.id, ip=client_ip())
    except product_service.ProductFormError as e:
        if wants_partial():
            return _items_section(product, values, _errors(e), status=422)
        return _terms_page(product, product_service.term_values(product), {}, 422,
                           item_values=values, item_errors=_errors(e))
    return _after_item_change(product, _("Item %(name)s added.", name=it.name))


@bp.route("/products/<int:product_id>/items/<int:item_id>", methods=["POST"])
@roles_required("admin")
def update_item(product_id: int, item_id: int):
    product = product_service.product(product_id)
    it = product_service.item(product, item_id)
    values = _form(ITEM_NAMES)
    try:
        changed = product_service.update_item(product, it, values, actor_id=current_user.id, ip=client_ip())
    except product_service.ProductFormError as e:
        return _items_section(product, edit_errors={it.id: _errors(e)}, status=422)
    return _after_item_change(product, _("Item %(name)s saved.", name=it.name) if changed else
                              _("Nothing changed in item %(name)s.", name=it.name), "success" if changed else "info")


@bp.route("/products/<int:product_id>/items/<int:item_id>/move", methods=["POST"])
@roles_required("admin")
def move_item(product_id: int, item_id: int):
    product = product_service.product(product_id)
    it = product_service.item(product, item_id)
    step = -1 if request.form.get("direction") == "up" else 1
    product_service.move_item(product, it, step, actor_id=current_user.id, ip=client_ip())
    return _after_item_change(product, _("Order of the items saved."))


@bp.route("/products/<int:product_id>/items/<int:item_id>/remove", methods=["POST"])
@roles_required("admin")
def remove_item(product_id: int, item_id: int):
    product = product_service.product(product_id)
    it = product_service.item(product, item_id)
    name = it.name
    outcome = product_service.remove_item(product, it, actor_id=current_user.id, ip=client_ip())
    return _after_item_change(product, _("Item %(name)s removed.", name=name) if outcome == "deleted" else
                              _("Item %(name)s has photos: it is retired (the phone no longer asks for it) and kept for those photos.", name=name))


@bp.route("/products/<int:product_id>/items/<int:item_id>/restore", methods=["POST"])
@roles_required("admin")
def restore_item(product_id: int, item_id: int):
    product = product_service.product(product_id)
    it = product_service.item(product, item_id)
    product_service.restore_item(product, it, actor_id=current_user.id, ip=client_ip())
    return _after_item_change(product, _("Item %(name)s is asked for again.", name=it.name))


@bp.route("/products/<int:product_id>/preview")
@roles_required("admin")
def preview(product_id: int):
    """The phone's photo checklist for this product, with the item being typed in the add form."""
    product = product_service.product(product_id)
    return render_template("admin/_product_preview.html", product=product,
                           draft=product_service.draft_item(request.args))


# --- holidays ----------------------------------------------------------------------------

def _holidays_page(values=None, errors=None, bulk="", status=200):
    return render_template("admin/product_holidays.html", days=holiday_service.all_days(),
                           values=values or {}, errors=errors or {}, bulk=bulk), status


@bp.route("/holidays", methods=["GET"])
@roles_required("admin")
def holidays():
    return _holidays_page()


@bp.route("/holidays", methods=["POST"])
@roles_required("admin")
def add_holiday():
    values = _form(("day", "name", "working"))
    try:
        row = holiday_service.add(values, actor_id=current_user.id, ip=client_ip())
    except holiday_service.HolidayError as e:
        return _holidays_page(values, _errors(e), status=422)
    flash(_("%(date)s added.", date=row.day.isoformat()), "success")
    return redirect(url_for(".holidays"), code=303)


@bp.route("/holidays/bulk", methods=["POST"])
@roles_required("admin")
def add_holidays():
    text = request.form.get("lines", "")
    try:
        added, known = holiday_service.add_many(text, working=request.form.get("working") == "1",
                                                actor_id=current_user.id, ip=client_ip())
    except holiday_service.HolidayError as e:
        return _holidays_page(errors=_errors(e), bulk=text, status=422)
    flash(_("%(added)s date(s) added; %(known)s already in the list.", added=added, known=known), "success")
    return redirect(url_for(".holidays"), code=303)


@bp.route("/holidays/<int:holiday_id>/delete", methods=["POST"])
@roles_required("admin")
def delete_holiday(holiday_id: int):
    row = holiday_service.remove(holiday_id, actor_id=current_user.id, ip=client_ip())
    if row is not None:
        flash(_("%(date)s removed.", date=row.day.isoformat()), "success")
    return redirect(url_for(".holidays"), code=303)
