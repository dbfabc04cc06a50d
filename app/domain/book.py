"""An existing loan book brought in from a workbook: its sheets, columns and row rules (issue 13).

Pure: the service reads the workbook (openpyxl, streamed) and hands each sheet here as its rows of
cell values, the header row first. ``parse_book`` turns them into typed records and collects EVERY
problem as ``BookError(sheet, row, column, message, params)`` — row numbers as the spreadsheet
shows them (the header is row 1), messages English ``N_()`` strings translated at the edge. What
needs the database (officers, offices, products, loans already here) is checked by
``app.services.book``.

Money never passes through float arithmetic: an integer or Decimal cell is taken as it is; a float
cell (how Excel stores every number) by its shortest round-trip text (``repr``), so 1234.5 is
Decimal("1234.50") and 0.1 + 0.2 (0.30000000000000004) is refused for its decimals, not rounded.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from app.domain import idcard, names, phone
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount
from app.domain.schedule import METHODS

BORROWERS, LOANS, REPAYMENTS = "借款人", "贷款", "还款"
COLUMNS: dict[str, tuple[str, ...]] = {
    BORROWERS: ("身份证号", "姓名", "手机号", "村", "乡镇", "县", "住址", "经度", "纬度", "客户经理"),
    LOANS: ("贷款编号", "身份证号", "产品", "本金", "年利率", "期限月", "还款方式", "放款日期", "到期日",
            "客户经理", "办事处"),
    REPAYMENTS: ("贷款编号", "还款日期", "金额", "渠道", "凭证号"),
}
# Channels by their code or their Chinese name.
CHANNELS: dict[str, str] = {
    "cash": "cash", "bank_transfer": "bank_transfer", "mobile_payment": "mobile_payment",
    "现金": "cash", "银行转账": "bank_transfer", "移动支付": "mobile_payment",
}
CHANNEL_NAMES = {"cash": "现金", "bank_transfer": "银行转账", "mobile_payment": "移动支付"}
# Channels the system records that a book does not know: a field collection (app/services/
# field_collections.py) is cash the officer took in the village, so the export writes it as cash
# and the workbook reads back in (an export is a book any import takes).
EXPORTED_CHANNEL = {"field": "cash"}
METHOD_ALIASES: dict[str, str] = {
    **{m: m for m in METHODS},
    "等额本息": "annuity", "等额本金": "equal_principal", "按月付息到期还本": "interest_only",
    "到期一次还本付息": "bullet", "等本等息": "flat",
}
MAX_RATE = Decimal("0.36")
MAX_TERM_MONTHS = 360
MAX_REFERENCE = 50
MAX_LOAN_NO = 40
_EXCEL_EPOCH = date(1899, 12, 30)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TEXT_LIMITS = {"村": 100, "乡镇": 100, "县": 100, "住址": 200}


@dataclass(frozen=True, slots=True)
class BookError:
    sheet: str
    row: int | None  # the spreadsheet's row number (header = 1); None: the sheet as a whole
    column: str | None  # the column's header; None: the row or the sheet as a whole
    message: str  # N_ English source string
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class BorrowerRow:
    row: int
    id_number: str
    name: str
    sex: str
    birth_date: date
    phone: str
    village: str
    township: str
    county: str
    address: str
    lon: float | None
    lat: float | None
    officer: str


@dataclass(slots=True)
class LoanRow:
    row: int
    loan_no: str
    id_number: str
    product: str
    principal: Decimal
    annual_rate: Decimal
    term_months: int
    method: str
    disbursed_on: date
    maturity_date: date
    officer: str
    office: str


@dataclass(slots=True)
class RepaymentRow:
    row: int
    loan_no: str
    paid_on: date
    amount: Decimal
    channel: str
    reference: str


@dataclass
class ParsedBook:
    borrowers: list[BorrowerRow] = field(default_factory=list)
    loans: list[LoanRow] = field(default_factory=list)
    repayments: list[RepaymentRow] = field(default_factory=list)
    errors: list[BookError] = field(default_factory=list)
    # Every loan number and ID number on the sheets, rows in error included: what refers to a row
    # already reported is not reported again as "not found".
    loan_numbers_seen: set[str] = field(default_factory=set)
    id_numbers_seen: set[str] = field(default_factory=set)
    disbursed_seen: dict[str, date] = field(default_factory=dict)  # loan number → disbursement date, if readable


class CellError(ValueError):
    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.params = dict(params or {})


# --- cells ---------------------------------------------------------------------------------------

def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str:
    """A text cell; a number typed into a text column (a phone number, a loan number) as its digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def money(value: object) -> Decimal:
    """Yuan with at most 2 decimals, exactly: never through float arithmetic (see the module's note)."""
    if isinstance(value, bool) or _blank(value):
        raise CellError(N_("Enter the amount."))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellError(N_("%(text)s is not a valid amount"), {"text": str(value)})
        raw = repr(value)
        if "e" in raw or "E" in raw:
            raw = format(Decimal(raw), "f")
    elif isinstance(value, (int, Decimal)):
        raw = format(Decimal(value), "f")
    elif isinstance(value, str):
        raw = value
    else:
        raise CellError(N_("%(text)s is not a valid amount"), {"text": str(value)[:20]})
    try:
        return parse_amount(raw)
    except AmountError as e:
        raise CellError(e.message, e.params) from None


