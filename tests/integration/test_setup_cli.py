"""`flask setup` (issue 13 item 1): a real institution's first run on the real test database —
the scripted and the interactive form, and every refusal (a database that is not empty, a weak
password, missing flags) in Chinese, exiting non-zero with nothing written."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Office, Setting, User
from app.setup_cli import EXIT_REFUSED
from tests.conftest import Auth

GOOD_PASSWORD = "Qingshan-2026-dai"


def _counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Office, User, Setting, AuditLog))


def _scripted(app, tmp_path, password=GOOD_PASSWORD, *extra):
    secret = tmp_path / "admin-password"
    secret.write_text(password + "\nignored second line\n", encoding="utf-8")
    return app.test_cli_runner().invoke(args=[
        "setup", "--institution", "青山县农村小额信贷服务中心", "--head-office", "青山总部",
        "--admin-login", "boss", "--admin-password-file", str(secret), *extra])


def test_scripted_setup_creates_the_institution_head_office_and_admin_audited(app, tmp_path):
    result = _scripted(app, tmp_path, GOOD_PASSWORD, "--admin-name", "林海", "--head-office-code", "QS")
    assert result.exit_code == 0, result.output
    assert "已完成" in result.output and "boss" in result.output
    with app.app_context():
        [head] = db.session.scalars(select(Office)).all()
        [admin] = db.session.scalars(select(User)).all()
        assert (head.code, head.name, head.kind, head.is_hq, head.parent_id) == ("QS", "青山总部", "head_office", True, None)
        assert (admin.username, admin.full_name, admin.roles, admin.office_id) == ("boss", "林海", {"admin"}, head.id)
        assert db.session.get(Setting, "institution_name").value == "青山县农村小额信贷服务中心"
        actions = [(a.action, a.object_type, a.actor_id) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert sorted(actions) == sorted([("setting.changed", "setting", admin.id), ("office.created", "office", admin.id),
                                          ("user.created", "user", admin.id)])
        assert not any(GOOD_PASSWORD in str(a.detail) or admin.password_hash in str(a.detail)
                       for a in db.session.scalars(select(AuditLog)))
    # The new administrator logs in with the file's first line; the top bar names the institution.
    browser = Auth(app.test_client())
    assert browser.login("boss", GOOD_PASSWORD).status_code == 302
    page = browser.client.get("/admin/offices/").get_data(as_text=True)
    assert 'id="institution-name">青山县农村小额信贷服务中心<' in page and "青山总部" in page


def test_interactive_setup_asks_each_value_and_the_password_twice_hidden(app):
    answers = "\n".join(["青山县小贷", "", "", "", "boss", GOOD_PASSWORD, GOOD_PASSWORD]) + "\n"
    result = app.test_cli_runner().invoke(args=["setup"], input=answers)
    assert result.exit_code == 0, result.output
    assert "再次输入密码" in result.output and GOOD_PASSWORD not in result.output  # hidden
    with app.app_context():
        head = db.session.scalar(select(Office))
        admin = db.session.scalar(select(User))
        assert (head.code, head.name, admin.full_name, admin.username) == ("HQ", "总部", "系统管理员", "boss")


def test_setup_refuses_a_database_that_is_not_empty(app, demo, tmp_path):
    before = _counts(app)
    result = _scripted(app, tmp_path)
    assert result.exit_code == EXIT_REFUSED
    assert "已有机构或员工账号" in result.output and "未做任何更改" in result.output
    assert _counts(app) == before
    # The interactive form asks nothing before refusing.
    result = app.test_cli_runner().invoke(args=["setup"], input="")
    assert result.exit_code == EXIT_REFUSED and "已有机构或员工账号" in result.output
    with app.app_context():
        assert db.session.get(Setting, "institution_name") is None


def test_setup_refuses_a_lone_office_too(app, tmp_path):
    with app.app_context():
        db.session.add(Office(code="X", name="某办事处"))
        db.session.commit()
    result = _scripted(app, tmp_path)
    assert result.exit_code == EXIT_REFUSED and "已有机构或员工账号" in result.output
    assert _counts(app)[1:] == (0, 0, 0)


def test_weak_passwords_and_bad_values_are_refused_in_chinese_and_nothing_is_written(app, tmp_path):
    # The password rules (app/domain/passwords.py) are the staff screens' too.
    for password, says in (("short1", "密码至少需要 10 个字符"), ("", "密码至少需要 10 个字符"),
                           ("1234567890", "太常见"), ("password123", "太常见")):
        result = _scripted(app, tmp_path, password)
        assert result.exit_code == EXIT_REFUSED, password
        assert result.output.startswith("错误："), (password, result.output)
        assert says in result.output, (password, result.output)
        assert _counts(app) == (0, 0, 0, 0)
    # Not the login (case aside): a login long enough for the length rule to pass.
    secret = tmp_path / "same"
    secret.write_text("headoffice1", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=[
        "setup", "--institution", "机构", "--head-office", "总部", "--admin-login", "HeadOffice1",
        "--admin-password-file", str(secret)])
    assert result.exit_code == EXIT_REFUSED and "密码不能与登录名相同" in result.output, result.output
    secret = tmp_path / "pw"
    secret.write_text(GOOD_PASSWORD, encoding="utf-8")
    bad = [
        (["--institution", " ", "--head-office", "总部", "--admin-login", "boss"], "机构名称"),
        (["--institution", "机构", "--head-office", "", "--admin-login", "boss"], "总部名称"),
        (["--institution", "机构", "--head-office", "总部", "--admin-login", "老板"], "管理员登录名"),
        (["--institution", "机构", "--head-office", "总部", "--admin-login", "boss", "--head-office-code", "总"], "机构代码"),
        (["--institution", "机构", "--head-office", "总部", "--admin-login", "boss", "--admin-name", "x"], "姓名"),
        (["--institution", "机构", "--head-office", "总部"], "--admin-login"),
    ]
    for args, says in bad:
        result = app.test_cli_runner().invoke(args=["setup", *args, "--admin-password-file", str(secret)])
        assert result.exit_code == EXIT_REFUSED, args
        assert says in result.output, (args, result.output)
    missing = app.test_cli_runner().invoke(args=["setup", "--institution", "机构", "--head-office", "总部",
                                                 "--admin-login", "boss", "--admin-password-file", str(tmp_path / "none")])
    assert missing.exit_code == EXIT_REFUSED and "无法读取密码文件" in missing.output
    assert _counts(app) == (0, 0, 0, 0)


def test_the_contract_and_the_top_bar_carry_the_name_set_at_setup(app, demo):
    from app.models import Loan
    from app.services import app_settings

    cashier = Auth(app.test_client())
    assert cashier.login("cashier1").status_code == 302
    with app.app_context():
        loan_id = db.session.scalar(select(Loan.id).order_by(Loan.id))
    page = cashier.client.get(f"/loans/{loan_id}/note").get_data(as_text=True)
    assert app.config["INSTITUTION_NAME"] in page and 'id="institution-name"' not in page  # the default
    with app.app_context():
        app_settings.set_institution_name("  青山县  小贷中心 ", actor_id=demo["admin"])
    assert "青山县 小贷中心" in cashier.client.get(f"/loans/{loan_id}/note").get_data(as_text=True)
    assert 'id="institution-name">青山县 小贷中心<' in cashier.client.get("/").get_data(as_text=True)
