"""``flask setup``: a real institution's first run on an empty database.

    flask setup                      # asks for each value; the password twice, hidden
    flask setup --institution 名称 --head-office 名称 --admin-login LOGIN \\
        --admin-password-file FILE [--admin-name 姓名] [--head-office-code HQ]

Creates the institution's name, the head office and the first administrator (app/services/setup.py),
all or nothing, audited; refuses a database that already has offices or staff, and a weak password,
with the reason in Chinese, exiting non-zero. The password file's first line is the password.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask_babel import force_locale

from app.http_edge import translate_message

__all__ = ["EXIT_REFUSED", "register"]

EXIT_REFUSED = 2


def _fail(messages: list[str]) -> None:
    for line in messages:
        click.echo(f"错误：{line}" if not line.startswith("错误") else line, err=True)
    raise SystemExit(EXIT_REFUSED)


def _say(message: str, params: dict | None = None) -> str:
    with force_locale("zh"):
        return translate_message(message, params)


def register(app: Flask) -> None:
    @app.cli.command("setup")
    @click.option("--institution", help="The institution's name (机构名称).")
    @click.option("--head-office", help="The head office's name (总部名称).")
    @click.option("--head-office-code", default=None, help="The head office's code (default HQ).")
    @click.option("--admin-login", help="The first administrator's login name.")
    @click.option("--admin-name", default=None, help="The first administrator's name (default 系统管理员).")
    @click.option("--admin-password-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="A file whose first line is the administrator's password (for scripts).")
    def setup(institution, head_office, head_office_code, admin_login, admin_name, admin_password_file) -> None:
        """Set up a real institution on an empty database: its name, head office, first administrator."""
        from app.services import setup as setup_service

        try:
            setup_service.refuse_unless_empty()
        except setup_service.SetupError as e:
            _fail([_say(e.message, e.params)])
        scripted = any(v is not None for v in (institution, head_office, admin_login, admin_password_file))
        if scripted:
            missing = [flag for flag, v in (("--institution", institution), ("--head-office", head_office),
                                            ("--admin-login", admin_login),
                                            ("--admin-password-file", admin_password_file)) if v is None]
            if missing:
                _fail([f"缺少参数：{'、'.join(missing)}（脚本方式须同时给出这四项；不带参数运行则逐项询问）。"])
            try:
                lines = admin_password_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                _fail([f"无法读取密码文件 {admin_password_file}：{e.strerror if isinstance(e, OSError) else '不是 UTF-8 文本'}"])
            password = lines[0] if lines else ""
        else:
            institution = click.prompt("机构名称 (institution)")
            head_office = click.prompt("总部名称 (head office)", default="总部")
            head_office_code = click.prompt("总部代码 (head office code)", default=head_office_code or "HQ")
            admin_name = click.prompt("管理员姓名 (administrator's name)", default=admin_name or "系统管理员")
            admin_login = click.prompt("管理员登录名 (administrator's login)", default="admin")
            password = click.prompt("管理员密码 (password, at least 10 characters)", hide_input=True,
                                    confirmation_prompt="再次输入密码 (repeat)")
        form = setup_service.SetupForm(
            institution=institution, head_office=head_office, admin_login=admin_login, admin_password=password,
            admin_name=admin_name or setup_service.DEFAULT_ADMIN_NAME,
            head_office_code=head_office_code or setup_service.DEFAULT_HEAD_OFFICE_CODE)
        try:
            head, admin = setup_service.run(form, password_method=current_app.config["PASSWORD_HASH_METHOD"])
        except setup_service.SetupError as e:
            _fail([_say(m, dict(p)) for m, p in e.fields.values()] or [_say(e.message, e.params)])
        click.echo(f"已完成：机构「{form.institution.strip()}」，总部「{head.name}」（{head.code}），"
                   f"管理员 {admin.username}（{admin.full_name}）。")
        click.echo("下一步：用该管理员登录浏览器，在「系统管理」中建立支行、办事处、员工账号和贷款产品。")