def positive_money(value: object) -> Decimal:
    amount = money(value)
    if amount <= 0:
        raise CellError(N_("The amount must be more than zero."))
    return amount


def a_date(value: object) -> date:
    """An Excel date cell, an Excel date serial, or text YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 1 <= value <= 2958465:
            return _EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, str):
        m = _ISO_DATE.fullmatch(value.strip())
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                pass
    if _blank(value):
        raise CellError(N_("Enter the date."))
    raise CellError(N_("Enter the date as an Excel date or YYYY-MM-DD."))


def rate(value: object) -> Decimal:
    """An annual rate as a fraction (0.12 for 12 %), from 0 to 0.36, at most 6 decimals."""
    if isinstance(value, bool) or _blank(value):
        raise CellError(N_("Enter the annual rate as a fraction, e.g. 0.12."))
    try:
        if isinstance(value, float):
            d = Decimal(repr(value))
        elif isinstance(value, (int, Decimal)):
            d = Decimal(value)
        else:
            s = str(value).strip()
            d = Decimal(s[:-1]) / 100 if s.endswith("%") else Decimal(s)
    except InvalidOperation:
        raise CellError(N_("Enter the annual rate as a fraction, e.g. 0.12.")) from None
    if not d.is_finite() or not Decimal(0) <= d <= MAX_RATE:
        raise CellError(N_("The annual rate must be between 0 and 0.36."))
    if d != d.quantize(Decimal("0.000001")):
        raise CellError(N_("The annual rate has more than 6 decimals."))
    return d.normalize() if d else Decimal(0)


def term(value: object) -> int:
    if isinstance(value, bool) or _blank(value):
        raise CellError(N_("Enter the term in months."))
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        d = Decimal("NaN")
    if not d.is_finite() or d != d.to_integral_value() or not 1 <= d <= MAX_TERM_MONTHS:
        raise CellError(N_("The term must be a whole number of months from 1 to %(max)s."), {"max": MAX_TERM_MONTHS})
    return int(d)


def coordinate(value: object, low: float, high: float) -> float | None:
    if _blank(value):
        return None
    try:
        f = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        f = float("nan")
    if not low <= f <= high:
        raise CellError(N_("Enter a number from %(low)s to %(high)s, or leave it empty."), {"low": low, "high": high})
    return f


# --- sheets --------------------------------------------------------------------------------------

class _Rows:
    """One sheet's rows as {column: value}, numbered as the spreadsheet numbers them."""

    def __init__(self, sheet: str, rows: Iterable[Sequence[object]], errors: list[BookError]) -> None:
        self.sheet, self.errors = sheet, errors
        self._it = iter(rows)
        self.index: dict[str, int] = {}
        self.ok = False
        header = next(self._it, None)
        heads = [text(h) for h in (header or ())]
        for i, h in enumerate(heads):
            if h and h not in self.index:
                self.index[h] = i
        missing = [c for c in COLUMNS[sheet] if c not in self.index]
        for c in missing:
            errors.append(BookError(sheet, 1, c, N_("The column %(column)s is missing from the header row."),
                                    {"column": c}))
        self.ok = not missing

    def __iter__(self) -> Iterator[tuple[int, dict[str, object]]]:
        cols = [(c, self.index[c]) for c in COLUMNS[self.sheet]]
        for n, row in enumerate(self._it, start=2):
            if row is None or all(_blank(v) for v in row):
                continue
            yield n, {c: (row[i] if i < len(row) else None) for c, i in cols}


