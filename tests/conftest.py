"""Fixtures: a real database (SQLite by default, MariaDB when TEST_DATABASE_URL says so),
migrated with Alembic once per test process and emptied after every test."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

# No time limit per example: on a 2-core machine running the suite in two workers beside a browser
# and a database, a 200 ms deadline fails a correct property at random (the speed targets are
# measured by bench/, not asserted in tests).
settings.register_profile("daidaitong", deadline=None)
settings.load_profile("daidaitong")


def _reuse_url_builders() -> None:
    """Every test makes its own app (create_app), and 90 % of create_app's time is Werkzeug turning
    each of ~150 routes into two URL-builder functions (ast + compile, ~0.1 s an app; 3,500 apps a
    `make test`). The function depends only on the rule's parsed parts, its defaults and whether
    unknown arguments are appended; it reaches the rule's converters through ``self`` at call time.
    So the same function object is reused for an equal rule of a later app: the same code Werkzeug
    would compile again, nothing else changed."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    cache: dict = {}

    def reused(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        key = (tuple(self._trace), append_unknown,
               tuple((k, self._converters[k].to_url(v) if k in self._converters else repr(v))
                     for k, v in defaults.items()),
               tuple((k, type(c)) for k, c in self._converters.items()))
        try:
            return cache[key]
        except KeyError:
            cache[key] = built = compile_builder(self, append_unknown)
            return built
        except TypeError:  # an unhashable default: compile as Werkzeug does
            return compile_builder(self, append_unknown)

    Rule._compile_builder = reused


_reuse_url_builders()


def _database_url(tmp_root: Path) -> str:
    base = os.environ.get("TEST_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if not base:
        return f"sqlite:///{tmp_root / f'test-{worker}.sqlite3'}"
    url = make_url(base)
    # A private database per xdist worker, created fresh for this run.
    return fresh_mariadb_database(base, f"{url.database or 'ddt_test'}_{worker}")


def fresh_mariadb_database(server_url: str, name: str) -> str:
    """An empty database ``name`` on the MariaDB server of ``server_url`` (dropped first if there); its URL."""
    url = make_url(server_url)
    server = create_engine(url.set(database="mysql"))
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def migrated(database_url, tmp_path_factory) -> str:
    """Apply the real migrations once; every test then starts from empty tables."""
    from flask_migrate import upgrade

    app = create_app(TestConfig(database_url, tmp_path_factory.mktemp("photos")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture()
def app(migrated, tmp_path):
    # No app context stays pushed: each request gets its own, as in production
    # (Flask-Login caches the user on ``g``, which lives in the app context).
    app = create_app(TestConfig(migrated, tmp_path / "photos"))
    yield app
    with app.app_context():
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables() -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture()
def demo(app, request):
    """The demo data set; returns the demo users' ids by username. Its kept history (the figures of
    the last 12 month openings) only for a test marked ``demo_history``."""
    from tests.support import demo_snapshot

    # Loaded through the real workflow once per test process, then replayed (tests/support/demo_snapshot.py).
    return demo_snapshot.load(app, history=request.node.get_closest_marker("demo_history") is not None)


@pytest.fixture()
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = "demo1234"):
        token = csrf_token(self.client)
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def post(self, path: str, data: dict | None = None, **kwargs):
        """POST with the CSRF token a real page would carry."""
        token = csrf_token(self.client, "/")
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture()
def auth(client) -> Auth:
    return Auth(client)
