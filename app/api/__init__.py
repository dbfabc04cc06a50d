"""JSON endpoints for the phone's offline queue and the Android bridge, authenticated by device token."""
from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from app.api import v1
    from app.extensions import csrf

    # The device token authenticates these calls; a queue replayed hours later has no fresh CSRF token.
    csrf.exempt(v1.bp)
    app.register_blueprint(v1.bp)
