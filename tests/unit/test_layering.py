"""The layers, as a test (docs/ARCHITECTURE.md, "Layers"):

- only services commit: no ``.commit(`` anywhere in app/ or migrations/ outside app/services/;
- views are thin: no module of app/web/ or app/api/ imports app.models, SQLAlchemy or the
  database handle ``app.extensions.db`` (reads and writes go through a service function);
- services know no request: no module of app/services/ imports Flask's ``request``, ``session``
  or ``g`` (nor flask_login's ``current_user``); they are given what they need;
- the phone's API stands on its own: app/api/ never imports app/web/ (what both need lives in
  app/http_edge.py);
- templates test flags, never roles: no ``has_role(`` in templates/ (views pass ``may`` and
  ``can`` from app/services/scope.py).

Each rule's checker is itself tested on small sources that must and must not be caught.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports(source: str, package: str) -> list[tuple[str, int]]:
    """Every name an import brings in, as an absolute dotted name with its line: ``import a.b``
    gives "a.b"; ``from a import b`` gives "a.b" (b may be a module or a name in a); relative
    imports are resolved against ``package``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            found.extend((f"{module}.{alias.name}", node.lineno) for alias in node.names)
    return found


def attribute_chains(source: str) -> list[tuple[str, int]]:
    """Dotted attribute chains used in the source (``flask.request.args`` → "flask.request.args"),
    so that ``import flask`` then ``flask.g`` is seen as well as ``from flask import g``."""
    chains: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                chains.append((".".join([inner.id, *reversed(parts)]), node.lineno))
    return chains


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# --- the rules ------------------------------------------------------------------------------


def commits(source: str) -> list[str]:
    """Calls of ``.commit(...)`` (a session's, a connection's, a transaction's)."""
    return [
        f"line {node.lineno}: .commit()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


VIEW_FORBIDDEN = ("app.models", "sqlalchemy", "flask_sqlalchemy", "app.extensions.db", "app.db")


def view_problems(source: str, package: str) -> list[str]:
    """What a module of app/web/ or app/api/ may not import: the models, SQLAlchemy, the db handle."""
    problems = [
        f"line {line}: imports {name}"
        for name, line in imports(source, package)
        if any(_within(name, bad) for bad in VIEW_FORBIDDEN)
    ]
    problems += [
        f"line {line}: uses {chain}"
        for chain, line in attribute_chains(source)
        if any(_within(chain, bad) for bad in ("app.extensions.db", "extensions.db"))
    ]
    return problems


REQUEST_STATE = ("flask.request", "flask.session", "flask.g", "flask.globals", "flask_login.current_user")


def service_problems(source: str, package: str) -> list[str]:
    """What a module of app/services/ may not import: the request, the session, g, the current user."""
    problems = [
        f"line {line}: imports {name}"
        for name, line in imports(source, package)
        if any(_within(name, bad) for bad in REQUEST_STATE)
    ]
    problems += [
        f"line {line}: uses {chain}"
        for chain, line in attribute_chains(source)
        if any(_within(chain, bad) for bad in REQUEST_STATE)
    ]
    # Settings reach a service one way: a settings object built from the configuration at the edge
    # (SyncSettings, TaskSettings, LoanSettings, OcrSettings, ReminderSettings), never read inside.
    problems += [
        f"line {line}: reads {chain} (take a settings object)"
        for chain, line in attribute_chains(source)
        if _within(chain, "current_app.config") or _within(chain, "flask.current_app.config")
    ]
    return problems


def api_problems(source: str, package: str) -> list[str]:
    """What a module of app/api/ may not import: anything of app/web/."""
    return [f"line {line}: imports {name}" for name, line in imports(source, package) if _within(name, "app.web")]


ROLE_TEST = re.compile(r"\bhas_role\s*\(")


def template_problems(text: str) -> list[str]:
    return [f"line {n}: has_role(" for n, line in enumerate(text.splitlines(), 1) if ROLE_TEST.search(line)]


# --- the tree -------------------------------------------------------------------------------


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


SERVICES = APP / "services"
COMMITTERS = [p for p in python_files(APP, ROOT / "migrations") if SERVICES not in p.parents]
VIEWS = python_files(APP / "web", APP / "api")
SERVICE_MODULES = python_files(SERVICES)
API_MODULES = python_files(APP / "api")
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_tree_has_what_the_rules_read() -> None:
    names = {_id(p) for p in VIEWS + SERVICE_MODULES + COMMITTERS}
    assert {"app/web/loans.py", "app/api/v1.py", "app/services/scope.py", "app/cli.py", "app/http_edge.py"} <= names
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", COMMITTERS, ids=_id)
def test_only_services_commit(path: Path) -> None:
    problems = commits(path.read_text(encoding="utf-8"))
    assert not problems, f"{_id(path)} commits outside app/services/ (call a service): " + "; ".join(problems)


@pytest.mark.parametrize("path", VIEWS, ids=_id)
def test_views_do_not_touch_the_database(path: Path) -> None:
    problems = view_problems(path.read_text(encoding="utf-8"), package_of(path))
    assert not problems, f"{_id(path)} reaches the database itself (move it into a service): " + "; ".join(problems)


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=_id)
def test_services_know_no_request(path: Path) -> None:
    problems = service_problems(path.read_text(encoding="utf-8"), package_of(path))
    assert not problems, f"{_id(path)} reads the request's state (pass it in): " + "; ".join(problems)


