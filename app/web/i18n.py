"""Language choice: Simplified Chinese by default, English on request (kept in the session)."""
from __future__ import annotations

from flask import current_app, session
from flask_babel import gettext


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def translate_message(message: str, params: dict | None = None) -> str:
    """Translate an N_-marked domain message and fill its %(name)s parameters."""
    text = gettext(message)
    if not params:
        return text
    # Parameters may be N_-marked labels themselves ("Approve", "first"); names and figures pass through.
    return text % {k: gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}
