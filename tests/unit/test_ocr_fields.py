"""Field extraction from OCR lines, on line lists shaped like RapidOCR's real output."""
from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.documents import OCR_FIELDS, DocumentKind, kind_of_item, may_propose
from app.domain.idcard import check_digit
from app.domain.money import AmountError, to_capitals
from app.ocr.amounts import read_amount
from app.ocr.engines import OcrLine, _reading_order
from app.ocr.fields import CORRECTION_PENALTY, amounts_agree, extract_fields, simplified

TODAY = date(2026, 6, 1)
FIRST17 = "41152219910816668"
VALID_ID = FIRST17 + check_digit(FIRST17)  # 411522199108166680
X_FIRST17 = "51132119850612001"
X_ID = next(  # a number whose check character is X, to test the lowercase x
    f"{X_FIRST17[:14]}{i:03d}" + "X"
    for i in range(1000)
    if check_digit(f"{X_FIRST17[:14]}{i:03d}") == "X"
)

IOU_LINES = [
    ("借款借据", 1.0),
    ("借据号：JJ2025729633", 0.981),
    ("借款人姓名", 0.999),
    ("高春辉", 0.998),
    ("身份证号码", 1.0),
    (VALID_ID, 0.997),
    ("联系电话", 1.0),
    ("13912597620", 1.0),
    ("住址", 1.0),
    ("河南省光山县泼陂河镇王庄村7组", 0.999),
    ("借款金额（小写)", 0.891),
    ("¥39,800.00", 0.998),
    ("借款金额(大写)", 0.916),
    ("叁万玖仟捌佰元整", 0.996),
    ("借款日期", 1.0),
    ("2025年9月19日", 0.99),
    ("借款用途", 1.0),
    ("购置小型农机", 1.0),
    ("借款人承诺按合同约定用途使用借款，按期归还本息，逾期按约计收罚息。", 1.0),
    ("借款人（签字捺印）：", 0.998),
    ("经办人：", 0.943),
]


def test_iou_table_cells_label_then_value() -> None:
    f = extract_fields(IOU_LINES, today=TODAY)
    assert f["name"] == {"value": "高春辉", "confidence": 0.998, "source": "高春辉"}
    assert f["id_number"]["value"] == VALID_ID
    assert f["id_number"]["confidence"] == 0.997
    assert f["amount"] == {"value": "39800.00", "confidence": 0.998, "source": "¥39,800.00"}
    assert f["amount_in_capitals"]["value"] == "39800.00"
    assert f["amount_in_capitals"]["text"] == "叁万玖仟捌佰元整"
    assert f["date"] == {"value": "2025-09-19", "confidence": 0.99, "source": "2025年9月19日"}
    assert amounts_agree(f) is True
    assert set(f) == {"id_number", "name", "amount", "amount_in_capitals", "date"}


def test_same_line_values_with_colons_and_fullwidth() -> None:
    fullwidth_id = "".join(chr(0xFF10 + int(c)) for c in VALID_ID)
    lines = [
        ("借款人：李秀英", 0.95),
        (f"身份证号码：{fullwidth_id}", 0.93),
        ("金额：１２０００元", 0.9),
        ("人民币（大写）：壹万贰仟元整", 0.92),
        ("日期：2026-03-05", 0.97),
    ]
    f = extract_fields(lines, today=TODAY)
    assert f["name"]["value"] == "李秀英"
    assert f["id_number"]["value"] == VALID_ID
    assert f["id_number"]["confidence"] == 0.93  # fullwidth is not a correction
    assert f["amount"]["value"] == "12000.00"
    assert f["amount_in_capitals"]["value"] == "12000.00"
    assert f["amount_in_capitals"]["text"] == "壹万贰仟元整"
    assert f["date"]["value"] == "2026-03-05"


def test_ocr_confusions_are_corrected_with_lower_confidence() -> None:
    confused = VALID_ID.replace("0", "O").replace("1", "l", 1)
    assert confused != VALID_ID
    lines = [("公民身份号码", 0.99), (confused, 0.9), ("小写 ¥5,OOO.00", 0.8)]
    f = extract_fields(lines, today=TODAY)
    assert f["id_number"]["value"] == VALID_ID
    assert f["id_number"]["confidence"] == pytest.approx(0.9 * CORRECTION_PENALTY)
    assert f["amount"]["value"] == "5000.00"
    assert f["amount"]["confidence"] == pytest.approx(0.8 * CORRECTION_PENALTY)


def test_spaces_inside_the_number_and_lowercase_x() -> None:
    spaced = f"{X_ID[:6]} {X_ID[6:14]} {X_ID[14:17]}x"
    f = extract_fields([("身份证号码", 1.0), (spaced, 0.96)], today=TODAY)
    assert f["id_number"]["value"] == X_ID
    assert f["id_number"]["confidence"] == 0.96


