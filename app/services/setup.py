"""The first run of a real institution (``flask setup``): its name, the head office and the first
administrator, on an empty database only, in one transaction, audited."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.domain import offices as office_rules
from app.domain.i18n import N_
from app.domain.names import check_name
from app.domain.passwords import password_problems
from app.extensions import db
from app.models import Office, User, UserRole
from app.services import app_settings, audit
from app.services.auth import hash_password
from app.services.errors import ServiceError

DEFAULT_HEAD_OFFICE_CODE = "HQ"
DEFAULT_ADMIN_NAME = "系统管理员"
MAX_LOGIN = 50


class SetupError(ServiceError, ValueError):
    """Setup refused: per-field messages in ``fields``; nothing was written."""


@dataclass(frozen=True)
class SetupForm:
    institution: str
    head_office: str
    admin_login: str
    admin_password: str
    admin_name: str = DEFAULT_ADMIN_NAME
    head_office_code: str = DEFAULT_HEAD_OFFICE_CODE


def is_empty() -> bool:
    """No office and no user yet: the only state setup runs in."""
    return not (db.session.scalar(select(func.count()).select_from(Office))
                or db.session.scalar(select(func.count()).select_from(User)))


def refuse_unless_empty() -> None:
    if not is_empty():
        raise SetupError("not_empty", N_("This database already has offices or staff accounts: setup only runs on "
                                         "an empty database. Nothing was changed."))


def problems(form: SetupForm) -> dict[str, tuple[str, dict]]:
    """Every problem of what was given, field → (N_ message, params)."""
    found: dict[str, tuple[str, dict]] = {}
    institution = " ".join(form.institution.split())
    if not institution:
        found["institution"] = (N_("Institution name: enter the institution's name."), {})
    elif len(institution) > app_settings.MAX_INSTITUTION_NAME:
        found["institution"] = (N_("Institution name: at most %(max)s characters."),
                                {"max": app_settings.MAX_INSTITUTION_NAME})
    head = " ".join(form.head_office.split())
    if not head:
        found["head_office"] = (N_("Head office name: enter a name."), {})
    elif len(head) > office_rules.MAX_NAME:
        found["head_office"] = (N_("Head office name: at most %(max)s characters."), {"max": office_rules.MAX_NAME})
    code = form.head_office_code.strip()
    if not code or len(code) > office_rules.MAX_CODE or not code.isascii() or not all(
            c.isalnum() or c in "-_" for c in code):
        found["head_office_code"] = (N_("Office code: up to %(max)s letters, digits, - or _."),
                                     {"max": office_rules.MAX_CODE})
    login = form.admin_login.strip()
    if not login or len(login) > MAX_LOGIN or not login.isascii() or not all(c.isalnum() or c in "._-" for c in login):
        found["admin_login"] = (N_("Administrator login: up to %(max)s letters, digits, . _ or -."), {"max": MAX_LOGIN})
    _name, name_problem = check_name(form.admin_name)
    if name_problem:  # the message names the field when it can carry the name's own message
        found["admin_name"] = ((N_("Administrator name: %(problem)s"), {"problem": name_problem[0]})
                               if not name_problem[1] else name_problem)
    for i, (message, params) in enumerate(password_problems(form.admin_password, login)):
        found[f"admin_password{'' if i == 0 else i}"] = (message, params)
    return found


def run(form: SetupForm, *, password_method: str) -> tuple[Office, User]:
    """Create the institution's name, its head office and its first administrator (role admin,
    at the head office), all or nothing. Raises SetupError (nothing written)."""
    refuse_unless_empty()
    found = problems(form)
    if found:
        first = next(iter(found.values()))
        raise SetupError("invalid_setup", first[0], fields=found, **first[1])
    name, _ = check_name(form.admin_name)
    head = Office(code=form.head_office_code.strip(), name=" ".join(form.head_office.split()),
                  kind=office_rules.HEAD_OFFICE, is_hq=True, address="")
    admin = User(username=form.admin_login.strip(), full_name=name,
                 password_hash=hash_password(form.admin_password, password_method), office=head)
    admin.role_rows = [UserRole(role="admin")]
    db.session.add_all([head, admin])
    db.session.flush()
    app_settings.set_institution_name(form.institution, actor_id=admin.id, commit=False)
    audit.record("office.created", actor_id=admin.id, object_type="office", object_id=head.id, via="flask setup",
                 after={"code": head.code, "name": head.name, "kind": head.kind})
    audit.record("user.created", actor_id=admin.id, object_type="user", object_id=admin.id, via="flask setup",
                 after={"username": admin.username, "full_name": admin.full_name, "roles": ["admin"],
                        "office_id": head.id})
    db.session.commit()
    return head, admin
