"""Read form fields out of OCR lines: ID number, name, amount (figures and capitals), date,
and on the ID card also sex, birth date and address.

Pure: no Flask and no OCR engine here, so the rules are unit-tested on plain line lists.
Input lines are ``(text, confidence)`` in reading order (``OcrResult.lines`` already is).
Each field found is ``{"value": str, "confidence": float, "source": str}``; a value that
needed an OCR character correction (O→0, I/l→1) has its confidence multiplied by 0.9.

What is looked for depends on the document (``app.domain.documents``): given a ``kind``, only
the fields that document can hold are extracted, and each carries ``"document": kind``. Without
a kind (the command line, an unknown image) the generic five are: name, ID number, amount,
amount in capitals, date.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from app.domain import idcard
from app.domain.documents import OCR_FIELDS, DocumentKind
from app.domain.money import AmountError, from_capitals
from app.ocr.amounts import read_amount

__all__ = ["CORRECTION_PENALTY", "GENERIC_FIELDS", "amounts_agree", "extract_fields", "simplified"]

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


# Traditional forms the recognition model sometimes returns for the simplified characters
# printed on ID cards and our forms (its training data mixes both). Only characters that occur
# in names and addresses, each mapped to the one simplified form ID cards use; a full
# converter would also rewrite the rare variant characters that are legitimately in names.
_T2S_PAIRS = (
    "強强 龍龙 國国 華华 張张 陳陈 劉刘 楊杨 黃黄 趙赵 吳吴 孫孙 馬马 鄭郑 謝谢 韓韩 馮冯 鄧邓 "
    "蕭萧 葉叶 蘇苏 呂吕 盧卢 錢钱 湯汤 陸陆 鍾钟 譚谭 範范 賈贾 韋韦 鄒邹 閻阎 賀贺 顧顾 龔龚 "
    "萬万 嚴严 東东 偉伟 靜静 麗丽 軍军 艷艳 豔艳 傑杰 濤涛 蘭兰 剛刚 紅红 鵬鹏 輝辉 誌志 貴贵 "
    "鳳凤 雲云 飛飞 興兴 榮荣 順顺 寶宝 蓮莲 鋒锋 濱滨 靈灵 愛爱 慶庆 綠绿 貞贞 進进 發发 財财 "
    "壽寿 祿禄 義义 禮礼 勝胜 鐵铁 長长 門门 風风 書书 樂乐 親亲 鳴鸣 鴻鸿 瑩莹 穎颖 娛娱 嬌娇 "
    "縣县 鄉乡 鎮镇 組组 號号 區区 莊庄 灣湾 橋桥 營营 關关 陽阳 嶺岭 廣广 廟庙 鄰邻 場场 廠厂 "
    "壩坝 園园 溝沟 崗岗 塢坞 頭头 灘滩 島岛 漢汉 滿满 維维 壯壮 陝陕 寧宁 遼辽 魯鲁 晉晋 閩闽 "
    "贛赣 隴陇 瓊琼 臺台 內内 岡冈 壟垄 樓楼 廈厦 寨寨 墳坟 澤泽 灣湾 員员 會会 幹干 黨党 "
    "後后 衛卫 實实 農农 氣气 電电 聯联 證证 種种 豐丰 歲岁 舊旧 雙双 車车 場场 濟济 縣县 劍剑 鋼钢 "
    "銀银 鑫鑫 錦锦 鐘钟 紹绍 繼继 續续 紀纪 紅红 純纯 絲丝 線线 練练 駿骏 驥骥 騰腾 鶴鹤 鷹鹰"
)
_T2S = str.maketrans({pair[0]: pair[1] for pair in _T2S_PAIRS.split()})


def simplified(text: str) -> str:
    """``text`` with the traditional forms above mapped to the simplified ones (強→强, 龍→龙)."""
    return text.translate(_T2S)


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
        line = simplified(_plain(text)).strip()
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
                value = "".join(simplified(_plain(nxt_text)).split())
                if _NAME.fullmatch(value) and value not in _NOT_NAMES:
                    return _field(value, nxt_conf, nxt_text)
            break
    return None


# --- amount in figures ----------------------------------------------------------------

_AMOUNT_LABELS = ("小写", "金额", "¥", "人民币")
# Figures as people write them (app.ocr.amounts): a currency sign, separators, 万/千/百 and
# 元/角/分 units; letters OCR mistakes for digits are allowed inside.
_FIGURES = re.compile(r"(?:[¥Y]\s*)?\d[\dOoIl,.\s]*(?:[万千百十]\s*(?:\d[\d.]*\s*[千百十]\s*)*)?"
                      r"(?:元(?:\s*\d\s*角)?(?:\s*零?\s*\d\s*分)?)?")


def _amount_in(text: str) -> tuple[str, bool] | None:
    s = _plain(text)
    for m in _FIGURES.finditer(s):
        raw = m.group(0).lstrip("¥Y").strip().rstrip(",.")
        fixed, corrected = _fix_digits(raw)
        try:
            amount = read_amount(fixed)
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
            if any(w in plain or w in prev for w in _OTHER_DATES):
                continue  # a birth or validity date is never the document's date
            rank = (1 if i in near else 0, conf)
            if best is None or rank > best[0]:
                best = (rank, _field(d.isoformat(), conf, text))
    return best[1] if best else None


# --- the ID card: sex, birth date, address -------------------------------------------------

_CARD_LABELS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码", "身份号码")


def _labelled_value(lines: Sequence[Line], label: str) -> tuple[str, float, str] | None:
    """The text after ``label`` on its line, or the next line when the label stands alone."""
    for i, (text, conf) in enumerate(lines):
        line = simplified(_plain(text))
        at = line.find(label)
        if at < 0:
            continue
        rest = line[at + len(label):].strip(" :")
        if rest:
            return rest, conf, text
        if i + 1 < len(lines):
            return simplified(_plain(lines[i + 1][0])).strip(), lines[i + 1][1], lines[i + 1][0]
        return None
    return None


def _sex(lines: Sequence[Line], id_field: Field | None) -> Field | None:
    found = _labelled_value(lines, "性别")
    if found is not None:
        rest, conf, source = found
        word = "".join(rest.split())[:1]
        if word in ("男", "女"):
            return _field(word, conf, source)
    if id_field is not None:  # printed sex not read: the ID number says it (odd = male)
        number = str(id_field["value"])
        return _field("男" if int(number[16]) % 2 else "女", float(id_field["confidence"]), number)  # type: ignore[arg-type]
    return None


def _birth_date(lines: Sequence[Line], id_field: Field | None) -> Field | None:
    printed: Field | None = None
    for i, (text, conf) in enumerate(lines):
        plain = _plain(text)
        prev = _plain(lines[i - 1][0]) if i else ""
        if "出生" not in plain and "出生" not in prev:
            continue
        m = _DATE.search(plain)
        if m is None:
            continue
        try:
            d = date(int(m.group(1)), int(m.group(2) or m.group(4)), int(m.group(3) or m.group(5)))
        except ValueError:
            continue
        printed = _field(d.isoformat(), conf, text)
        break
    if id_field is not None:
        number = str(id_field["value"])
        from_id = date(int(number[6:10]), int(number[10:12]), int(number[12:14])).isoformat()
        if printed is None or printed["value"] != from_id:
            # The number is checksum-verified; a misread printed date loses to it.
            return _field(from_id, float(id_field["confidence"]), number)  # type: ignore[arg-type]
    return printed


def _address(lines: Sequence[Line]) -> Field | None:
    """The 住址 value: the rest of its line, then the continuation lines up to the next label."""
    for i, (text, conf) in enumerate(lines):
        line = simplified(_plain(text))
        at = line.find("住址")
        if at < 0:
            continue
        parts, confs, sources = [], [], []
        rest = "".join(line[at + 2:].split()).lstrip(":")
        if rest:
            parts.append(rest)
            confs.append(conf)
            sources.append(text)
        for nxt_text, nxt_conf in lines[i + 1 : i + 4]:
            nxt = "".join(simplified(_plain(nxt_text)).split())
            if any(label in nxt for label in _CARD_LABELS) or _ID_CHARS.search(nxt) or not nxt:
                break
            parts.append(nxt)
            confs.append(nxt_conf)
            sources.append(nxt_text)
        value = "".join(parts)
        if len(value) >= 4:
            return _field(value, min(confs), " / ".join(sources))
        return None
    return None


# --- public ----------------------------------------------------------------------------

GENERIC_FIELDS: tuple[str, ...] = ("name", "id_number", "amount", "amount_in_capitals", "date")


def extract_fields(
    lines: Sequence[tuple[str, float]], *, today: date, kind: DocumentKind | str | None = None
) -> dict[str, dict]:
    """The fields readable in ``lines``; absent keys were not found (never guessed).

    With ``kind`` only the fields that document can hold (``OCR_FIELDS``), each tagged with
    ``"document"``; without it the generic five.
    """
    lines = [(str(t), float(c)) for t, c in lines]
    document = DocumentKind(kind) if kind is not None else None
    wanted = OCR_FIELDS[document] if document is not None else GENERIC_FIELDS
    found: dict[str, dict] = {}
    if not wanted:
        return found
    id_field = _id_number(lines, today) if "id_number" in wanted or document is DocumentKind.ID_CARD else None
    extractors = {
        "id_number": lambda: id_field,
        "name": lambda: _name(lines),
        "sex": lambda: _sex(lines, id_field),
        "birth_date": lambda: _birth_date(lines, id_field),
        "address": lambda: _address(lines),
        "amount": lambda: _amount(lines),
        "amount_in_capitals": lambda: _amount_in_capitals(lines),
        "date": lambda: _date(lines),
    }
    for key in wanted:
        value = extractors[key]()
        if value is not None:
            if document is not None:
                value = {**value, "document": document.value}
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
