"""Findings: keyed values set beside the officer's capture and OCR readings, compared by meaning."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.findings import OcrReading, compare
from app.domain.money import to_capitals

CAPTURE = {"name": "王五", "id_number": "51340119780312001X", "amount": "20000.00"}
fen = st.integers(min_value=1, max_value=99_999_999_99)


def _keyed(**changes: str) -> dict[str, str]:
    keyed = {"name": "王五", "id_number": "51340119780312001x", "amount": "20,000", "amount_in_capitals": "贰万元整",
             "signed_on": "2026-11-20"}
    keyed.update(changes)
    return keyed


def test_the_same_values_written_otherwise_are_no_finding() -> None:
    assert compare(_keyed(name="王 五"), CAPTURE) == []


def test_each_difference_from_the_capture_is_one_finding() -> None:
    found = compare(_keyed(name="王午", amount="2000", amount_in_capitals="贰仟元整"), CAPTURE)
    assert [(f.field, f.source, f.keyed, f.other) for f in found] == [
        ("name", "capture", "王午", "王五"), ("amount", "capture", "2000", "20000.00"),
        ("amount_in_capitals", "capture", "贰仟元整", "20000.00")]


def test_an_ocr_reading_is_compared_field_by_field_and_a_missing_one_says_nothing() -> None:
    reading = OcrReading("借款借据 (1)", {"amount": {"value": "20000.00", "confidence": 0.97},
                                         "signed_on": {"value": "2026-11-02", "confidence": 0.8},
                                         "name": {"value": "", "confidence": 0.5}})
    [finding] = compare(_keyed(), CAPTURE, [reading])
    assert (finding.field, finding.source, finding.other, finding.where, finding.confidence) == (
        "signed_on", "ocr", "2026-11-02", "借款借据 (1)", 0.8)


def test_an_empty_keyed_field_or_text_that_does_not_parse_never_raises() -> None:
    assert compare({"amount": "三千元", "signed_on": "soon"}, CAPTURE,
                   [OcrReading("x", {"signed_on": {"value": "2026-11-02"}})])[0].keyed == "三千元"
    assert compare({}, CAPTURE, [OcrReading("x", {"name": {"value": "李四"}})]) == []


@given(fen)
def test_figures_and_capitals_of_the_captured_amount_always_agree(n: int) -> None:
    amount = Decimal(n) / 100
    capture = {**CAPTURE, "amount": f"{amount:.2f}"}
    assert compare({"amount": f"{amount:,.2f}", "amount_in_capitals": to_capitals(amount)}, capture) == []


@given(fen, st.integers(min_value=1, max_value=10**6))
def test_any_other_amount_is_a_finding_in_figures_and_in_capitals(n: int, delta: int) -> None:
    amount, other = Decimal(n) / 100, Decimal(n + delta) / 100
    found = compare({"amount": f"{other:.2f}", "amount_in_capitals": to_capitals(other)}, {"amount": f"{amount:.2f}"})
    assert [f.field for f in found] == ["amount", "amount_in_capitals"]