def test_wrong_checksum_is_rejected() -> None:
    wrong = FIRST17 + ("1" if VALID_ID[-1] != "1" else "2")
    f = extract_fields([("身份证号码", 1.0), (wrong, 0.99)], today=TODAY)
    assert "id_number" not in f


def test_two_candidates_only_the_valid_one_is_taken() -> None:
    wrong = FIRST17 + ("3" if VALID_ID[-1] != "3" else "4")
    lines = [("身份证号码", 1.0), (wrong, 0.99), ("配偶身份证号码", 1.0), (VALID_ID, 0.85)]
    f = extract_fields(lines, today=TODAY)
    assert f["id_number"]["value"] == VALID_ID
    assert f["id_number"]["source"] == VALID_ID


def test_labelled_number_beats_unlabelled_one() -> None:
    other17 = "36073219800101123"
    other = other17 + check_digit(other17)
    lines = [(f"编号{other}", 1.0), ("身份证号码", 1.0), (VALID_ID, 0.8)]
    assert extract_fields(lines, today=TODAY)["id_number"]["value"] == VALID_ID


def test_label_on_previous_line_for_name_and_amount() -> None:
    lines = [("姓名", 0.99), ("王芳", 0.97), ("借款金额（小写）", 0.9), ("8600元", 0.95)]
    f = extract_fields(lines, today=TODAY)
    assert f["name"] == {"value": "王芳", "confidence": 0.97, "source": "王芳"}
    assert f["amount"]["value"] == "8600.00"


ID_CARD_LINES = [
    ("姓名张三", 0.99),
    ("性别男", 0.99),
    ("民族汉", 0.98),
    ("出生1985年6月12日", 0.97),
    ("住址河南省清丰县马庄桥镇王庄村3组", 0.95),
    (f"公民身份号码{VALID_ID}", 0.96),
]


def test_a_birth_date_is_never_the_documents_date() -> None:
    # Before: the card's birth date came back as the (IOU) date, 97 %.
    f = extract_fields(ID_CARD_LINES, today=TODAY)
    assert f["name"]["value"] == "张三"
    assert f["id_number"]["value"] == VALID_ID
    assert "date" not in f
    assert "date" not in extract_fields([("出生", 1.0), ("1985年6月12日", 0.97)], today=TODAY)


def test_id_card_proposes_the_cards_facts_only() -> None:
    f = extract_fields(ID_CARD_LINES, today=TODAY, kind=DocumentKind.ID_CARD)
    assert {k: v["value"] for k, v in f.items()} == {
        "name": "张三",
        "sex": "男",
        "birth_date": "1991-08-16",  # the checksum-verified number wins over a misread print
        "address": "河南省清丰县马庄桥镇王庄村3组",
        "id_number": VALID_ID,
    }
    assert all(v["document"] == "id_card" for v in f.values())
    # The printed birth date is taken as read when it agrees with the number.
    card = [*ID_CARD_LINES[:3], ("出生", 1.0), ("1991年8月16日", 0.93), *ID_CARD_LINES[4:]]
    f = extract_fields(card, today=TODAY, kind="id_card")
    assert f["birth_date"] == {"value": "1991-08-16", "confidence": 0.93, "source": "1991年8月16日",
                               "document": "id_card"}


def test_id_card_labels_on_their_own_lines_and_address_over_two_lines() -> None:
    lines = [("姓名", 1.0), ("姚芳福", 0.99), ("性别", 1.0), ("女", 0.98), ("民族", 1.0), ("汉", 1.0),
             ("出生", 1.0), ("1979年8月12日", 0.97), ("住址", 1.0), ("江西省兴国县长冈乡后寨", 0.95),
             ("村3组59号", 0.96), ("公民身份号码", 1.0), ("360732197908125982", 0.99)]
    f = extract_fields(lines, today=TODAY, kind=DocumentKind.ID_CARD)
    assert f["name"]["value"] == "姚芳福" and f["sex"]["value"] == "女"
    assert f["birth_date"]["value"] == "1979-08-12"
    assert f["address"]["value"] == "江西省兴国县长冈乡后寨村3组59号"
    assert f["address"]["confidence"] == 0.95
    assert f["id_number"]["value"] == "360732197908125982"


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        (DocumentKind.IOU, {"name", "id_number", "amount", "amount_in_capitals", "date"}),
        (DocumentKind.SURVEY, {"name", "id_number"}),
        (DocumentKind.ID_CARD, {"name", "id_number", "address"}),  # IOU_LINES hold no sex/birth
        (DocumentKind.ID_CARD_BACK, set()),
        (DocumentKind.OTHER, set()),
    ],
)
def test_what_is_extracted_depends_on_the_document(kind: DocumentKind, keys: set[str]) -> None:
    assert set(extract_fields(IOU_LINES, today=TODAY, kind=kind)) <= set(OCR_FIELDS[kind])
    assert set(extract_fields(IOU_LINES, today=TODAY, kind=kind)) == keys | (
        {"sex", "birth_date"} if kind is DocumentKind.ID_CARD else set())  # derived from the number


