"""PRC 18-digit resident identity card numbers (GB 11643-1999).

Layout: 6-digit region code, 8-digit birth date (YYYYMMDD), 3-digit sequence
(odd = male, even = female), 1 check character (ISO 7064 MOD 11-2, 0-9 or X).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from app.domain.i18n import N_

__all__ = [
    "PROVINCE_CODES",
    "IdInfo",
    "IdNumberError",
    "check_digit",
    "is_valid",
    "mask",
    "normalise",
    "parse",
]

# Two-digit province-level codes currently in use (incl. 71 Taiwan, 81 Hong Kong, 82 Macau,
# which appear on residence permits for those regions' residents).
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)

_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_MAX_AGE = 120

# Farmers' numbers often arrive typed on phone keyboards in fullwidth mode.
_FULLWIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "X", "x": "X"}
)


class IdNumberError(ValueError):
    """An ID number failed validation; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


@dataclass(frozen=True)
class IdInfo:
    """Facts decoded from a valid ID number."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    region_code: str

    def age_on(self, d: date) -> int:
        """Age in completed years on ``d`` (a 29 Feb birthday counts from 1 Mar in common years)."""
        had_birthday = (d.month, d.day) >= (self.birth_date.month, self.birth_date.day)
        return d.year - self.birth_date.year - (0 if had_birthday else 1)


def normalise(raw: str) -> str:
    """Remove all whitespace, convert fullwidth digits to ASCII and x to X."""
    return "".join(raw.split()).translate(_FULLWIDTH)


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_digit needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse(raw: str, today: date) -> IdInfo:
    """Validate and decode an ID number, raising IdNumberError with a specific reason."""
    number = normalise(raw)
    if len(number) != 18:
        raise IdNumberError(
            N_("The ID number must be 18 characters long (%(length)s entered)"),
            {"length": len(number)},
        )
    body, last = number[:17], number[17]
    if not (body.isascii() and body.isdigit()) or last not in "0123456789X":
        raise IdNumberError(
            N_("The ID number may only contain digits, with X allowed as the last character")
        )
    province = number[:2]
    if province not in PROVINCE_CODES:
        raise IdNumberError(
            N_("The ID number starts with %(code)s, which is not a valid province code"),
            {"code": province},
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            N_("The birth date %(digits)s in the ID number is not a valid date"),
            {"digits": number[6:14]},
        ) from None
    if birth > today:
        raise IdNumberError(
            N_("The birth date %(birth_date)s in the ID number is in the future"),
            {"birth_date": birth.isoformat()},
        )
    info = IdInfo(
        number=number,
        birth_date=birth,
        sex="M" if int(number[16]) % 2 == 1 else "F",
        region_code=number[:6],
    )
    if info.age_on(today) > _MAX_AGE:
        raise IdNumberError(
            N_(
                "The birth date %(birth_date)s gives an age over %(max_age)s;"
                " please re-read the number"
            ),
            {"birth_date": birth.isoformat(), "max_age": _MAX_AGE},
        )
    # Checked last so that the more specific reasons above win; never reveal the expected
    # character, otherwise a mistyped number could be "fixed" by just changing the last digit.
    if check_digit(body) != last:
        raise IdNumberError(N_("The check digit does not match; please re-read the number"))
    return info


def is_valid(raw: str, today: date) -> bool:
    """True when ``parse`` would succeed."""
    try:
        parse(raw, today)
    except IdNumberError:
        return False
    return True


def mask(number: str) -> str:
    """Privacy display: first 6 and last 4 characters, the rest as asterisks."""
    n = normalise(number)
    if len(n) <= 10:
        # Too short to show anything without revealing most of it.
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]
