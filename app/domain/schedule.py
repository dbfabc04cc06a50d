"""Repayment schedules (还款计划): the amounts and dates a borrower owes.

Methods: ``annuity`` 等额本息 (level installments), ``equal_principal`` 等额本金,
``interest_only`` 按月付息到期还本, ``bullet`` 到期一次还本付息 (one payment, the harvest loan) and
``flat`` (interest always on the original principal). Frequencies: ``monthly``, ``quarterly`` and
``custom`` (the due dates are listed, e.g. one harvest date).

Exact and portable
------------------
The officer's offline calculator, ``static/js/schedule.js``, is a line-by-line port that must
give the same fen. Decimal is therefore only the interface; inside, everything is an integer:
money in fen, the annual rate in units of 1e-18 (``RATE_SCALE``), time in 1/26280 of a year
(``YEAR_UNITS``), and every division is ``_div``: half-up on non-negative integers. Python ints
and JS BigInts then agree bit for bit, with no decimal context or float in the way.

* Interest for a period = balance x rate x years, rounded once to the fen:
  ``_div(balance * rate * units, YEAR_UNITS * RATE_SCALE)``. YEAR_UNITS = lcm(12, 360, 365), so a
  month is exactly 2190 units, a quarter 6570, a day 73 (act/360, 30/360) or 72 (act/365).
* Regular periods accrue rate/12 (rate/4 for quarters) whatever the day count. The day count
  applies to a broken first period (``first_due`` other than one period after ``start``) and to
  every period of a custom schedule, on the days since the previous date: ``act/360`` (default),
  ``act/365`` or ``30/360`` (30E/360, Eurobond basis: day 31 counts as 30).
* Annuity payment: with periodic rates p_k (fixed point, ``_div(rate * units, YEAR_UNITS)``),
  G_n = 1, G_(k-1) = G_k x (1 + p_k) rounded half-up at scale 1e-18 at every step (so (1+r)^n is
  repeated multiplication), payment = principal x G_0 / (G_1 + ... + G_n), rounded to the fen.
  For equal p this is the textbook P r (1+r)^n / ((1+r)^n - 1); for a custom schedule it is the
  level payment over the actual period rates.
* Each line's principal part: annuity = payment - interest on the balance at the *regular* rate
  (so a broken first period changes only the first installment's interest and can never make a
  principal part negative); equal principal and flat = principal / n, half-up, or rounded down
  where half-up would leave the last line short (only below n(n-1)/2 fen); interest-only = 0.
  The last line takes the whole remaining balance: principal parts always sum exactly to the
  principal. The last annuity installment differs from the others by the payment's and the
  interests' roundings compounded at the loan's rate: under a fen x ((1+r)^n - 1) / r, i.e. at
  most 0.14 yuan for 12 months at 12 %, 1.64 yuan for 60 months at 36 %. An annuity part is clamped
  to [0, balance]; it bites only where that drift reaches a whole installment (a few yuan over
  decades, or 97 % a year over 100 months), and then the balance is paid off before the last line.
* Interest is accrued on the balance of each period, except: flat = rate x term on the original
  principal, rounded once and spread per period, the last line absorbing the rounding (same rule
  as the principal parts); bullet = the same simple interest, paid once with the principal.
* Due dates keep the anchor's day of month, clamped to the month's end and always counted from the
  anchor (``start``, or ``first_due`` when given): Jan 31 -> Feb 28/29 -> Mar 31 -> Apr 30.

Holidays and working days
-------------------------
``working_days`` (a ``WorkingDays``: the configured holidays and the weekend days worked instead,
调休) moves each due date that is not a working day to the next working day ("following"). The
amounts do not move with it: interest accrues on the *unadjusted* dates (ISDA's "unadjusted"
convention), so regular periods still accrue rate/12 (rate/4) and a broken first period or a
custom schedule the engine's day count between the unadjusted dates. A moved installment
therefore owes exactly what it owed on its calendar date, the principal parts still sum to the
principal, and later dates are still counted from the anchor (a move never drifts the schedule).
Only the effective annual rate, an IRR on the dates paid, sees the moved dates. Two custom dates
in one holiday may land on the same working day (dates are then non-decreasing). Without
``working_days`` (the default) nothing moves; the phone's offline calculator (schedule.js) has
no holiday list and always shows unadjusted dates.

Effective annual rate
---------------------
The IRR of the cash flows (principal out at ``start``, each installment in on its due date),
annualised on actual days: the y with  sum(total_k / (1 + y) ** (days_k / 365)) = principal
(Excel's XIRR convention), so it compares loans of any frequency. Solved by safeguarded Newton in
Decimal and reported to 4 places (0.1268 = 12.68 %). It is a display figure: the JS calculator
computes it in floats, and the shared test vectors allow it (and only it) 0.0001 of difference.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

from app.domain.i18n import N_

__all__ = [
    "DAY_COUNTS",
    "FREQUENCIES",
    "MAX_INSTALLMENTS",
    "MAX_PRINCIPAL",
    "METHODS",
    "Line",
    "Schedule",
    "ScheduleError",
    "ScheduleRequest",
    "WorkingDays",
    "add_months",
    "build_schedule",
    "parse_request",
    "schedule_fen",
]

METHODS = ("annuity", "equal_principal", "interest_only", "bullet", "flat")
FREQUENCIES = ("monthly", "quarterly", "custom")
DAY_COUNTS = ("act/360", "act/365", "30/360")
MAX_INSTALLMENTS = 600  # also the longest term in months: 50 years
MAX_PRINCIPAL = Decimal("1000000000000")  # exclusive; as far as money.to_capitals can write
MAX_HOLIDAY_RUN = 60  # longest run of non-working days a due date may skip (a typo'd list otherwise)

RATE_SCALE = 10**18
RATE_PLACES = 18
YEAR_UNITS = 26280  # lcm(12, 360, 365)
MONTH_UNITS = YEAR_UNITS // 12
_DAY_UNITS = {"act/360": YEAR_UNITS // 360, "act/365": YEAR_UNITS // 365, "30/360": YEAR_UNITS // 360}
_STEP_MONTHS = {"monthly": 1, "quarterly": 3}
_FIRST_YEAR, _LAST_YEAR = 1900, 2999
_RATE_PLACES_SHOWN = Decimal("0.0001")

# What parse_request accepts as a number or a date: ASCII only, no exponent, no grouping.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class ScheduleError(ValueError):
    """Bad input for a schedule; ``message`` is an untranslated N_ string with ``params``."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