def test_items_map_to_documents_as_data() -> None:
    assert kind_of_item("id_front", "身份证正面") is DocumentKind.ID_CARD
    assert kind_of_item("x", "身份证") is DocumentKind.ID_CARD
    assert kind_of_item("iou", "whatever") is DocumentKind.IOU
    assert kind_of_item(None, "借款调查表") is DocumentKind.SURVEY
    assert kind_of_item("house", "房屋照片") is DocumentKind.OTHER
    assert kind_of_item("new_item", "营业执照") is DocumentKind.OTHER
    assert may_propose(DocumentKind.IOU, "date") and not may_propose(DocumentKind.ID_CARD, "date")
    assert not may_propose(DocumentKind.SURVEY, "date") and may_propose(None, "date")


def test_traditional_forms_become_the_simplified_ones_on_id_cards() -> None:
    assert simplified("李強") == "李强" and simplified("龍口鎮") == "龙口镇"
    assert simplified("张三 河南省") == "张三 河南省"
    lines = [("姓名", 1.0), ("李強", 0.91), ("住址", 1.0), ("雲南省威信縣扎西鎮龍口村2組", 0.9),
             (f"公民身份号码{VALID_ID}", 0.96)]
    f = extract_fields(lines, today=TODAY, kind=DocumentKind.ID_CARD)
    assert f["name"]["value"] == "李强"
    assert f["name"]["source"] == "李強"  # what the engine returned stays visible
    assert f["address"]["value"] == "云南省威信县扎西镇龙口村2组"


def test_form_date_beats_birth_date() -> None:
    lines = [("出生", 1.0), ("1985年6月12日", 1.0), ("申请日期", 1.0), ("2026/3/5", 0.9)]
    assert extract_fields(lines, today=TODAY)["date"]["value"] == "2026-03-05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026年3月5日", "2026-03-05"), ("2026-03-05", "2026-03-05"), ("2026.03.05", "2026-03-05"),
     ("2026/3/5", "2026-03-05"), ("2026 年 12 月 31 日", "2026-12-31")],
)
def test_date_formats(text: str, expected: str) -> None:
    assert extract_fields([(text, 0.9)], today=TODAY)["date"]["value"] == expected


@pytest.mark.parametrize("text", ["2026年2月30日", "2026-13-01", "借据号：JJ2025729633"])
def test_invalid_dates_are_ignored(text: str) -> None:
    assert "date" not in extract_fields([(text, 0.9)], today=TODAY)


def test_labels_and_sentences_are_not_names() -> None:
    lines = [
        ("借款人姓名", 1.0),
        ("身份证号码", 1.0),
        ("借款人承诺按合同约定用途使用借款", 1.0),
        ("借款人（签字捺印）：", 1.0),
        ("经办人：", 1.0),
    ]
    assert "name" not in extract_fields(lines, today=TODAY)


def test_amounts_that_disagree_and_missing() -> None:
    lines = [("小写", 1.0), ("¥12,000.00", 1.0), ("大写", 1.0), ("壹万贰仟伍佰元整", 1.0)]
    f = extract_fields(lines, today=TODAY)
    assert f["amount"]["value"] == "12000.00"
    assert f["amount_in_capitals"]["value"] == "12500.00"
    assert amounts_agree(f) is False
    assert amounts_agree({"amount": f["amount"]}) is None
    assert amounts_agree({}) is None


def test_capitals_with_jiao_fen_and_unreadable_run() -> None:
    f = extract_fields([("大写：壹佰元零伍角陆分", 0.9)], today=TODAY)
    assert f["amount_in_capitals"]["value"] == "100.56"
    assert "amount_in_capitals" not in extract_fields([("壹贰叁元", 0.9)], today=TODAY)


def test_phone_number_is_not_an_amount_and_nothing_found_is_empty() -> None:
    assert extract_fields([("联系电话", 1.0), ("13912597620", 1.0)], today=TODAY) == {}
    assert extract_fields([], today=TODAY) == {}


