"""What both HTTP front ends share, the staff's pages (app/web/) and the phone's API (app/api/):
the client's address, the mark of a route open without login, and messages and labels in the
user's language. Either may import this module; app/api/ never imports app/web/
(tests/unit/test_layering.py).
"""
from __future__ import annotations

from typing import Callable

from flask import request
from flask_babel import gettext

from app.domain import workflow


def client_ip() -> str:
    """The client's address, as the proxy chain was configured to report it (PROXY_FIX_HOPS)."""
    return request.remote_addr or ""


def public(view: Callable) -> Callable:
    """Mark a view open without login (every other endpoint is closed by default)."""
    view.public = True  # type: ignore[attr-defined]
    return view


def translate_message(message: str, params: dict | None = None) -> str:
    """Translate an N_-marked domain message and fill its %(name)s parameters."""
    text = gettext(message)
    if not params:
        return text
    # Parameters may be N_-marked labels themselves ("Approve", "first"); names and figures pass through.
    return text % {k: gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}


def notification_label(kind: str) -> str:
    """A notification's kind in words: a workflow event, or one of the post-loan notices."""
    from app.services.tasks import KIND_LABELS

    if kind in workflow.Event._value2member_map_:
        return translate_message(workflow.EVENT_LABELS[workflow.Event(kind)])
    if kind == "task_assigned":
        return gettext("A task was assigned to you")
    if kind == "device_sim_changed":  # services/devices.py: a phone held until the admin acts
        return gettext("SIM card changed")
    if kind == "field_shortfall":  # services/field_collections.py: an officer handed over less than he collected
        return gettext("Field collection shortfall")
    return translate_message(KIND_LABELS.get(kind, kind))
