"""Money handling in yuan: exact Decimal arithmetic, user input parsing and
Chinese capital numerals (大写金额) as written on PRC bank forms.

Floats are refused everywhere: a loan ledger must never carry binary rounding error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.domain.i18n import N_

__all__ = [
    "FEN",
    "MAX_CAPITALS",
    "AmountError",
    "amounts_agree",
    "format_money",
    "from_capitals",
    "from_fen",
    "parse_amount",
    "to_capitals",
    "to_fen",
    "to_money",
]

FEN = Decimal("0.01")
# Capitals go up to 仟亿 (10^12 - 0.01); 万亿 is never needed for microcredit.
MAX_CAPITALS = Decimal("1000000000000")


class AmountError(ValueError):
    """An amount could not be understood; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


def to_money(value: str | int | Decimal) -> Decimal:
    """Convert to a Decimal rounded half-up to whole fen."""
    # bool is an int subclass; True yuan is always a bug.
    if isinstance(value, (float, bool)) or not isinstance(value, (str, int, Decimal)):
        raise TypeError(f"money must be str, int or Decimal, not {type(value).__name__}")
    try:
        d = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"money must be finite, got {value!r}")
    return d.quantize(FEN, rounding=ROUND_HALF_UP)


def format_money(d: Decimal) -> str:
    """Display form with thousands separators and 2 places, e.g. ``30,000.00``."""
    return f"{to_money(d):,.2f}"


def to_fen(d: Decimal) -> int:
    """Exact conversion of yuan to integer fen; refuses sub-fen amounts instead of rounding."""
    if not isinstance(d, Decimal) or not d.is_finite():
        raise TypeError("to_fen needs a finite Decimal")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{d} has fractions of a fen")
    return int(fen)


def from_fen(i: int) -> Decimal:
    """Integer fen to yuan with exactly 2 places."""
    if isinstance(i, bool) or not isinstance(i, int):
        raise TypeError("from_fen needs an int")
    return (Decimal(i) / 100).quantize(FEN)


# --- user-typed amounts ------------------------------------------------------

_INPUT_MAP = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "，": ",", "．": ".", "。": ".", "－": "-", "−": "-", "＋": "+",
    }
)
_CURRENCY_PREFIXES = ("¥", "￥", "RMB", "CNY")
_CURRENCY_SUFFIXES = ("元整", "元", "圆", "块")
_PLAIN = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_amount(text: str) -> Decimal:
    """Parse an amount typed by a user ("12,000.50", "１２０００", "¥12000", "12000元")."""
    s = "".join(text.split()).translate(_INPUT_MAP).upper()
    for prefix in _CURRENCY_PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    for suffix in _CURRENCY_SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
            break
    if not s:
        raise AmountError(N_("Please enter an amount"))
    if s.startswith("-"):
        raise AmountError(N_("The amount cannot be negative"))
    s = s.removeprefix("+")
    if not (_PLAIN.fullmatch(s) or _GROUPED.fullmatch(s)):
        raise AmountError(N_("%(text)s is not a valid amount"), {"text": text.strip()})
    d = Decimal(s.replace(",", ""))
    if d >= MAX_CAPITALS:
        # Also keeps quantize below from failing on 28+ digit input.
        raise AmountError(N_("%(text)s is far too large an amount"), {"text": text.strip()[:20]})
    if d.as_tuple().exponent < -2:  # type: ignore[operator]  # finite here, so an int
        raise AmountError(
            N_("%(text)s has more than 2 decimal places; amounts are in yuan and fen"),
            {"text": text.strip()},
        )
    return d.quantize(FEN)


# --- Chinese capitals (大写) ---------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_GROUP_UNITS = ("", "万", "亿")


def to_capitals(amount: Decimal) -> str:
    """Capital numerals for 0 <= amount < 10^12, e.g. 12000 -> 壹万贰仟元整.

    Conventions (per PBOC rules for filling in bills): every ten is written 壹拾;
    one 零 stands for any run of zeros inside the number, but zeros at the tail of a
    万/亿 group followed by a full 仟 are not voiced (壹佰万壹仟元), which the rules allow;
    整 is appended whenever there are no fen; 零 before 分 when 角 is zero.
    """
    if isinstance(amount, (float, bool)) or not isinstance(amount, (int, Decimal)):
        raise TypeError("to_capitals needs a Decimal")
    value = to_money(amount)
    if value < 0:
        raise ValueError("cannot write a negative amount in capitals")
    if value >= MAX_CAPITALS:
        raise ValueError("amount too large for capitals")
    fen_total = to_fen(value)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)

    out: list[str] = []
    if yuan:
        out.append(_integer_capitals(yuan))
        out.append("元")
    elif not cents:
        return "零元整"
    if jiao:
        out.append(_DIGITS[jiao] + "角")
    if fen:
        if yuan and not jiao:
            out.append("零")
        out.append(_DIGITS[fen] + "分")
    else:
        out.append("整")
    return "".join(out)


