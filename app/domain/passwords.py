"""Password rules for every password a person sets (own change, first login, `flask setup`), and
the one-time temporary passwords an administrator hands out. Pure: no framework import."""
from __future__ import annotations

import secrets

from app.domain.i18n import N_

MIN_LENGTH = 10

# Passwords people pick first, here and everywhere: the top of public leak lists, Chinese pinyin and
# number-pun favourites (woaini = 我爱你, 5201314 = 我爱你一生一世), keyboard rows. All are refused
# whatever their case. Only those of at least MIN_LENGTH matter; shorter ones are refused anyway,
# but stay listed so the list can be read (and reused) on its own.
COMMON: frozenset[str] = frozenset({
    "123456", "12345678", "123456789", "1234567890", "12345678910", "01234567890", "0123456789",
    "1234567890a", "a1234567890", "a123456789", "a1234567", "abc1234567", "abcd123456", "abcd1234567",
    "qwe1234567", "qwer123456", "1qaz2wsx3edc", "1qaz2wsx", "1q2w3e4r5t", "1q2w3e4r5t6y",
    "q1w2e3r4t5", "qwertyuiop", "qwertyuiop123", "asdfghjkl", "asdfghjkl123", "zxcvbnm123",
    "zxcvbnm1234", "qazwsxedc", "qazwsxedcrfv", "password", "password1", "password12", "password123",
    "password1234", "passw0rd123", "p@ssw0rd123", "p@ssword123", "admin123", "admin12345",
    "admin123456", "administrator", "root123456", "welcome123", "iloveyou123", "woaini1314",
    "woaini520", "woaini5201314", "5201314520", "52013145201314", "1314520520", "woaini123456",
    "iloveyou1314", "aaaaaaaaaa", "1111111111", "0000000000", "2222222222", "5555555555",
    "6666666666", "8888888888", "9999999999", "1122334455", "1234512345", "1212121212",
    "1231231231", "123123123123", "147258369", "1472583690", "1357924680", "9876543210",
    "0987654321", "11111111111", "123456789a", "123456789abc", "123456abc", "abc123456789",
    "88888888888", "66666666666", "168168168168", "518518518", "password!", "qq123456789",
    "qq1234567890", "wang123456", "zhang123456", "li123456789", "liu123456789", "chen123456",
    "zhangwei123", "wangfang123", "daidaitong", "daidaitong123", "changeme123", "letmein123",
    "sunshine123", "football123", "baseball123", "monkey12345", "dragon12345", "superman123",
    "princess123", "qwerty123456", "qwerty12345", "abcdefghij", "abcdefg123", "a12345678910",
    "china123456", "beijing2008", "zhongguo123", "nihao123456",
})


def password_problems(password: str, login: str) -> list[tuple[str, dict[str, object]]]:
    """What is wrong with this password for this login: [(N_ message, params)], empty when fine."""
    problems: list[tuple[str, dict[str, object]]] = []
    if len(password) < MIN_LENGTH:
        problems.append((N_("The password needs at least %(num)s characters."), {"num": MIN_LENGTH}))
    folded = password.strip().casefold()
    name = login.strip().casefold()
    if name and (folded == name or folded == name[::-1]):
        problems.append((N_("The password must not be the login name."), {}))
    if folded in COMMON:
        problems.append((N_("This password is too common; choose one that is hard to guess."), {}))
    return problems


# No 0/O, 1/l/I: read aloud or copied from a screen without doubt.
_LETTERS = "abcdefghjkmnpqrstuvwxyz"
_DIGITS = "23456789"


def temporary_password(groups: int = 3, size: int = 4) -> str:
    """A random one-time password that reads easily: lowercase letters and digits in dashed groups
    (e.g. ``k7mp-4xq2-h9ta``), at least one digit and one letter; ~62 bits for the default size."""
    alphabet = _LETTERS + _DIGITS
    while True:
        chars = [secrets.choice(alphabet) for _ in range(groups * size)]
        if any(c in _DIGITS for c in chars) and any(c in _LETTERS for c in chars):
            return "-".join("".join(chars[i:i + size]) for i in range(0, len(chars), size))
