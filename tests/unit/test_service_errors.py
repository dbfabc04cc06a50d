"""One error shape for services, HTTP only at the edges (issue 12 item 2).

- every exception a service module defines derives from ``app.services.errors.ServiceError``;
- no service raises with an HTTP status (a three-digit number among a raise's arguments);
- every code the phone's services (sync, devices, tasks, field collections) raise has its status in the API's table.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from app.api.errors import PREFIX_STATUS, STATUS, UNPROCESSABLE, status_of
from app.services.errors import ServiceError

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"
MODULES = sorted(p.stem for p in SERVICES.glob("*.py") if p.stem != "__init__")
PHONE_SERVICES = ("sync", "devices", "tasks", "field_collections")


def _raises(module: str) -> list[ast.Call]:
    tree = ast.parse((SERVICES / f"{module}.py").read_text(encoding="utf-8"))
    return [n.exc for n in ast.walk(tree) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)]


@pytest.mark.parametrize("module", MODULES)
def test_every_service_exception_is_a_service_error(module: str) -> None:
    loaded = importlib.import_module(f"app.services.{module}")
    own = [c for _, c in inspect.getmembers(loaded, inspect.isclass)
           if issubclass(c, BaseException) and c.__module__ == loaded.__name__]
    strays = [c.__name__ for c in own if not issubclass(c, ServiceError)]
    assert not strays, f"app/services/{module}.py: {strays} do not derive from ServiceError"


@pytest.mark.parametrize("module", MODULES)
def test_no_service_raises_with_an_http_status(module: str) -> None:
    found = [
        f"line {call.lineno}: {ast.unparse(arg)}"
        for call in _raises(module)
        for arg in call.args
        if isinstance(arg, ast.Constant) and type(arg.value) is int and 100 <= arg.value <= 599
    ]
    assert not found, f"app/services/{module}.py raises with an HTTP status (put it in app/api/errors.py): {found}"


def test_every_code_the_phone_can_meet_has_its_status() -> None:
    codes = {
        call.args[0].value
        for module in PHONE_SERVICES
        for call in _raises(module)
        if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
        and ast.unparse(call.func).endswith(("SyncError", "DeviceError", "ReportError", "CollectionError"))
    }
    assert {"hash_mismatch", "device_revoked", "task_closed"} <= codes  # the walk finds the raises
    assert not codes - set(STATUS), f"codes without a status in app/api/errors.py: {sorted(codes - set(STATUS))}"


def test_the_table_keeps_the_statuses_the_phone_acts_on() -> None:
    assert status_of("hash_mismatch") == 460  # the phone sends the photo again
    assert status_of("device_revoked") == 401 and status_of("offset_mismatch") == 409
    assert status_of("photo_not_image") == PREFIX_STATUS["photo_"] == 422
    assert status_of("photo_not_found") == 404  # the table before the prefix
    assert status_of("something_new") == UNPROCESSABLE


def test_a_service_error_carries_code_message_params_and_fields() -> None:
    e = ServiceError("x", "At most %(n)s.", fields={"a": ("Bad %(v)s", {"v": 1})}, n=3)
    assert (e.code, e.message, e.params, e.fields) == ("x", "At most %(n)s.", {"n": 3}, {"a": ("Bad %(v)s", {"v": 1})})
    assert str(e) == "x: At most 3."