@pytest.mark.parametrize("path", API_MODULES, ids=_id)
def test_the_api_does_not_import_the_web_views(path: Path) -> None:
    problems = api_problems(path.read_text(encoding="utf-8"), package_of(path))
    assert not problems, f"{_id(path)} imports app/web/ (share through app/http_edge.py): " + "; ".join(problems)


@pytest.mark.parametrize("path", TEMPLATES, ids=_id)
def test_templates_test_flags_not_roles(path: Path) -> None:
    problems = template_problems(path.read_text(encoding="utf-8"))
    assert not problems, f"{_id(path)} decides by role (pass a flag from scope.py): " + "; ".join(problems)


# --- the checkers, checked --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("db.session.commit()", True),
        ("connection.commit()", True),
        ("self.session.commit(); x = 1", True),
        ("def f():\n    return g(db.session).commit()", True),
        ("commit_or_conflict(app)", False),
        ("app_service.commit_or_conflict(app)", False),
        ("db.session.flush()", False),
        ("commit = 1", False),
    ],
)
def test_commit_checker(source: str, bad: bool) -> None:
    assert bool(commits(source)) == bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from app.models import Loan", True),
        ("from app.models.org import User", True),
        ("from app import models", True),
        ("import app.models", True),
        ("from sqlalchemy import select", True),
        ("import sqlalchemy.orm", True),
        ("from sqlalchemy.orm import selectinload", True),
        ("from app.extensions import db", True),
        ("from app.extensions import db, photo_store", True),
        ("from ..extensions import db", True),
        ("from ..models import Application", True),
        ("import app.extensions\napp.extensions.db.session.get(1)", True),
        ("from app import extensions\nextensions.db.session.rollback()", True),
        ("from app.extensions import photo_store", False),
        ("from app.services import loans as loan_service", False),
        ("from app.services.scope import may", False),
        ("from ..services import transactions", False),
        ("from flask import request", False),
    ],
)
def test_view_checker(source: str, bad: bool) -> None:
    # As if the source lived in app/web/.
    assert bool(view_problems(source, "app.web")) == bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from flask import request", True),
        ("from flask import current_app, session", True),
        ("from flask import g", True),
        ("from flask.globals import request", True),
        ("import flask\nflask.g.device", True),
        ("import flask\nx = flask.request.args", True),
        ("from flask_login import current_user", True),
        ("from flask import current_app", False),
        ("from flask import current_app\nsign = current_app.config['SMS_SIGN']", True),
        ("from flask import current_app\ndays = current_app.config.get('BACKDATE_MAX_DAYS')", True),
        ("import flask\nengine = flask.current_app.config['OCR_ENGINE']", True),
        ("from flask import current_app\napp = current_app._get_current_object()", False),
        ("def f(config):\n    return config['SMS_SIGN']", False),
        ("from flask import Flask", False),
        ("from app.services import audit", False),
        ("request = build_request()", False),
    ],
)
def test_service_checker(source: str, bad: bool) -> None:
    # As if the source lived in app/services/.
    assert bool(service_problems(source, "app.services")) == bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from app.web.security import client_ip", True),
        ("from app.web import images", True),
        ("import app.web.template_helpers", True),
        ("from ..web.i18n import translate_message", True),
        ("from app.http_edge import client_ip, public", False),
        ("from app.api import schemas", False),
        ("from . import schemas", False),
        ("from app.services import sync", False),
    ],
)
def test_api_checker(source: str, bad: bool) -> None:
    # As if the source lived in app/api/.
    assert bool(api_problems(source, "app.api")) == bad


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("{% if current_user.has_role('cashier') %}", True),
        ("{% if current_user.has_role ('officer', 'director') %}", True),
        ("{% if can.handle_money %}", False),
        ("{% if may.photos %}", False),
    ],
)
def test_template_checker(text: str, bad: bool) -> None:
    assert bool(template_problems(text)) == bad


def test_a_relative_import_is_resolved_from_its_package() -> None:
    assert ("app.web.security.client_ip", 1) in imports("from ..web.security import client_ip", "app.api")
    assert package_of(APP / "web" / "__init__.py") == "app.web"
    assert package_of(APP / "web" / "loans.py") == "app.web"


# --- one clock ------------------------------------------------------------------------------

SYSTEM_CLOCK = ("datetime.now", "datetime.utcnow", "datetime.today", "date.today",
                "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.date.today", "time.time")
CLOCK = APP / "clock.py"


def clock_reads(source: str) -> list[str]:
    """Where the source reads the system's date or time itself instead of asking app.clock."""
    return [f"line {line}: {chain}()" for chain, line in call_chains(source) if chain in SYSTEM_CLOCK]


def call_chains(source: str) -> list[tuple[str, int]]:
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            parts, inner = [node.func.attr], node.func.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                calls.append((".".join([inner.id, *reversed(parts)]), node.lineno))
    return calls


@pytest.mark.parametrize("path", [p for p in python_files(APP) if p != CLOCK], ids=_id)
def test_only_the_clock_reads_the_system_clock(path: Path) -> None:
    # A UTC server and China's business date disagree from 00:00 to 08:00 Beijing time.
    assert clock_reads(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from datetime import date\nd = date.today()", True),
        ("from datetime import datetime, timezone\nn = datetime.now(timezone.utc)", True),
        ("import datetime\nn = datetime.datetime.utcnow()", True),
        ("import time\nt = time.time()", True),
        ("from app import clock\nd = clock.business_today()", False),
        ("import time\nt = time.monotonic()", False),
        ("from datetime import date\nd = date.fromisoformat('2026-11-30')", False),
    ],
)
def test_clock_checker(source: str, bad: bool) -> None:
    assert bool(clock_reads(source)) == bad
