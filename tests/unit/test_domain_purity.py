"""app/domain must stay importable without the web stack or the database."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "app" / "domain"
FORBIDDEN_ROOTS = {"flask", "sqlalchemy", "werkzeug", "jinja2"}
MODULES = sorted(DOMAIN.rglob("*.py"))


def package_of(path: Path) -> str:
    return ".".join(["app", "domain", *path.relative_to(DOMAIN).parent.parts])


def imported_modules(source: str, package: str) -> list[str]:
    """Absolute names of every module imported by ``source`` (relative imports resolved)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            if module == "app":
                # "from app import models" imports app.models
                names.extend(f"app.{alias.name}" for alias in node.names)
            else:
                names.append(module)
    return names


def violation(name: str) -> str | None:
    root = name.split(".")[0]
    if root in FORBIDDEN_ROOTS or root.startswith("flask_"):
        return "web or database library"
    if root == "app":
        if name == "app.domain" or name.startswith("app.domain."):
            return None
        return "app module outside app.domain"
    if root not in sys.stdlib_module_names and root != "__future__":
        return "not in the standard library"
    return None


def test_domain_has_modules() -> None:
    assert DOMAIN.is_dir()
    assert {p.name for p in MODULES} >= {
        "__init__.py", "i18n.py", "idcard.py", "money.py", "routing.py", "workflow.py"
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_module_is_pure(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    problems = [
        f"{name}: {why}"
        for name in imported_modules(source, package_of(path))
        if (why := violation(name))
    ]
    assert not problems, f"{path.name} imports " + "; ".join(problems)


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import flask", True),
        ("from flask_babel import gettext", True),
        ("import sqlalchemy.orm", True),
        ("from werkzeug.utils import secure_filename", True),
        ("import jinja2", True),
        ("from app.models import Loan", True),
        ("from app import db", True),
        ("from app import domain", False),
        ("from .. import extensions", True),
        ("import requests", True),
        ("from app.domain.i18n import N_", False),
        ("from . import money", False),
        ("from decimal import Decimal", False),
    ],
)
def test_checker_catches_forbidden_imports(source: str, bad: bool) -> None:
    # Check the checker itself, as if the source lived in app/domain/.
    names = imported_modules(source, "app.domain")
    assert any(violation(n) for n in names) == bad
