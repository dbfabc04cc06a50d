"""Daidaitong (贷贷通): rural microcredit, from the officer's phone to the loan account."""
from __future__ import annotations

from flask import Flask

from app.config import APP_VERSION, INSTANCE_DIR, PROJECT_ROOT, Config

__version__ = APP_VERSION


def create_app(config: object | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_object(config if config is not None else Config())
    from werkzeug.routing import IntegerConverter

    class RowId(IntegerConverter):
        """An id in a URL: at most what a database integer holds (a longer one names no row: 404,
        not the server error SQLite raises when it cannot bind it)."""

        def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's name)
            kwargs.setdefault("max", 2**63 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = RowId  # before any route is added
    from app import logging_setup

    logging_setup.init_app(app)  # first: logs, request id and the request's metrics around every other hook
    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.web import i18n

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Shanghai")

    from app import models  # noqa: F401  (register every table on the metadata)
    from app.storage import make_store

    app.extensions["photo_store"] = store = make_store(app.config)
    # Refuse to start on a store that cannot be used (wrong credentials, no bucket, unreachable):
    # the message names what is wrong and the setting to fix. Cheap: a probe write.
    store.check()
    from app.web import register_web

    register_web(app)

    from app.api import register_api

    register_api(app)

    from app.cli import register_cli

    register_cli(app)
    return app
