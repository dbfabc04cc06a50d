"""Read form fields out of OCR lines: ID number, name, amount (figures and capitals), date.

Pure: no Flask and no OCR engine here, so the rules are unit-tested on plain line lists.
Input lines are ``(text, confidence)`` in reading order (``OcrResult.lines`` already is).
Each field found is ``{"value": str, "confidence": float, "source": str}``; a value that
needed an OCR character correction (O→0, I/l→1) has its confidence multiplied by 0.9.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from app.domain import idcard
from app.domain.money import AmountError, from_capitals, parse_amount

__all__ = ["CORRECTION_PENALTY", "amounts_agree", "extract_fields"]

CORRECTION_PENALTY = 0.9
# How many lines after a label its value may appear on (label cell, then the value cell).
_LABEL_REACH = 2

Line = tuple[str, float]
Field = dict[str, object]

# Fullwidth digits/letters/punctuation, as OCR returns for Chinese-context text.
_FULLWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "：": ":", "，": ",", "．": ".", "／": "/", "－": "-", "￥": "¥", "　": " ",
    }
)
# Letters OCR confuses with digits; only applied where a digit must stand.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "|": "1"})


def _plain(text: str) -> str:
    return text.translate(_FULLWIDTH)


def _fix_digits(s: str) -> tuple[str, bool]:
    fixed = s.translate(_DIGIT_LOOKALIKES)
    return fixed, fixed != s


def _field(value: str, confidence: float, source: str, corrected: bool = False) -> Field:
    if corrected:
        confidence *= CORRECTION_PENALTY
    return {"value": value, "confidence": round(confidence, 4), "source": source}


def _after_label(lines: Sequence[Line], labels: Sequence[str]) -> set[int]:
    """Indexes of lines that hold a label or follow one closely (where its value sits)."""
    near: set[int] = set()
    for i, (text, _) in enumerate(lines):
        if any(label in text for label in labels):
            near.update(range(i, min(len(lines), i + _LABEL_REACH + 1)))
    return near


# --- ID number --------------------------------------------------------------------

_ID_LABELS = ("身份证号码", "公民身份号码", "身份证号", "证件号码")
_ID_CHARS = re.compile(r"[0-9OoQDIl|Xx]{18,}")


def _id_candidates(text: str, today: date) -> list[tuple[str, bool]]:
    compact = "".join(_plain(text).split())  # OCR often splits the number into groups
    found: list[tuple[str, bool]] = []
    for run in _ID_CHARS.findall(compact):
        # A run longer than 18 (label digits or a neighbouring cell glued on): try each window.
        for start in range(len(run) - 17):
            raw = run[start : start + 18]
            body, body_fixed = _fix_digits(raw[:17])
            last = raw[17].upper()
            last, last_fixed = _fix_digits(last) if last != "X" else (last, False)
            try:
                info = idcard.parse(body + last, today)
            except idcard.IdNumberError:
                continue
            found.append((info.number, body_fixed or last_fixed))
    return found


def _id_number(lines: Sequence[Line], today: date) -> Field | None:
    near = _after_label(lines, _ID_LABELS)
    best: tuple[tuple[int, bool, float], Field] | None = None
    for i, (text, conf) in enumerate(lines):
        for number, corrected in _id_candidates(text, today):
            # Labelled beats unlabelled, uncorrected beats corrected, then confidence.
            rank = (1 if i in near else 0, not corrected, conf)
            if best is None or rank > best[0]:
                best = (rank, _field(number, conf, text, corrected))
    return best[1] if best else None


# --- name ---------------------------------------------------------------------------

# Longest first, so "借款人姓名" is not read as label 借款人 + value 姓名.
_NAME_LABELS = ("借款人姓名", "姓名", "借款人")
_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_SEP = r"[\s:.]*"
# Words that are labels themselves, never a person's name.
_NOT_NAMES = frozenset(
    "姓名 性别 民族 出生 住址 身份证号码 公民身份号码 身份证号 联系电话 电话 借款金额 金额 日期 "
    "借款人 借款日期 申请日期 借款用途 借款期限 担保方式 家庭人口 签字 经办人".split()
)


def _name(lines: Sequence[Line]) -> Field | None:
    for i, (text, _conf) in enumerate(lines):
        line = _plain(text).strip()
        for label in _NAME_LABELS:
            m = re.fullmatch(re.escape(label) + _SEP + r"(.*)", line)
            if m is None:
                continue
            rest = "".join(m.group(1).split())
            if rest:
                # ID cards print "姓名 张三" on one line; forms put "姓名：张三".
                if _NAME.fullmatch(rest) and rest not in _NOT_NAMES:
                    return _field(rest, lines[i][1], text)
                break  # the label is followed by something that is not a name
            if i + 1 < len(lines):
                nxt_text, nxt_conf = lines[i + 1]
                value = "".join(_plain(nxt_text).split())
                if _NAME.fullmatch(value) and value not in _NOT_NAMES:
                    return _field(value, nxt_conf, nxt_text)
            break
    return None


# --- amount in figures ----------------------------------------------------------------

_AMOUNT_LABELS = ("小写", "金额", "¥", "人民币")
# Figures with an optional currency sign; letters OCR mistakes for digits are allowed inside.
_FIGURES = re.compile(r"(?:[¥Y]\s*)?\d[\dOoIl,.]*(?:\s*元)?")


def _amount_in(text: str) -> tuple[str, bool] | None:
    s = _plain(text)
    for m in _FIGURES.finditer(s):
        raw = m.group(0).lstrip("¥Y").strip()
        fixed, corrected = _fix_digits(raw)
        try:
            amount = parse_amount(fixed)
        except AmountError:
            continue
        if amount > 0:
            return f"{amount:.2f}", corrected
    return None


def _amount(lines: Sequence[Line]) -> Field | None:
    best: tuple[tuple[int, bool, float], Field] | None = None
    for i, (text, conf) in enumerate(lines):
        plain = _plain(text)
        hits = [label for label in _AMOUNT_LABELS if label in plain]
        if not hits or "大写" in plain:
            continue
        # The figures follow the label on its line, or sit in the next cell/line.
        label_end = max(plain.rfind(label) + len(label) for label in hits)
        options = [(plain[label_end:], conf, text, "¥" in plain)]
        if i + 1 < len(lines):
            nxt_text, nxt_conf = lines[i + 1]
            options.append((nxt_text, nxt_conf, nxt_text, "¥" in _plain(nxt_text)))
        if "¥" in plain:  # "¥12,000.00" itself: the sign is part of the value
            options.insert(0, (plain[plain.find("¥"):], conf, text, True))
        for candidate, c, source, has_sign in options:
            found = _amount_in(candidate)
            if found is None:
                continue
            value, corrected = found
            rank = (1 if ("小写" in plain or has_sign) else 0, not corrected, c)
            if best is None or rank > best[0]:
                best = (rank, _field(value, c, source, corrected))
            break
    return best[1] if best else None


# --- amount in capitals -------------------------------------------------------------------

_CAPITALS = re.compile(r"[壹贰叁肆伍陆柒捌玖拾佰仟万亿零元圆角分整正]{2,}")
_CAPITAL_DIGITS = frozenset("壹贰叁肆伍陆柒捌玖")


def _amount_in_capitals(lines: Sequence[Line]) -> Field | None:
    near = _after_label(lines, ("大写",))
    best: tuple[tuple[int, int, float], Field] | None = None
    for i, (text, conf) in enumerate(lines):
        compact = "".join(text.split())
        for run in _CAPITALS.findall(compact):
            if not _CAPITAL_DIGITS.intersection(run):
                continue  # "元整" alone is not an amount
            try:
                amount = from_capitals(run)
            except AmountError:
                continue
            if amount <= 0:
                continue
            rank = (1 if i in near else 0, len(run), conf)
            if best is None or rank > best[0]:
                field = _field(f"{amount:.2f}", conf, text)
                field["text"] = run
                best = (rank, field)
    return best[1] if best else None


# --- date ------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
    r"|[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2}))(?!\d)"
)
_DATE_LABELS = ("日期",)
# A birth or expiry date on an ID card is not the application's date.
_OTHER_DATES = ("出生", "有效期", "签发")


def _date(lines: Sequence[Line]) -> Field | None:
    near = _after_label(lines, _DATE_LABELS)
    best: tuple[tuple[int, float], Field] | None = None
    for i, (text, conf) in enumerate(lines):
        plain = _plain(text)
        for m in _DATE.finditer(plain):
            year = int(m.group(1))
            month = int(m.group(2) or m.group(4))
            day = int(m.group(3) or m.group(5))
            try:
                d = date(year, month, day)
            except ValueError:
                continue
            prev = _plain(lines[i - 1][0]) if i else ""
            other = any(w in plain or w in prev for w in _OTHER_DATES)
            rank = ((1 if i in near else 0) - (2 if other else 0), conf)
            if best is None or rank > best[0]:
                best = (rank, _field(d.isoformat(), conf, text))
    return best[1] if best else None


# --- public ----------------------------------------------------------------------------


def extract_fields(lines: Sequence[tuple[str, float]], *, today: date) -> dict[str, dict]:
    """The fields readable in ``lines``; absent keys were not found (never guessed)."""
    lines = [(str(t), float(c)) for t, c in lines]
    found: dict[str, dict] = {}
    for key, value in (
        ("id_number", _id_number(lines, today)),
        ("name", _name(lines)),
        ("amount", _amount(lines)),
        ("amount_in_capitals", _amount_in_capitals(lines)),
        ("date", _date(lines)),
    ):
        if value is not None:
            found[key] = value
    return found


def amounts_agree(fields: Mapping[str, Mapping[str, object]]) -> bool | None:
    """Whether figures and capitals say the same amount; None when either was not read."""
    figures, capitals = fields.get("amount"), fields.get("amount_in_capitals")
    if not figures or not capitals:
        return None
    try:
        return Decimal(str(figures["value"])) == Decimal(str(capitals["value"]))
    except (InvalidOperation, KeyError):
        return False
