"""The data-entry check: every problem at once, figures and capitals must agree, the ID must match."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.entry import FIELDS, check_entry
from app.domain.manifest import ProductSpec
from app.domain.idcard import check_digit
from app.domain.money import to_capitals

TODAY = date(2026, 11, 25)
PRODUCTS = {1: ProductSpec(1, "农户小额信用贷款", Decimal("1000"), Decimal("50000"), 3, 36, ())}


def _id(serial: int = 131, birth: str = "19780312") -> str:
    first17 = f"513401{birth}{serial:03d}"
    return first17 + check_digit(first17)


def _good(**changes: str) -> dict[str, str]:
    entry = {
        "name": "张三", "id_number": _id(), "address": "城关镇红星村3组", "phone": "139 0812 0000",
        "household_size": "4", "land_mu": "6.5", "livestock": "猪 3 头", "income_sources": "种植、务工",
        "annual_income": "48,000", "existing_debts": "", "debts_detail": "",
        "guarantor_name": "", "guarantor_id_number": "", "guarantor_phone": "",
        "product_id": "1", "amount": "8000", "amount_in_capitals": "捌仟元整", "term_months": "12",
        "purpose": "购买化肥种子", "signed_on": "2026-11-20",
    }
    entry.update(changes)
    return entry


def _check(entry: dict[str, str]):
    return check_entry(entry, products=PRODUCTS, today=TODAY)


def test_a_complete_entry_passes_and_is_normalised() -> None:
    result = _check(_good())
    assert result.ok, result.errors
    assert result.values["phone"] == "13908120000"
    assert result.values["annual_income"] == "48000.00"
    assert result.values["amount"] == "8000.00"
    assert result.derived == {"birth_date": date(1978, 3, 12), "sex": "M", "age": 48}


def test_every_problem_is_reported_at_once() -> None:
    result = _check(_good(name="", id_number=_id()[:-1] + "0", household_size="0", amount="abc", land_mu="-1",
                          signed_on="2027-01-01", term_months="48"))
    assert set(result.errors) == {"name", "id_number", "household_size", "amount", "land_mu", "signed_on", "term_months"}
    assert not result.ok


def test_figures_and_capitals_must_agree() -> None:
    result = _check(_good(amount_in_capitals="捌仟伍佰元整"))
    message, params = result.errors["amount_in_capitals"]
    assert params == {"capitals": "8,500.00", "figures": "8,000.00"}
    assert "agree" in message
    assert "amount_in_capitals" in _check(_good(amount_in_capitals="八千块")).errors


def test_another_valid_id_number_is_no_error_that_would_give_the_captured_one_away() -> None:
    # Compared with the officer's capture after completion, as a finding (tests/unit/test_findings.py).
    assert _check(_good(id_number=_id(serial=252))).ok


def test_a_guarantor_needs_name_and_id_and_is_not_the_borrower() -> None:
    assert set(_check(_good(guarantor_phone="13800138000")).errors) == {"guarantor_name", "guarantor_id_number"}
    assert set(_check(_good(guarantor_name="李四", guarantor_id_number=_id())).errors) == {"guarantor_id_number"}
    assert _check(_good(guarantor_name="李四", guarantor_id_number=_id(serial=252))).ok


def test_loan_limits_come_from_the_product() -> None:
    assert "amount" in _check(_good(amount="60000", amount_in_capitals="陆万元整")).errors
    assert "product_id" in _check(_good(product_id="9")).errors


def test_every_field_is_known_to_the_form() -> None:
    assert set(_good()) == {f.key for f in FIELDS}


@given(st.integers(min_value=100000, max_value=5000000))
def test_capitals_written_from_the_figures_always_agree(fen: int) -> None:
    amount = Decimal(fen) / 100
    result = _check(_good(amount=f"{amount:,.2f}", amount_in_capitals=to_capitals(amount)))
    assert "amount_in_capitals" not in result.errors and "amount" not in result.errors


@given(st.integers(min_value=100000, max_value=5000000), st.integers(min_value=1, max_value=100000))
def test_capitals_of_any_other_amount_never_agree(fen: int, delta: int) -> None:
    amount = Decimal(fen) / 100
    other = amount + Decimal(delta) / 100
    result = _check(_good(amount=str(amount), amount_in_capitals=to_capitals(other)))
    assert "amount_in_capitals" in result.errors
