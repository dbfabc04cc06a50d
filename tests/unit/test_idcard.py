from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.idcard import (
    PROVINCE_CODES,
    IdInfo,
    IdNumberError,
    check_digit,
    is_valid,
    mask,
    normalise,
    parse,
)

TODAY = date(2024, 6, 15)


def make(first17: str) -> str:
    return first17 + check_digit(first17)


def test_published_example_is_valid() -> None:
    info = parse("11010519491231002X", TODAY)
    assert info == IdInfo("11010519491231002X", date(1949, 12, 31), "F", "110105")
    assert info.age_on(TODAY) == 74


def test_check_digit_known_values() -> None:
    assert check_digit("11010519491231002") == "X"
    # Remainder 0 -> "1", remainder 1 -> "0", remainder 2 -> "X" all reachable.
    assert {check_digit(f"1101051990010100{i}") for i in range(10)} <= set("10X98765432")


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        check_digit("123")
    with pytest.raises(ValueError):
        check_digit("1101051949123100X")


def test_normalise() -> None:
    assert normalise(" 110105 1949 1231 002x ") == "11010519491231002X"
    assert normalise("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert normalise("11010519491231002ｘ\u3000") == "11010519491231002X"


def test_parse_accepts_messy_input() -> None:
    assert parse("１１０１０５ １９４９１２３１ ００２ｘ", TODAY).number == "11010519491231002X"


def test_sex_from_17th_digit() -> None:
    assert parse(make("11010519900101001"), TODAY).sex == "M"
    assert parse(make("11010519900101002"), TODAY).sex == "F"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "18 characters"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002X1", "18 characters"),
        ("1101051949123100XX", "only contain digits"),
        ("11010519491231A02X", "only contain digits"),
        ("X1010519491231002X", "only contain digits"),
        (make("00010519900101001"), "province code"),
        (make("99010519900101001"), "province code"),
        (make("11010519900230001"), "not a valid date"),
        (make("11010519901301001"), "not a valid date"),
        (make("11010520990101001"), "in the future"),
        (make("11010518990101001"), "age over"),
        ("11010519491231003X", "check digit does not match"),
    ],
)
def test_parse_errors(raw: str, fragment: str) -> None:
    with pytest.raises(IdNumberError) as exc:
        parse(raw, TODAY)
    assert fragment in exc.value.message
    assert str(exc.value)  # formatted English message is usable in logs
    assert not is_valid(raw, TODAY)


def test_check_digit_error_does_not_reveal_expected_digit() -> None:
    with pytest.raises(IdNumberError) as exc:
        parse("110105194912310021", TODAY)
    assert "X" not in str(exc.value)
    assert exc.value.params == {}


def test_messages_are_distinct() -> None:
    samples = ["1", "11010519491231A02X", make("00010519900101001"),
               make("11010519900230001"), make("11010520990101001"),
               make("11010518990101001"), "110105194912310021"]
    messages = set()
    for raw in samples:
        with pytest.raises(IdNumberError) as exc:
            parse(raw, TODAY)
        messages.add(exc.value.message)
    assert len(messages) == len(samples)


def test_age_boundaries() -> None:
    assert parse(make("11010519040616001"), TODAY).age_on(TODAY) == 119
    assert parse(make("11010519040615001"), TODAY).age_on(TODAY) == 120
    assert parse(make("11010519030616001"), TODAY).age_on(TODAY) == 120
    assert not is_valid(make("11010519030615001"), TODAY)  # 121 today
    assert is_valid(make("11010520240615001"), TODAY)  # born today


def test_age_on_leap_day_birthday() -> None:
    info = parse(make("11010520000229001"), TODAY)
    assert info.age_on(date(2023, 2, 28)) == 22
    assert info.age_on(date(2023, 3, 1)) == 23
    assert info.age_on(date(2024, 2, 29)) == 24


def test_mask() -> None:
    assert mask("11010519491231002X") == "110105********002X"
    assert mask("110105 19491231 002x") == "110105********002X"
    assert mask("12345") == "*****"


birth_dates = st.dates(min_value=date(1905, 1, 1), max_value=TODAY)


@st.composite
def first17s(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    rest = draw(st.integers(0, 9999))
    birth = draw(birth_dates)
    seq = draw(st.integers(0, 999))
    return f"{province}{rest:04d}{birth:%Y%m%d}{seq:03d}"


@settings(max_examples=200)
@given(first17s())
def test_valid_numbers_parse(first17: str) -> None:
    number = make(first17)
    info = parse(number, TODAY)
    assert info.number == number
    assert info.birth_date.strftime("%Y%m%d") == first17[6:14]
    assert info.sex == ("M" if int(first17[16]) % 2 else "F")
    assert info.region_code == first17[:6]
    assert 0 <= info.age_on(TODAY) <= 120
    assert is_valid(number.lower(), TODAY)


@settings(max_examples=200)
@given(first17s(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_single_character_change_is_detected(first17: str, pos: int, new: str) -> None:
    number = make(first17)
    if pos < 17 and new == "X":
        new = "0" if number[pos] != "0" else "1"
    if new == number[pos]:
        return
    changed = number[:pos] + new + number[pos + 1:]
    with pytest.raises(IdNumberError):
        parse(changed, TODAY)
