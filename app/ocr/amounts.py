"""Amounts as people write them on loan papers, read into a Decimal of yuan.

What the forms and the borrowers write, all accepted:

- figures, with or without thousands separators and currency: ``¥5,000.00``, ``5000``,
  ``RMB 5000.5``, ``5000元``, ``5000元整``;
- full-width digits and punctuation, as Chinese input methods type them: ``５０００元``,
  ``￥５，０００．００``;
- figures with 元/角/分: ``5000元5角``, ``12元3角4分``, ``8角``;
- figures with the everyday units 万/千/百 (what a borrower writes on a hand-filled form):
  ``3千5百元``, ``1万2千元``, ``3.5万元``, ``5万``;
- Chinese numerals, capitals or everyday: ``伍仟元整``, ``叁万玖仟捌佰元整``, ``三千五百元``.

Refused (``AmountError``), never guessed: a negative amount, more than two places of fen,
separators not in groups of three (``50,00`` may be a decimal comma), a bare trailing digit
after a unit (``3千5`` colloquially 3500, literally unclear), several numbers at once. Pure.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from app.domain.i18n import N_
from app.domain.money import FEN, MAX_CAPITALS, AmountError, from_capitals

__all__ = ["read_amount"]

_PREFIXES = ("人民币", "人民幣", "RMB", "CNY", "¥", "Y")
_SUFFIXES = ("元整", "圆整", "元正", "整", "正")
_GROUPED = r"\d{1,3}(?:,\d{3})+"
_NUMBER = rf"(?:{_GROUPED}|\d+)(?:\.\d+)?"
_FIGURES = re.compile(rf"({_NUMBER})(?:[元圆块])?")
_YUAN_JIAO_FEN = re.compile(rf"(?:({_GROUPED}|\d+)[元圆块])?(?:(\d)角)?(?:零?(\d)分)?")
_UNITS = {"万": Decimal(10_000), "萬": Decimal(10_000), "千": Decimal(1000), "仟": Decimal(1000),
          "百": Decimal(100), "佰": Decimal(100), "十": Decimal(10), "拾": Decimal(10)}
_WITH_UNITS = re.compile(r"(\d+(?:\.\d+)?)([万萬千仟百佰十拾])")


def _error(text: str) -> AmountError:
    return AmountError(N_("%(text)s is not a valid amount"), {"text": text.strip()[:40]})


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, letters and punctuation (５，０００．００ ￥) into ASCII/¥.
    s = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    s = s.replace("圓", "元").replace("。", ".") if re.search(r"\d。\d", s) else s.replace("圓", "元")
    for prefix in _PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix):].lstrip(":")
            break
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)] + ("元" if suffix.startswith(("元", "圆")) else "")
            break
    return s


def _checked(amount: Decimal, text: str) -> Decimal:
    if not amount.is_finite() or amount >= MAX_CAPITALS:
        raise AmountError(N_("%(text)s is far too large an amount"), {"text": text.strip()[:20]})
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(FEN):  # type: ignore[operator]
        raise AmountError(
            N_("%(text)s has more than 2 decimal places; amounts are in yuan and fen"), {"text": text.strip()[:40]}
        )
    return amount.quantize(FEN)


def _number(s: str) -> Decimal:
    return Decimal(s.replace(",", ""))


def read_amount(text: str) -> Decimal:
    """The amount ``text`` says, in yuan with two places; ``AmountError`` if it says none clearly."""
    if not isinstance(text, str):
        raise TypeError("read_amount needs a str")
    s = _normalise(text)
    if not s:
        raise AmountError(N_("Please enter an amount"))
    if s.startswith("-"):
        raise AmountError(N_("The amount cannot be negative"))
    try:
        if m := _FIGURES.fullmatch(s):
            return _checked(_number(m.group(1)), text)
        if (m := _YUAN_JIAO_FEN.fullmatch(s)) and any(m.groups()):
            yuan = _number(m.group(1)) if m.group(1) else Decimal(0)
            if yuan != yuan.to_integral_value() and (m.group(2) or m.group(3)):
                raise _error(text)  # "5.5元3角" mixes two ways of writing fractions
            jiao, fen = int(m.group(2) or 0), int(m.group(3) or 0)
            return _checked(yuan + Decimal(jiao) / 10 + Decimal(fen) / 100, text)
        if _WITH_UNITS.match(s):
            return _checked(_with_units(s, text), text)
        if not re.search(r"\d", s):
            return _checked(from_capitals(s), text)
    except InvalidOperation:
        raise _error(text) from None
    raise _error(text)


def _with_units(s: str, text: str) -> Decimal:
    """``3千5百``, ``1万2千``, ``3.5万`` (then 元 and 角/分 as above); units strictly decreasing."""
    body, _, tail = s.partition("元")
    total = Decimal(0)
    last = Decimal("Infinity")
    pos = 0
    for m in _WITH_UNITS.finditer(body):
        if m.start() != pos:
            raise _error(text)
        unit = _UNITS[m.group(2)]
        if unit >= last:
            raise _error(text)
        total += Decimal(m.group(1)) * unit
        last, pos = unit, m.end()
    if pos != len(body):
        raise _error(text)  # "3千5": a bare digit after a unit is colloquial shorthand, not clear
    if tail:
        m = re.fullmatch(r"(?:(\d)角)?(?:零?(\d)分)?", tail)
        if m is None or not any(m.groups()):
            raise _error(text)
        total += Decimal(int(m.group(1) or 0)) / 10 + Decimal(int(m.group(2) or 0)) / 100
    return total