class _Cells:
    """Reads one row's cells, keeping every problem."""

    def __init__(self, sheet: str, row: int, values: dict[str, object], errors: list[BookError]) -> None:
        self.sheet, self.row, self.values, self.errors = sheet, row, values, errors
        self.failed = False

    def get(self, column: str, convert, *args):
        try:
            return convert(self.values[column], *args)
        except CellError as e:
            self.fail(column, e.message, e.params)
            return None

    def required_text(self, column: str, limit: int) -> str:
        value = text(self.values[column])
        if not value:
            self.fail(column, N_("This cell must not be empty."))
        elif len(value) > limit:
            self.fail(column, N_("At most %(limit)s characters."), {"limit": limit})
        return value

    def fail(self, column: str | None, message: str, params: Mapping[str, object] | None = None) -> None:
        self.failed = True
        self.errors.append(BookError(self.sheet, self.row, column, message, dict(params or {})))


def _borrower(c: _Cells, today: date) -> BorrowerRow | None:
    raw_id = text(c.values["身份证号"])
    info = None
    if not raw_id:
        c.fail("身份证号", N_("This cell must not be empty."))
    else:
        try:
            info = idcard.parse(raw_id, today)
        except idcard.IdNumberError as e:
            c.fail("身份证号", e.message, e.params)
    name, problem = names.check_name(text(c.values["姓名"]))
    if problem:
        c.fail("姓名", *problem)
    mobile = text(c.values["手机号"])
    if mobile:
        try:
            mobile = phone.normalise_mobile(mobile)
        except phone.PhoneError as e:
            c.fail("手机号", e.message)
    places = {}
    for column, limit in _TEXT_LIMITS.items():
        places[column] = text(c.values[column])
        if len(places[column]) > limit:
            c.fail(column, N_("At most %(limit)s characters."), {"limit": limit})
    lon = c.get("经度", coordinate, -180.0, 180.0)
    lat = c.get("纬度", coordinate, -90.0, 90.0)
    officer = c.required_text("客户经理", 50)
    if c.failed or info is None:
        return None
    return BorrowerRow(c.row, info.number, name, info.sex, info.birth_date, mobile, places["村"], places["乡镇"],
                       places["县"], places["住址"], lon, lat, officer)


def _loan(c: _Cells) -> LoanRow | None:
    loan_no = c.required_text("贷款编号", MAX_LOAN_NO)
    id_number = idcard.normalise(text(c.values["身份证号"]))
    if not id_number:
        c.fail("身份证号", N_("This cell must not be empty."))
    product = c.required_text("产品", 30)
    principal = c.get("本金", positive_money)
    annual_rate = c.get("年利率", rate)
    months = c.get("期限月", term)
    method = METHOD_ALIASES.get(text(c.values["还款方式"]))
    if method is None:
        c.fail("还款方式", N_("Use one of: annuity, equal_principal, interest_only, bullet, flat."))
    disbursed_on = c.get("放款日期", a_date)
    maturity = c.get("到期日", a_date)
    if disbursed_on and maturity and maturity <= disbursed_on:
        c.fail("到期日", N_("The maturity date must be after the disbursement date."))
    officer = c.required_text("客户经理", 50)
    office = c.required_text("办事处", 100)
    if c.failed:
        return None
    return LoanRow(c.row, loan_no, id_number, product, principal, annual_rate, months, method, disbursed_on,
                   maturity, officer, office)


