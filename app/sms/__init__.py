"""SMS: gateway adapters (``gateways``) and the reminder texts (``templates``).

Nothing here imports Flask or the database; ``app.services.sms`` fills and drains the outbox.
"""
from __future__ import annotations

from app.sms.gateways import (
    ConsoleGateway,
    HttpGateway,
    ReminderSettings,
    SendResult,
    SmsGateway,
    make_gateway,
    parse_days,
    reminder_settings,
)
from app.sms.templates import DEFAULT_SIGN, reminder_text

__all__ = [
    "DEFAULT_SIGN",
    "ConsoleGateway",
    "HttpGateway",
    "ReminderSettings",
    "SendResult",
    "SmsGateway",
    "make_gateway",
    "parse_days",
    "reminder_settings",
    "reminder_text",
]
