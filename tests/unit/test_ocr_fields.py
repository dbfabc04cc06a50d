"""Field extraction from OCR lines, on line lists shaped like RapidOCR's real output."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain.idcard import check_digit
from app.ocr.fields import CORRECTION_PENALTY, amounts_agree, extract_fields

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


def test_id_card_layout() -> None:
    lines = [
        ("姓名张三", 0.99),
        ("性别男", 0.99),
        ("民族汉", 0.98),
        ("出生1985年6月12日", 0.97),
        ("住址河南省清丰县马庄桥镇王庄村3组", 0.95),
        (f"公民身份号码{VALID_ID}", 0.96),
    ]
    f = extract_fields(lines, today=TODAY)
    assert f["name"]["value"] == "张三"
    assert f["id_number"]["value"] == VALID_ID
    assert f["date"]["value"] == "1985-06-12"  # the only date; a form's own date would win


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
