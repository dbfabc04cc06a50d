"""Password rules (issue 13, Staff item 4) and the temporary passwords an administrator hands out."""
from __future__ import annotations

from hypothesis import given, strategies as st

from app.domain.passwords import COMMON, MIN_LENGTH, password_problems, temporary_password


def _messages(password, login="wangfang"):
    return [m for m, _p in password_problems(password, login)]


@given(st.text(min_size=MIN_LENGTH, max_size=30), st.text(min_size=1, max_size=20))
def test_problems_are_exactly_the_rules(password, login):
    messages = _messages(password, login)
    folded, name = password.strip().casefold(), login.strip().casefold()
    assert ("The password must not be the login name." in messages) == (bool(name) and folded in (name, name[::-1]))
    assert ("This password is too common; choose one that is hard to guess." in messages) == (folded in COMMON)


def test_a_good_password_has_no_problem():
    assert password_problems("稻田-river-2026", "wangfang") == []


def test_too_short():
    assert password_problems("Ab3$efgh9", "x") == [("The password needs at least %(num)s characters.", {"num": 10})]


def test_the_login_in_any_case_or_reversed_is_refused():
    assert "The password must not be the login name." in _messages("WangFang01", "wangfang01")
    assert "The password must not be the login name." in _messages("10gnafgnaw", "wangfang01")


def test_common_passwords_are_refused_whatever_the_case():
    for common in ("12345678910", "password123", "QwertyUIOP", "1234567890", "a123456789", "woaini1314"):
        assert "This password is too common; choose one that is hard to guess." in _messages(common), common
    assert len(COMMON) >= 100


def test_temporary_passwords_pass_the_rules_and_differ():
    seen = {temporary_password() for _ in range(200)}
    assert len(seen) == 200
    for pw in seen:
        assert len(pw) >= MIN_LENGTH and password_problems(pw, "someone") == []
        assert not set(pw) & set("01lIoO")