# --- amounts as people write them (app.ocr.amounts) ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥5,000.00", "5000.00"),
        ("￥５，０００．００", "5000.00"),
        ("５０００元", "5000.00"),
        ("5000元整", "5000.00"),
        ("RMB 5000.5", "5000.50"),
        ("人民币12,345.67元", "12345.67"),
        ("5000元5角", "5000.50"),
        ("12元3角4分", "12.34"),
        ("100元零6分", "100.06"),
        ("8角", "0.80"),
        ("3千5百元", "3500.00"),
        ("1万2千元", "12000.00"),
        ("3.5万元", "35000.00"),
        ("5万", "50000.00"),
        ("伍仟元整", "5000.00"),
        ("叁万玖仟捌佰元整", "39800.00"),
        ("三千五百元", "3500.00"),
    ],
)
def test_amounts_as_people_write_them(text: str, expected: str) -> None:
    assert read_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    ["3千5", "50,00", "5,000,00", "5.000.00", "-5", "5.001", "5千1万", "1e5", "5000元5", "5.5元3角", "", "元",
     "12 34 56 78 90 12 34", "9" * 40],
)
def test_unclear_amounts_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(AmountError):
        read_amount(text)


def test_amount_cells_on_forms_use_the_same_reader() -> None:
    for cell, expected in (("¥5,000.00", "5000.00"), ("５０００元", "5000.00"), ("3千5百元", "3500.00"),
                           ("5000元5角", "5000.50")):
        f = extract_fields([("借款金额（小写）", 1.0), (cell, 0.9)], today=TODAY, kind=DocumentKind.IOU)
        assert f["amount"]["value"] == expected, cell


_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2)


def _fullwidth(s: str) -> str:
    return s.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"} | {ord(","): "，", ord("."): "．"})


@given(_AMOUNTS)
def test_every_way_of_writing_an_amount_reads_back_the_same(amount: Decimal) -> None:
    yuan, cents = divmod(int(amount * 100), 100)
    written = [
        f"{amount:.2f}", f"{amount:,.2f}", f"¥{amount:,.2f}", f"￥{amount:,.2f}", f"{amount:.2f}元",
        _fullwidth(f"{amount:,.2f}") + "元", f"人民币{amount:,.2f}元", to_capitals(amount),
        f"{yuan}元{cents // 10}角{cents % 10}分",
    ]
    for text in written:
        assert read_amount(text) == amount, text


@given(st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=9),
       st.sampled_from([("万", "千"), ("千", "百"), ("百", "十")]))
def test_figures_with_units_are_place_values(high: int, low: int, units: tuple[str, str]) -> None:
    scale = {"万": 10_000, "千": 1000, "百": 100, "十": 10}
    text = f"{high}{units[0]}" + (f"{low}{units[1]}" if low else "") + "元"
    assert read_amount(text) == Decimal(high * scale[units[0]] + low * scale[units[1]])


@given(st.text(alphabet="0123456789,.¥￥元角分万千百十整零壹贰叁伍仟佰拾-０５，．Y RMB", max_size=16))
def test_the_reader_answers_an_amount_or_a_clear_refusal(text: str) -> None:
    try:
        amount = read_amount(text)
    except AmountError as e:
        assert e.message  # a message the screen can translate, never another exception
    else:
        assert amount >= 0 and amount == amount.quantize(Decimal("0.01")) and amount < Decimal(10) ** 12


# --- reading order on a photo taken askew ------------------------------------------------------


def _turned_box(x: float, y: float, w: float, h: float, degrees: float) -> tuple[tuple[float, float], ...]:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return tuple((px * c - py * s, px * s + py * c) for px, py in ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


@pytest.mark.parametrize("degrees", [-6.0, -3.0, 0.0, 3.0, 6.0])
def test_a_tables_label_comes_before_its_value_on_a_turned_photo(degrees: float) -> None:
    # A form shot 6 degrees askew lifts the value cell, 500 px right of its label, by 52 px:
    # more than a row's height, so an unslanted sort put the name before its label.
    cells = [("借款人姓名", 100, 300, 150), ("黄秀建", 600, 300, 90), ("身份证号码", 100, 345, 150),
             (VALID_ID, 600, 345, 300), ("联系电话", 100, 390, 120), ("13912597620", 600, 390, 200)]
    lines = [OcrLine(text, 0.99, _turned_box(x, y, w, 30, degrees)) for text, x, y, w in cells]
    ordered = [ln.text for ln in _reading_order(list(reversed(lines)))]
    assert ordered == [text for text, *_ in cells]
    f = extract_fields([(ln.text, ln.confidence) for ln in _reading_order(lines)], today=TODAY, kind="survey")
    assert f["name"]["value"] == "黄秀建"
