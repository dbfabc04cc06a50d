"""The book import's cells (app/domain/book.py): money exact to the fen from any cell type, never via float
arithmetic; dates; rates; every problem collected with its sheet, row and column."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import book

fen = st.integers(min_value=1, max_value=10**11)


@given(fen)
def test_money_from_a_float_cell_is_the_exact_decimal(n):
    """Excel keeps every number as a double: 1234.5 is read back as 1234.50, never 1234.4999…"""
    expected = Decimal(n) / 100
    assert book.money(float(f"{expected}")) == expected.quantize(Decimal("0.01"))
    assert book.money(str(expected)) == expected
    assert book.money(expected) == expected


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=9))
def test_money_with_three_decimals_is_refused_from_any_cell_type(yuan, thousandth):
    value = Decimal(yuan) + Decimal(thousandth) / 1000
    if value.quantize(Decimal("0.01")) == value:
        return
    for cell in (value, str(value), float(f"{value}")):
        with pytest.raises(book.CellError):
            book.money(cell)


def test_money_examples():
    assert book.money(1234.5) == Decimal("1234.50")
    assert book.money(12000) == Decimal("12000.00")
    assert book.money("12,000.5") == Decimal("12000.50")
    for bad in (0.1 + 0.2, "1.001", None, "", "abc", True, float("nan"), "-5"):
        with pytest.raises(book.CellError):
            book.money(bad)


def test_dates_rates_terms():
    assert book.a_date(datetime(2025, 3, 10, 0, 0)) == date(2025, 3, 10)
    assert book.a_date("2025-03-10") == date(2025, 3, 10)
    assert book.a_date(45726) == date(2025, 3, 10)  # an Excel serial
    for bad in ("10/03/2025", "2025-02-30", None, 1.5):
        with pytest.raises(book.CellError):
            book.a_date(bad)
    assert book.rate(0.096) == Decimal("0.096") and book.rate("12%") == Decimal("0.12") and book.rate(0) == 0
    for bad in (0.37, -0.01, "x", 0.1234567):
        with pytest.raises(book.CellError):
            book.rate(bad)
    assert book.term(12.0) == 12
    for bad in (0, 12.5, 361, "x"):
        with pytest.raises(book.CellError):
            book.term(bad)


def _sheets(**override):
    header = {s: list(c) for s, c in book.COLUMNS.items()}
    rows = {s: [header[s]] for s in book.COLUMNS}
    rows.update(override)
    return rows


def test_every_problem_of_every_sheet_is_collected():
    sheets = _sheets(**{
        book.BORROWERS: [list(book.COLUMNS[book.BORROWERS]),
                         ["110105194912310021", "张三", "123", "", "", "", "", 200, None, "officer1"]],
        book.LOANS: [list(book.COLUMNS[book.LOANS]),
                     ["L1", "110105194912310021", "XYD", "1.001", 0.5, 0, "monthly", "x", "y", "", ""]],
    })
    del sheets[book.REPAYMENTS]
    parsed = book.parse_book(sheets, date(2026, 1, 1))
    where = {(e.sheet, e.row, e.column) for e in parsed.errors}
    assert {(book.BORROWERS, 2, "身份证号"), (book.BORROWERS, 2, "手机号"), (book.BORROWERS, 2, "经度"),
            (book.LOANS, 2, "本金"), (book.LOANS, 2, "年利率"), (book.LOANS, 2, "期限月"), (book.LOANS, 2, "还款方式"),
            (book.LOANS, 2, "放款日期"), (book.LOANS, 2, "到期日"), (book.LOANS, 2, "客户经理"), (book.LOANS, 2, "办事处"),
            (book.REPAYMENTS, None, None)} <= where
