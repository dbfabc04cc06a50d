"""Home ("my queue"), notifications and the menu's badges, language switch (health checks: app/web/ops.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.http_edge import public
from app.services import auth as auth_service
from app.services import dashboard as dashboard_service
from app.services import notifications as notification_service
from app.services import reporting
from app.services.queues import queues_for, waiting_total
from app.services.scope import ADMIN, abilities, may
from app.web.auth import safe_next
from app.web.security import any_staff

bp = Blueprint("main", __name__)


@bp.route("/")
@any_staff
def home():
    admin_summary = auth_service.account_summary() if may(current_user, ADMIN) else None
    board = None
    if dashboard_service.shows_dashboard(current_user):
        board = dashboard_service.build(current_user, clock.business_today(),
                                        month_label=lambda d: format_date(d, "MMM"))
    return render_template("main/home.html", queues=queues_for(current_user), admin_summary=admin_summary,
                           can=abilities(current_user), board=board, links=_dashboard_links() if board else [])


def _dashboard_links() -> list[tuple[str, str]]:
    """Where a director goes from his figures: the arrears list and the reports, once they exist."""
    links = []
    if "reports.show" in current_app.view_functions:
        names = {spec.name for spec in reporting.specs()}
        for name, label in (("arrears", _("Arrears list")), ("pipeline", _("Pipeline and turnaround"))):
            if name in names:
                links.append((url_for("reports.show", name=name), label))
    if "reports.index" in current_app.view_functions:
        links.append((url_for("reports.index"), _("All reports")))
    return links


@bp.route("/nav/counts")
@any_staff
def nav_counts():
    """The menu's badges, refreshed by htmx every minute without reloading the page."""
    return render_template(
        "partials/nav_counts.html",
        waiting=waiting_total(current_user), unread=notification_service.unread_count(current_user),
    )


@bp.route("/notifications")
@any_staff
def notifications():
    return render_template("main/notifications.html", groups=notification_service.grouped(current_user))


@bp.route("/notifications/read", methods=["POST"])
@any_staff
def notifications_read():
    notification_service.mark_all_read(current_user, clock.now())
    return redirect(url_for(".notifications"), code=303)


@bp.route("/lang", methods=["POST"])
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))