@dataclass(frozen=True)
class WorkingDays:
    """Which dates are working days: Monday to Friday, except ``holidays``, plus the weekend
    dates in ``working_weekends`` (调休, a Saturday or Sunday worked in exchange for a holiday)."""

    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()

    def is_working(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.working_weekends

    def next_working(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it."""
        for later in range(MAX_HOLIDAY_RUN + 1):
            moved = date.fromordinal(day.toordinal() + later)
            if self.is_working(moved):
                return moved
        raise ScheduleError(
            N_("No working day within %(days)s days after %(date)s: check the holiday list"),
            {"days": MAX_HOLIDAY_RUN, "date": day.isoformat()},
        )


@dataclass(frozen=True)
class ScheduleRequest:
    """What a schedule is built from. ``term_months`` is ignored for ``custom`` (the dates rule)."""

    principal: Decimal
    annual_rate: Decimal  # a fraction: 0.12 is 12 % a year
    term_months: int
    method: str
    start: date  # disbursement date; interest runs from here
    frequency: str = "monthly"
    first_due: date | None = None  # monthly/quarterly: the first due date, if not one period on
    due_dates: tuple[date, ...] = ()  # custom: every due date, increasing
    day_count: str = "act/360"
    working_days: WorkingDays | None = None  # move due dates off non-working days (see above)


@dataclass(frozen=True)
class Line:
    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    balance: Decimal  # principal still owed after this installment


@dataclass(frozen=True)
class Schedule:
    lines: tuple[Line, ...]
    total_principal: Decimal
    total_interest: Decimal
    total: Decimal
    effective_annual_rate: Decimal  # 4 places, e.g. 0.1268

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: money as "1234.56" strings, dates ISO — the shape schedule.js returns."""
        return {
            "lines": [
                {
                    "seq": ln.seq,
                    "due_date": ln.due_date.isoformat(),
                    "principal": str(ln.principal),
                    "interest": str(ln.interest),
                    "total": str(ln.total),
                    "balance": str(ln.balance),
                }
                for ln in self.lines
            ],
            "total_principal": str(self.total_principal),
            "total_interest": str(self.total_interest),
            "total": str(self.total),
            "effective_annual_rate": str(self.effective_annual_rate),
        }


# --- integer helpers (each one has a twin in static/js/schedule.js) ----------------------

def _div(a: int, b: int) -> int:
    """a / b rounded half-up, for a >= 0 and b > 0 (floor division is then truncation, as in JS)."""
    return (2 * a + b) // (2 * b)


def add_months(anchor: date, months: int) -> date:
    """The anchor's day of month ``months`` later, clamped to the month's end."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def _days_30e_360(d1: date, d2: date) -> int:
    return 360 * (d2.year - d1.year) + 30 * (d2.month - d1.month) + min(d2.day, 30) - min(d1.day, 30)


def _units_between(d1: date, d2: date, day_count: str) -> int:
    days = _days_30e_360(d1, d2) if day_count == "30/360" else (d2 - d1).days
    return days * _DAY_UNITS[day_count]


def _interest(balance: int, rate: int, units: int) -> int:
    return _div(balance * rate * units, YEAR_UNITS * RATE_SCALE)


def _equal_part(principal: int, n: int) -> int:
    part = _div(principal, n)
    # Half-up could leave the last line negative for tiny principals; round down there.
    return part if part * (n - 1) <= principal else principal // n


def _flat_interest(principal: int, rate: int, units: list[int]) -> list[int]:
    """Interest on the original principal: the total is rate x term, rounded once; the last line
    absorbs the per-line rounding (rounded down instead where half-up would overshoot the total)."""
    total = _interest(principal, rate, sum(units))
    lines = [_interest(principal, rate, u) for u in units[:-1]]
    if sum(lines) > total:
        lines = [principal * rate * u // (YEAR_UNITS * RATE_SCALE) for u in units[:-1]]
    return [*lines, total - sum(lines)]


def _level_payment(principal: int, rates: list[int]) -> int:
    """Level installment for the periodic rates ``rates`` (fixed point, RATE_SCALE)."""
    growth, weights = RATE_SCALE, 0
    for rate in reversed(rates):
        weights += growth
        growth = _div(growth * (RATE_SCALE + rate), RATE_SCALE)
    return _div(principal * growth, weights)


# --- input -----------------------------------------------------------------------------

def _exact(value: Decimal, scale: int) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"expected Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeError("expected a finite Decimal")
    return Fraction(value) * scale


def _check_date(value: object) -> date:
    if not isinstance(value, date):
        raise TypeError(f"expected date, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class _Plan:
    principal: int  # fen
    rate: int  # annual, RATE_SCALE
    dues: list[date]
    units: list[int]  # accrual of each period
    pay_units: list[int]  # what the annuity payment and its split assume


def _plan(req: ScheduleRequest) -> _Plan:
    """Validate ``req`` (in the order schedule.js does) and turn it into integers."""
    if req.method not in METHODS:
        raise ScheduleError(N_("Unknown repayment method %(method)s"), {"method": req.method})
    if req.frequency not in FREQUENCIES:
        raise ScheduleError(N_("Unknown repayment frequency %(frequency)s"), {"frequency": req.frequency})
    if req.day_count not in DAY_COUNTS:
        raise ScheduleError(N_("Unknown day count %(day_count)s"), {"day_count": req.day_count})

    fen = _exact(req.principal, 100)
    if fen <= 0:
        raise ScheduleError(N_("The principal must be more than zero"))
    if fen.denominator != 1:
        raise ScheduleError(N_("The principal has fractions of a fen"))
    if fen >= MAX_PRINCIPAL * 100:
        raise ScheduleError(N_("The principal is too large"))
    rate = _exact(req.annual_rate, RATE_SCALE)
    if rate < 0:
        raise ScheduleError(N_("The annual rate cannot be negative"))
    if rate >= RATE_SCALE:
        raise ScheduleError(N_("The annual rate must be below 1: give it as a fraction, 0.12 for 12 per cent"))
    if rate.denominator != 1:
        raise ScheduleError(N_("The annual rate has more than %(places)s decimal places"), {"places": RATE_PLACES})

    start = _check_date(req.start)
    if not _FIRST_YEAR <= start.year <= _LAST_YEAR:  # also keeps 50-year terms inside year 9999
        raise ScheduleError(
            N_("The start date %(date)s is outside the years %(first)s to %(last)s"),
            {"date": start.isoformat(), "first": _FIRST_YEAR, "last": _LAST_YEAR},
        )
    if req.frequency == "custom":
        dues, units = _custom_periods(req, start)
        pay_units = units
    else:
        dues, units = _regular_periods(req, start)
        pay_units = [_STEP_MONTHS[req.frequency] * MONTH_UNITS] * len(units)
    return _Plan(int(fen), int(rate), dues, units, pay_units)


def _regular_periods(req: ScheduleRequest, start: date) -> tuple[list[date], list[int]]:
    step = _STEP_MONTHS[req.frequency]
    if req.due_dates:
        raise ScheduleError(N_("Due dates can only be listed for a custom schedule"))
    term = req.term_months
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= MAX_INSTALLMENTS:
        raise ScheduleError(N_("The term must be between 1 and %(max)s months"), {"max": MAX_INSTALLMENTS})
    if term % step:
        raise ScheduleError(
            N_("A quarterly schedule needs a term in whole quarters; %(term)s months is not"), {"term": term}
        )
    n = term // step
    anchor, offset, broken = start, 1, False
    if req.first_due is not None:
        first = _check_date(req.first_due)
        latest = add_months(start, 2 * step)
        if not start < first <= latest:
            raise ScheduleError(
                N_("The first due date %(date)s must be after the start date and no later than %(latest)s"),
                {"date": first.isoformat(), "latest": latest.isoformat()},
            )
        if first != add_months(start, step):
            anchor, offset, broken = first, 0, True
    dues = [add_months(anchor, (k + offset) * step) for k in range(n)]
    units = [step * MONTH_UNITS] * n
    if broken:
        units[0] = _units_between(start, anchor, req.day_count)
    return dues, units


def _custom_periods(req: ScheduleRequest, start: date) -> tuple[list[date], list[int]]:
    if req.first_due is not None:
        raise ScheduleError(N_("A custom schedule has no separate first due date: list every due date"))
    dues = [_check_date(d) for d in req.due_dates]
    if not dues:
        raise ScheduleError(N_("A custom schedule needs at least one due date"))
    if len(dues) > MAX_INSTALLMENTS:
        raise ScheduleError(N_("A schedule can have at most %(max)s installments"), {"max": MAX_INSTALLMENTS})
    if req.method == "bullet" and len(dues) != 1:
        raise ScheduleError(N_("A bullet loan has exactly one due date, not %(count)s"), {"count": len(dues)})
    previous = start
    units = []
    for due in dues:
        if due <= previous:
            if due <= start:
                raise ScheduleError(
                    N_("The due date %(date)s is not after the start date %(start)s"),
                    {"date": due.isoformat(), "start": start.isoformat()},
                )
            raise ScheduleError(
                N_("The due dates must increase: %(date)s comes after %(previous)s"),
                {"date": due.isoformat(), "previous": previous.isoformat()},
            )
        units.append(_units_between(previous, due, req.day_count))
        previous = due
    return dues, units


def parse_request(data: Mapping[str, Any]) -> ScheduleRequest:
    """A request from form-like data — the object ``Schedule.build`` takes in schedule.js.

    Numbers are strings such as "10000.00" or "0.12" (Decimal and int pass through), dates
    "YYYY-MM-DD" (date passes through); missing keys take the defaults.
    """
    return ScheduleRequest(
        principal=_parse_number(data.get("principal"), N_("%(text)s is not a valid amount")),
        annual_rate=_parse_number(data.get("annual_rate"), N_("%(text)s is not a valid annual rate")),
        term_months=_parse_term(data.get("term_months")),
        method=str(data.get("method") or ""),
        start=_parse_date(data.get("start")),
        frequency=str(data.get("frequency") or "monthly"),
        first_due=None if data.get("first_due") in (None, "") else _parse_date(data.get("first_due")),
        due_dates=tuple(_parse_date(d) for d in (data.get("due_dates") or ())),
        day_count=str(data.get("day_count") or "act/360"),
    )


def _parse_number(value: object, message: str) -> Decimal:
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return Decimal(value)
    text = value.strip() if isinstance(value, str) else ""
    if not _NUMBER.fullmatch(text):
        raise ScheduleError(message, {"text": value if isinstance(value, str) else ""})
    return Decimal(text)


def _parse_term(value: object) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value.strip()):
        return int(value)
    raise ScheduleError(N_("The term must be a whole number of months"))


def _parse_date(value: object) -> date:
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ScheduleError(
            N_("%(text)s is not a date (YYYY-MM-DD)"), {"text": value if isinstance(value, str) else ""}
        ) from None


# --- the schedule ----------------------------------------------------------------------

def _lines_fen(plan: _Plan, method: str) -> list[tuple[date, int, int]]:
    """(due date, principal fen, interest fen) per installment."""
    p, rate, n = plan.principal, plan.rate, len(plan.dues)
    if method == "bullet":
        # Simple interest over the whole term, paid once with the principal.
        return [(plan.dues[-1], p, _interest(p, rate, sum(plan.units)))]
    part = _equal_part(p, n)
    pay_rates = [_div(rate * u, YEAR_UNITS) for u in plan.pay_units]
    zero_rate = not any(pay_rates)
    payment = part if zero_rate else _level_payment(p, pay_rates)
    flat = _flat_interest(p, rate, plan.units) if method == "flat" else []
    lines = []
    balance = p
    for k in range(n):
        interest = flat[k] if method == "flat" else _interest(balance, rate, plan.units[k])
        if k == n - 1:
            principal = balance
        elif method in ("equal_principal", "flat"):
            principal = part
        elif method == "interest_only":
            principal = 0
        else:  # annuity
            regular_interest = _interest(balance, rate, plan.pay_units[k])
            principal = min(balance, max(0, payment - regular_interest))
        balance -= principal
        lines.append((plan.dues[k], principal, interest))
    return lines


def _money(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _raw_lines(req: ScheduleRequest) -> tuple[_Plan, list[tuple[date, int, int]]]:
    plan = _plan(req)
    raw = _lines_fen(plan, req.method)
    if req.working_days is not None:
        raw = [(req.working_days.next_working(due), principal, interest) for due, principal, interest in raw]
    return plan, raw


def schedule_fen(req: ScheduleRequest) -> list[tuple[int, date, int, int]]:
    """The lines of ``build_schedule(req)`` as (seq, due date, principal fen, interest fen), without
    the effective annual rate or any Decimal: what a bulk import needs (the same ``_raw_lines``, so
    the same fen; tests/unit/test_schedule.py checks it against ``build_schedule``)."""
    return [(seq, due, principal, interest) for seq, (due, principal, interest) in enumerate(_raw_lines(req)[1], 1)]


def build_schedule(req: ScheduleRequest) -> Schedule:
    """The repayment schedule for ``req``; ScheduleError (N_ message) for bad input."""
    plan, raw = _raw_lines(req)
    lines = []
    balance = plan.principal
    for seq, (due, principal, interest) in enumerate(raw, 1):
        balance -= principal
        lines.append(Line(seq, due, _money(principal), _money(interest),
                          _money(principal + interest), _money(balance)))
    total_interest = sum(i for _, _, i in raw)
    flows = [((due - req.start).days, principal + interest) for due, principal, interest in raw]
    return Schedule(
        lines=tuple(lines),
        total_principal=_money(plan.principal),
        total_interest=_money(total_interest),
        total=_money(plan.principal + total_interest),
        effective_annual_rate=_effective_rate(plan.principal, flows),
    )


def _effective_rate(principal: int, flows: list[tuple[int, int]]) -> Decimal:
    """y with sum(c / (1+y)^(days/365)) = principal, to 4 places (see the module docstring)."""
    if sum(c for _, c in flows) == principal:
        return Decimal("0.0000")
    with localcontext() as ctx:
        ctx.prec = 24  # ample for 4 places; exp() is what a schedule costs
        times = [(Decimal(days) / 365, Decimal(c)) for days, c in flows if c]
        target = Decimal(principal)

        def npv(y: Decimal) -> tuple[Decimal, Decimal]:
            log = (1 + y).ln()
            value = slope = Decimal(0)
            for t, c in times:
                pv = c * (-t * log).exp()
                value += pv
                slope -= t * pv
            return value - target, slope / (1 + y)

        # Start from the simple-interest yield over the cash-weighted mean time. NPV is convex and
        # decreasing in y, and interest is never negative, so the root is >= 0: Newton from either
        # side lands left of it and climbs monotonically; bisect only if a step falls below 0.
        paid = sum(c for _, c in times)
        mean_time = sum(t * c for t, c in times) / paid
        y = (paid / target - 1) / mean_time
        lo, hi = Decimal(0), y
        for _ in range(100):
            value, slope = npv(y)
            if value > 0:
                lo = y
            else:
                hi = y
            nxt = y - value / slope
            if nxt <= lo:
                nxt = (lo + hi) / 2
            if abs(nxt - y) < Decimal("1e-10"):
                y = nxt
                break
            y = nxt
    return y.quantize(_RATE_PLACES_SHOWN, rounding=ROUND_HALF_UP)