def _integer_capitals(n: int) -> str:
    digits = str(n)
    out: list[str] = []
    pending_zero = False
    top = len(digits) - 1
    for i, ch in enumerate(digits):
        pos = top - i  # decimal position, 0 = 元
        d = int(ch)
        if d == 0:
            pending_zero = bool(out)  # a leading zero is never voiced
        else:
            if pending_zero:
                out.append("零")
                pending_zero = False
            out.append(_DIGITS[d] + _SMALL_UNITS[pos % 4])
        if pos % 4 == 0 and pos > 0:
            group = digits[max(0, i - 3): i + 1]
            if int(group):
                out.append(_GROUP_UNITS[pos // 4])
                # Tail zeros of a non-empty group are absorbed by 万/亿.
                pending_zero = False
    return "".join(out)


# Tolerant reader: OCR and hand-typed forms mix capitals, everyday digits,
# traditional characters and 圆/元.
_CAP_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0,
    "壹": 1, "一": 1, "弌": 1,
    "贰": 2, "貳": 2, "二": 2, "两": 2, "兩": 2, "弍": 2,
    "叁": 3, "參": 3, "叄": 3, "三": 3,
    "肆": 4, "四": 4,
    "伍": 5, "五": 5,
    "陆": 6, "陸": 6, "六": 6,
    "柒": 7, "七": 7,
    "捌": 8, "八": 8,
    "玖": 9, "九": 9,
}
_CAP_SMALL: dict[str, int] = {
    "拾": 10, "十": 10, "什": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000,
}
_CAP_BIG: dict[str, int] = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}


def from_capitals(text: str) -> Decimal:
    """Read an amount in capitals (also everyday/traditional digits) back into a Decimal."""
    s = "".join(text.split()).replace("圆", "元").replace("圓", "元")
    for prefix in ("人民币", "人民幣", "RMB", "(大写)", "（大写）", "大写", "：", ":"):
        s = s.removeprefix(prefix)
    s = s.removesuffix("整").removesuffix("正")
    if not s:
        raise AmountError(N_("The amount in words is empty"))
    if "元" in s:
        int_part, _, frac_part = s.partition("元")
        if not int_part:
            raise AmountError(N_("The amount in words has no figure before 元"))
    elif "角" in s or "分" in s:
        int_part, frac_part = "", s
    else:
        int_part, frac_part = s, ""
    yuan = _read_integer(int_part, text) if int_part else 0
    cents = _read_fraction(frac_part, text)
    return from_fen(yuan * 100 + cents)


def _unreadable(text: str) -> AmountError:
    return AmountError(N_("Cannot read the amount in words: %(text)s"), {"text": text.strip()})


def _read_integer(s: str, original: str) -> int:
    total = 0  # 亿 part, already multiplied
    wan = 0  # 万 part, already multiplied
    section = 0  # below the latest 万/亿
    number: int | None = None  # digit waiting for its unit
    last_small = 10**5  # small units must strictly decrease within a section
    seen_yi = seen_wan = False
    prev = ""  # "digit", "zero", "small", "big" or "" at start
    for i, ch in enumerate(s):
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if ch in _CAP_DIGITS:
            d = _CAP_DIGITS[ch]
            if d == 0:
                if number is not None:
                    raise _unreadable(original)
                prev = "zero"
                continue
            if number is not None:
                raise _unreadable(original)  # two digits in a row, e.g. 一二
            at_section_end = nxt == "" or nxt in _CAP_BIG
            # "壹佰贰" colloquially means 120 but literally 102: refuse rather than guess.
            if at_section_end and prev == "small" and last_small > 10:
                raise _unreadable(original)
            if nxt == "" and prev == "big":
                raise _unreadable(original)
            number = d
            prev = "digit"
        elif ch in _CAP_SMALL:
            unit = _CAP_SMALL[ch]
            if unit >= last_small:
                raise _unreadable(original)
            if number is None:
                # A bare leading 拾 means 壹拾 ("拾万" = 100000); elsewhere a digit is missing.
                if unit != 10 or prev != "":
                    raise _unreadable(original)
                number = 1
            section += number * unit
            number = None
            last_small = unit
            prev = "small"
        elif ch in _CAP_BIG:
            unit = _CAP_BIG[ch]
            part = section + (number or 0)
            if unit == 10**8:
                if seen_yi or seen_wan:
                    raise _unreadable(original)
                if part == 0:
                    raise _unreadable(original)
                total = part * unit
                seen_yi = True
            else:
                if seen_wan or part == 0:
                    raise _unreadable(original)
                wan = part * unit
                seen_wan = True
            section, number, last_small = 0, None, 10**5
            prev = "big"
        else:
            raise _unreadable(original)
    return total + wan + section + (number or 0)


def _read_fraction(s: str, original: str) -> int:
    m = re.fullmatch(r"(?:零)?(?:(.)角)?(?:零)?(?:(.)分)?", s)
    if m is None:
        raise _unreadable(original)
    cents = 0
    for group, weight in ((m.group(1), 10), (m.group(2), 1)):
        if group is not None:
            if group not in _CAP_DIGITS:
                raise _unreadable(original)
            cents += _CAP_DIGITS[group] * weight
    return cents


def amounts_agree(figures: Decimal, capitals: str) -> bool:
    """True when the amount in figures and the amount in words are the same (form check)."""
    try:
        return to_money(figures) == from_capitals(capitals)
    except (AmountError, ValueError, TypeError):
        return False