def _repayment(c: _Cells) -> RepaymentRow | None:
    loan_no = c.required_text("贷款编号", MAX_LOAN_NO)
    paid_on = c.get("还款日期", a_date)
    amount = c.get("金额", positive_money)
    channel = CHANNELS.get(text(c.values["渠道"]))
    if channel is None:
        c.fail("渠道", N_("Use one of: cash, bank_transfer, mobile_payment (现金, 银行转账, 移动支付)."))
    reference = c.required_text("凭证号", MAX_REFERENCE)
    if c.failed:
        return None
    return RepaymentRow(c.row, loan_no, paid_on, amount, channel, reference)


def parse_book(sheets: Mapping[str, Iterable[Sequence[object]]], today: date) -> ParsedBook:
    """Every row of the three sheets typed and checked, with every problem found, plus the checks
    between the sheets that need nothing but the workbook."""
    book = ParsedBook()
    errors = book.errors
    for sheet in COLUMNS:
        if sheet not in sheets:
            errors.append(BookError(sheet, None, None, N_("The workbook has no sheet named %(sheet)s."),
                                    {"sheet": sheet}))
    readers = {sheet: _Rows(sheet, sheets[sheet], errors) for sheet in COLUMNS if sheet in sheets}
    if sheet_ok(readers, BORROWERS):
        seen: dict[str, int] = {}
        for n, values in readers[BORROWERS]:
            book.id_numbers_seen.add(idcard.normalise(text(values["身份证号"])))
            b = _borrower(_Cells(BORROWERS, n, values, errors), today)
            if b is None:
                continue
            if b.id_number in seen:
                errors.append(BookError(BORROWERS, n, "身份证号", N_("This ID number is already on row %(row)s."),
                                        {"row": seen[b.id_number]}))
                continue
            seen[b.id_number] = n
            book.borrowers.append(b)
    if sheet_ok(readers, LOANS):
        seen = {}
        for n, values in readers[LOANS]:
            book.loan_numbers_seen.add(text(values["贷款编号"]))
            try:
                book.disbursed_seen.setdefault(text(values["贷款编号"]), a_date(values["放款日期"]))
            except CellError:
                pass
            loan = _loan(_Cells(LOANS, n, values, errors))
            if loan is None:
                continue
            if loan.loan_no in seen:
                errors.append(BookError(LOANS, n, "贷款编号", N_("This loan number is already on row %(row)s."),
                                        {"row": seen[loan.loan_no]}))
                continue
            seen[loan.loan_no] = n
            book.loans.append(loan)
    if sheet_ok(readers, REPAYMENTS):
        keys: dict[tuple[str, str], int] = {}
        for n, values in readers[REPAYMENTS]:
            r = _repayment(_Cells(REPAYMENTS, n, values, errors))
            if r is None:
                continue
            if r.paid_on > today:
                errors.append(BookError(REPAYMENTS, n, "还款日期", N_("The date cannot be in the future.")))
                continue
            key = (r.loan_no, r.reference)
            if key in keys:
                errors.append(BookError(REPAYMENTS, n, "凭证号",
                                        N_("This reference is already on row %(row)s for the same loan."),
                                        {"row": keys[key]}))
                continue
            keys[key] = n
            book.repayments.append(r)
    for loan in book.loans:
        if loan.disbursed_on > today:
            errors.append(BookError(LOANS, loan.row, "放款日期", N_("The date cannot be in the future.")))
    return book


def sheet_ok(readers: Mapping[str, _Rows], sheet: str) -> bool:
    return sheet in readers and readers[sheet].ok


def sort_errors(errors: Iterable[BookError]) -> list[BookError]:
    order = {s: i for i, s in enumerate(COLUMNS)}
    return sorted(errors, key=lambda e: (order.get(e.sheet, 9), e.row or 0,
                                         COLUMNS.get(e.sheet, ()).index(e.column)
                                         if e.column in COLUMNS.get(e.sheet, ()) else -1))
