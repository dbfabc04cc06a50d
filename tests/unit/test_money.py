from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.money import (
    FEN,
    AmountError,
    amounts_agree,
    format_money,
    from_capitals,
    from_fen,
    parse_amount,
    to_capitals,
    to_fen,
    to_money,
)

D = Decimal

CAPITALS = [
    ("12000.00", "壹万贰仟元整"),
    ("10.50", "壹拾元伍角整"),
    ("10.05", "壹拾元零伍分"),
    ("10.55", "壹拾元伍角伍分"),
    ("0.50", "伍角整"),
    ("0.05", "伍分"),
    ("0.55", "伍角伍分"),
    ("0.00", "零元整"),
    ("1.00", "壹元整"),
    ("10.00", "壹拾元整"),
    ("15.00", "壹拾伍元整"),
    ("100010.00", "壹拾万零壹拾元整"),
    ("1000000.00", "壹佰万元整"),
    ("100010000.00", "壹亿零壹万元整"),
    ("100000001.00", "壹亿零壹元整"),
    ("20.30", "贰拾元叁角整"),
    ("1004.07", "壹仟零肆元零柒分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("1001000.00", "壹佰万壹仟元整"),
    ("100001000.00", "壹亿零壹仟元整"),
    ("30000.00", "叁万元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
]


@pytest.mark.parametrize(("figures", "words"), CAPITALS)
def test_capitals_table(figures: str, words: str) -> None:
    assert to_capitals(D(figures)) == words
    assert from_capitals(words) == D(figures)
    assert amounts_agree(D(figures), words)


def test_to_capitals_limits() -> None:
    with pytest.raises(ValueError):
        to_capitals(D("-0.01"))
    with pytest.raises(ValueError):
        to_capitals(D("1000000000000"))
    with pytest.raises(TypeError):
        to_capitals(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("words", "figures"),
    [
        ("人民币壹万贰仟圆整", "12000"),
        ("人民币 壹万贰仟元正", "12000"),
        ("壹万贰仟元", "12000"),
        ("拾万元整", "100000"),
        ("拾元", "10"),
        ("一万二千元整", "12000"),
        ("两万元", "20000"),
        ("两千零五元五角", "2005.50"),
        ("十五元", "15"),
        ("壹萬貳仟圓整", "12000"),
        ("伍角", "0.50"),
        ("零元伍角整", "0.50"),
        ("壹拾元零角伍分", "10.05"),
        ("壹拾万零壹拾元整", "100010"),
        ("壹拾万壹拾元整", "100010"),  # the PBOC rules let the 零 be omitted here
        ("壹佰万零壹仟元整", "1001000"),
        ("壹亿零壹万元整", "100010000"),
        ("零元整", "0"),
    ],
)
def test_from_capitals_is_tolerant(words: str, figures: str) -> None:
    assert from_capitals(words) == D(figures)


@pytest.mark.parametrize(
    "words",
    [
        "",
        "整",
        "人民币",
        "壹贰元",  # two digits in a row
        "壹佰贰元",  # 120 or 102? refuse to guess
        "壹万贰元",
        "壹仟伍万元",
        "壹拾佰元",  # units out of order
        "佰元",
        "壹万万元",
        "壹万壹亿元",
        "元整",
        "壹元贰元",
        "壹元伍",
        "一二三",
        "壹拾元伍角伍分伍",
        "12000元",
        "hello",
    ],
)
def test_from_capitals_rejects_garbage(words: str) -> None:
    with pytest.raises(AmountError) as exc:
        from_capitals(words)
    assert exc.value.message
    assert not amounts_agree(D("0"), words)


def test_amounts_agree() -> None:
    assert amounts_agree(D("12000"), "人民币壹万贰仟元整")
    assert not amounts_agree(D("12000.01"), "人民币壹万贰仟元整")
    assert not amounts_agree(D("12000"), "not an amount")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", "12000.00"),
        ("12,000.50", "12000.50"),
        ("１２０００", "12000.00"),
        ("１２，０００．５", "12000.50"),
        ("¥12000", "12000.00"),
        ("￥ 12,000", "12000.00"),
        ("12000元", "12000.00"),
        (" 12000 ", "12000.00"),
        ("0", "0.00"),
        ("0.5", "0.50"),
        ("RMB 1,234,567.89", "1234567.89"),
    ],
)
def test_parse_amount(text: str, expected: str) -> None:
    result = parse_amount(text)
    assert result == D(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "enter an amount"),
        ("   ", "enter an amount"),
        ("¥", "enter an amount"),
        ("-5", "negative"),
        ("¥-5", "negative"),
        ("12.345", "2 decimal places"),
        ("abc", "not a valid amount"),
        ("12,00", "not a valid amount"),
        ("1,2000", "not a valid amount"),
        ("1e5", "not a valid amount"),
        ("12.3.4", "not a valid amount"),
        ("NaN", "not a valid amount"),
        ("Infinity", "not a valid amount"),
    ],
)
def test_parse_amount_errors(text: str, fragment: str) -> None:
    with pytest.raises(AmountError) as exc:
        parse_amount(text)
    assert fragment in exc.value.message


