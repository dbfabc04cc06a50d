"""Filters and globals the templates use: money, local time, translated labels."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask
from flask_login import current_user
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _

from app import clock
from app.domain import workflow
from app.domain.geo import FLAG_LABELS, format_distance
from app.domain.i18n import N_
from app.domain.money import format_money, to_capitals
from app.domain.staff_roles import ROLE_LABELS
from app.http_edge import notification_label, translate_message
from app.services import app_settings
from app.services.scope import abilities, grants

METHOD_LABELS = {
    "annuity": N_("Equal installments (等额本息)"),
    "equal_principal": N_("Equal principal (等额本金)"),
    "interest_only": N_("Interest monthly, principal at maturity (按月付息到期还本)"),
    "bullet": N_("Principal and interest at maturity (到期一次还本付息)"),
    "flat": N_("Flat rate"),
}


def flag_labels(flags) -> str:
    """Why a visit was flagged, in words: "(too far from the home, mock location)"."""
    if not flags:
        return ""
    reasons = _(", ").join(translate_message(FLAG_LABELS.get(f, f)) for f in flags)
    return _("(%(reasons)s)", reasons=reasons)


def init_app(app: Flask) -> None:
    @app.template_filter("money")
    def money(value: Decimal | str | None) -> str:
        # Total: a stored string that is not an amount (a clerk's draft) is shown as typed.
        if value is None or value == "":
            return ""
        try:
            return "¥" + format_money(value if isinstance(value, Decimal) else Decimal(str(value)))
        except (ArithmeticError, ValueError, TypeError):
            return str(value)

    @app.template_filter("capitals")
    def capitals(value: Decimal | str | None) -> str:
        if value is None or value == "":
            return ""
        try:
            return to_capitals(value if isinstance(value, Decimal) else Decimal(str(value)))
        except (ArithmeticError, ValueError):
            return ""

    @app.template_filter("distance")
    def distance(metres: float | None) -> str:
        return "" if metres is None else format_distance(metres)

    @app.template_filter("localtime")
    def localtime(value: datetime | None) -> str:
        # Stored in UTC, shown in Asia/Shanghai (Babel's configured timezone).
        return "" if value is None else format_datetime(value, "yyyy-MM-dd HH:mm")

    @app.context_processor
    def helpers() -> dict:
        return {
            "current_locale": lambda: get_locale().language if get_locale() else "zh",
            "t": lambda message, params=None: translate_message(message, params),
            "state_label": lambda s: translate_message(workflow.STATE_LABELS[workflow.State(s)]),
            "event_label": lambda e: translate_message(workflow.EVENT_LABELS[workflow.Event(e)]),
            "role_label": lambda r: translate_message(ROLE_LABELS.get(r, r)),
            "sex_label": lambda s: _("male") if s == "M" else _("female"),
            "method_label": lambda m: translate_message(METHOD_LABELS.get(m, m)),
            "notification_label": notification_label,
            "flag_labels": flag_labels,
            "now": lambda: clock.now(),
            # The menu offers only what the user's roles are granted (the views refuse the rest).
            "menu_may": lambda: grants(current_user) if current_user.is_authenticated else {},
            # And the actions it may take there (the phone app, administration…).
            "menu_can": lambda: abilities(current_user) if current_user.is_authenticated else {},
            # The institution's name in the top bar, once `flask setup` has set it.
            "institution_name": app_settings.institution_name_shown,
        }