def test_to_money() -> None:
    assert to_money("1.005") == D("1.01")  # half up, not banker's rounding
    assert to_money("1.004") == D("1.00")
    assert to_money(5) == D("5.00")
    assert to_money(D("2.5")) == D("2.50")
    assert to_money(D("-1.005")) == D("-1.01")
    assert FEN == D("0.01")


@pytest.mark.parametrize("bad", [1.5, True, None, [1]])
def test_to_money_rejects_non_money_types(bad: object) -> None:
    with pytest.raises(TypeError):
        to_money(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["NaN", "inf", "-Infinity", D("NaN"), D("Infinity"), "abc", ""])
def test_to_money_rejects_non_finite(bad: str | Decimal) -> None:
    with pytest.raises(ValueError):
        to_money(bad)


def test_fen_conversion() -> None:
    assert to_fen(D("12000.50")) == 1200050
    assert to_fen(D("0.01")) == 1
    assert to_fen(D("-3")) == -300
    assert from_fen(1200050) == D("12000.50")
    assert str(from_fen(5)) == "0.05"
    with pytest.raises(ValueError):
        to_fen(D("0.001"))
    with pytest.raises(TypeError):
        to_fen(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_fen(1.0)  # type: ignore[arg-type]


def test_format_money() -> None:
    assert format_money(D("30000")) == "30,000.00"
    assert format_money(D("1234567.891")) == "1,234,567.89"
    assert format_money(D("0.5")) == "0.50"


amounts = st.integers(0, 10**13 - 1).map(from_fen)  # [0, 10^11) with 2 places


@settings(max_examples=300)
@given(amounts)
def test_capitals_round_trip(x: Decimal) -> None:
    words = to_capitals(x)
    assert from_capitals(words) == x
    assert amounts_agree(x, words)
    assert "零零" not in words
    for unit in ("元", "万", "亿", "角", "分"):
        assert "零" + unit not in words or words == "零元整"
    assert not words.startswith("零") or x == 0
    assert words.endswith("整") == (to_fen(x) % 10 == 0)
    if x < 1:
        assert "元" not in words or x == 0


@settings(max_examples=300)
@given(st.integers(0, 10**13 - 1))
def test_fen_round_trip(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@settings(max_examples=200)
@given(amounts)
def test_parse_amount_round_trips_display_format(x: Decimal) -> None:
    assert parse_amount(format_money(x)) == x
    assert parse_amount(str(x)) == x


def test_an_absurdly_long_amount_is_refused_not_crashed() -> None:
    import pytest

    from app.domain.money import AmountError, parse_amount

    with pytest.raises(AmountError):
        parse_amount("9" * 40)
    with pytest.raises(AmountError):
        parse_amount("1000000000000")
    assert str(parse_amount("999999999999.99")) == "999999999999.99"
