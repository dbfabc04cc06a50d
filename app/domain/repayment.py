"""Repayments against a schedule: allocation, penalty interest (罚息), days past due, classification.

A loan's position is a pure function of its schedule and its (non-reversed) repayments:
``replay`` starts from the schedule and applies the payments in date order, accruing penalty in
between. Recording a repayment, reversing one, or one dated before the last accrual all simply
replay — so "everything after it is re-allocated" holds by construction.

Penalty interest runs on overdue principal only, day by day, at the loan's annual penalty rate on
an actual/360 basis. It is kept exactly as a *basis*: overdue principal in fen times days, summed
as an integer; the money figure is derived by one half-up rounding
(``penalty_from_basis``). Accruing three days at once therefore gives the same fen as accruing
them one by one, which is what lets the daily job catch up missed days with set-based SQL.

Allocation order (configurable per product): penalty → overdue interest → overdue principal →
current interest → current principal, oldest installment first. "Overdue" means due before the
payment date; "current" is the first installment due on or after it. Anything left prepays
principal from the last installment backwards; an installment whose principal is fully prepaid
owes no interest (its period will not run), so the term shortens and nothing is lost.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.domain.i18n import N_

__all__ = [
    "CLASSES",
    "COMPONENTS",
    "DEFAULT_CLASS_DAYS",
    "InstallmentPosition",
    "Payment",
    "Position",
    "RepaymentSplit",
    "ScheduleRow",
    "classify",
    "penalty_fen",
    "penalty_from_basis",
    "rate_millionths",
    "replay",
    "replay_fen",
    "schedule_rows",
    "split_allocation",
    "validate_order",
]

COMPONENTS: tuple[str, ...] = (
    "penalty", "overdue_interest", "overdue_principal", "current_interest", "current_principal",
)
PENALTY_DAYS_PER_YEAR = 360
RATE_UNITS = 1_000_000  # rates are stored in millionths (app.models.types.Rate)

# Five-category classification (五级分类) by days past due: the first day of each class.
CLASSES: tuple[str, ...] = ("normal", "special_mention", "substandard", "doubtful", "loss")
CLASS_LABELS = {
    "normal": N_("Normal"), "special_mention": N_("Special mention"), "substandard": N_("Substandard"),
    "doubtful": N_("Doubtful"), "loss": N_("Loss"),
}
DEFAULT_CLASS_DAYS: tuple[int, int, int, int] = (1, 91, 181, 361)


def _fen(d: Decimal) -> int:
    return int((d * 100).to_integral_value())


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def rate_millionths(rate: Decimal) -> int:
    """The penalty rate as the integer ``penalty_from_basis`` computes with (millionths a year)."""
    return int((rate * RATE_UNITS).to_integral_value())


def penalty_fen(basis: int, millionths: int) -> int:
    """``penalty_from_basis`` in fen, all integer: half-up of basis x rate / 360."""
    den = PENALTY_DAYS_PER_YEAR * RATE_UNITS
    return (2 * basis * millionths + den) // (2 * den)


def penalty_from_basis(basis: int, rate: Decimal) -> Decimal:
    """Penalty in yuan for ``basis`` fen-days at ``rate`` a year (actual/360), half-up to the fen."""
    return _yuan(penalty_fen(basis, rate_millionths(rate)))


def classify(days_past_due: int, class_days: Sequence[int] = DEFAULT_CLASS_DAYS) -> str:
    cls = "normal"
    for name, first_day in zip(CLASSES[1:], class_days):
        if days_past_due >= first_day:
            cls = name
    return cls


def validate_order(order: Sequence[str]) -> tuple[str, ...]:
    """An allocation order must name every component once; empty means the default."""
    if not order:
        return COMPONENTS
    if sorted(order) != sorted(COMPONENTS):
        raise ValueError(f"allocation order must be a permutation of {COMPONENTS}")
    return tuple(order)


@dataclass(frozen=True)
class Payment:
    key: int  # the repayment's id: the order among payments of one day
    paid_on: date
    amount: Decimal


@dataclass
class InstallmentPosition:
    seq: int
    due_date: date
    principal_due: int  # all amounts in fen
    interest_due: int
    principal_paid: int = 0
    interest_paid: int = 0
    penalty_basis: int = 0
    penalty_paid: int = 0
    paid_off_on: date | None = None

    def penalty_due(self, rate: Decimal) -> int:
        return self._penalty_due(rate_millionths(rate))

    def settled(self, rate: Decimal) -> bool:
        return self._settled(rate_millionths(rate))

    # The same in integers, with the rate already in millionths (what replay computes with).
    def _penalty_due(self, millionths: int) -> int:
        return penalty_fen(self.penalty_basis, millionths) - self.penalty_paid

    def _settled(self, millionths: int) -> bool:
        return (self.principal_paid >= self.principal_due and self.interest_paid >= self.interest_due
                and penalty_fen(self.penalty_basis, millionths) <= self.penalty_paid)


@dataclass
class Position:
    installments: list[InstallmentPosition]
    as_of: date
    # Per payment key: [(seq, component, fen)] and the principal it prepaid.
    allocations: dict[int, list[tuple[int, str, int]]] = field(default_factory=dict)
    closed_on: date | None = None

    def outstanding(self, rate: Decimal) -> Decimal:
        fen = sum(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid + max(i.penalty_due(rate), 0)
                  for i in self.installments)
        return _yuan(fen)

    def days_past_due(self) -> int:
        """Days since the oldest installment due before ``as_of`` that is not paid (penalty aside)."""
        late = [i.due_date for i in self.installments
                if i.due_date < self.as_of and (i.principal_paid < i.principal_due or i.interest_paid < i.interest_due)]
        return (self.as_of - min(late)).days if late else 0


def _accrue(items: list[InstallmentPosition], start: date, end: date) -> None:
    """Add overdue principal x days for every day in [start, end)."""
    if end <= start:
        return
    for i in items:
        first = max(start, i.due_date)
        if i.due_date < end and first < end:
            i.penalty_basis += (i.principal_due - i.principal_paid) * (end - first).days


def replay(
    schedule: Sequence[tuple[int, date, Decimal, Decimal]],
    payments: Sequence[Payment],
    *,
    penalty_rate: Decimal,
    as_of: date,
    start: date,
    order: Sequence[str] = COMPONENTS,
) -> Position:
    """The position on ``as_of`` (penalty accrued up to, not including, that day).

    ``schedule`` holds (seq, due date, principal, interest); ``start`` is the disbursement date.
    Payments dated after ``as_of`` are ignored.
    """
    return replay_fen([(seq, due, _fen(p), _fen(i)) for seq, due, p, i in schedule],
                      [(p.key, p.paid_on, _fen(p.amount)) for p in payments],
                      penalty_rate=penalty_rate, as_of=as_of, start=start, order=order)


def replay_fen(
    schedule: Sequence[tuple[int, date, int, int]],
    payments: Sequence[tuple[int, date, int]],
    *,
    penalty_rate: Decimal,
    as_of: date,
    start: date,
    order: Sequence[str] = COMPONENTS,
) -> Position:
    """``replay`` with the schedule as (seq, due date, principal fen, interest fen) and the payments
    as (key, paid on, fen): the same position, computed in integers only (``replay`` converts and
    calls this; a bulk import calls it directly with ``schedule.schedule_fen``'s lines)."""
    order = validate_order(order)
    millionths = rate_millionths(penalty_rate)
    items = [InstallmentPosition(seq, due, p, i) for seq, due, p, i in schedule]
    pos = Position(items, as_of)
    cursor = start
    for key, paid_on, fen in sorted((p for p in payments if p[1] <= as_of), key=lambda p: (p[1], p[0])):
        _accrue(items, cursor, paid_on)
        cursor = max(cursor, paid_on)
        pos.allocations[key] = _allocate(items, fen, paid_on, millionths, order)
    _accrue(items, cursor, as_of)
    if all(i._settled(millionths) for i in items) and items:
        pos.closed_on = max((i.paid_off_on for i in items if i.paid_off_on), default=None)
    return pos


def _allocate(items: list[InstallmentPosition], fen: int, on: date, millionths: int,
              order: Sequence[str]) -> list[tuple[int, str, int]]:
    parts: list[tuple[int, str, int]] = []
    overdue = [i for i in items if i.due_date < on]
    current: list[InstallmentPosition] = []  # the first installment due on or after ``on`` not yet settled
    for i in items:
        if i.due_date >= on and not i._settled(millionths):
            current.append(i)
            break

    def take(i: InstallmentPosition, component: str, owed: int, attr: str) -> None:
        nonlocal fen
        amount = min(fen, max(owed, 0))
        if amount:
            setattr(i, attr, getattr(i, attr) + amount)
            fen -= amount
            parts.append((i.seq, component, amount))

    for component in order:
        if component == "penalty":
            for i in items:
                take(i, component, i._penalty_due(millionths), "penalty_paid")
        else:
            when, what = component.split("_")
            for i in (overdue if when == "overdue" else current):
                if what == "interest":
                    take(i, component, i.interest_due - i.interest_paid, "interest_paid")
                else:
                    take(i, component, i.principal_due - i.principal_paid, "principal_paid")
    # Prepayment: principal of the last installments first; a fully prepaid one owes no interest.
    # The walk goes on while every later installment is fully prepaid, money left or not: an
    # installment with no principal of its own (interest-only, before the last) behind fully
    # prepaid ones owes no interest either — paying exactly the principal left closes the loan.
    for i in reversed(items):
        if i.due_date < on or i in current:
            continue
        take(i, "prepaid_principal", i.principal_due - i.principal_paid, "principal_paid")
        if i.principal_paid < i.principal_due:
            break  # the money ran out here: this one and the earlier ones keep their interest
        if i.interest_paid == 0:
            i.interest_due = 0
    if fen:
        parts.append((0, "unapplied", fen))  # more than everything owed: kept, shown, refunded by hand
    for i in items:
        if i.paid_off_on is None and i._settled(millionths):
            i.paid_off_on = on
    return parts



# --- What the loan page shows: each installment's total and the balance after it; each payment's split.

@dataclass(frozen=True)
class ScheduleRow:
    seq: int
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    total: Decimal  # principal + interest + penalty of this installment
    balance: Decimal  # principal still owed once this installment (and all before it) is paid


def schedule_rows(principal: Decimal, installments: Sequence[tuple[int, Decimal, Decimal, Decimal]]) -> list[ScheduleRow]:
    """Rows of (seq, principal due, interest due, penalty accrued), in seq order, with their total and
    the remaining principal after each one, computed in fen: the principals of a schedule sum to the
    loan's principal, so the last balance is exactly zero."""
    balance = _fen(principal)
    rows = []
    for seq, p, i, pen in sorted(installments, key=lambda row: row[0]):
        pf, inf, penf = _fen(p), _fen(i), _fen(pen)
        balance -= pf
        rows.append(ScheduleRow(seq, _yuan(pf), _yuan(inf), _yuan(penf), _yuan(pf + inf + penf), _yuan(balance)))
    return rows


@dataclass(frozen=True)
class RepaymentSplit:
    penalty: Decimal
    interest: Decimal
    principal: Decimal  # due principal and prepaid principal
    prepaid: Decimal  # of which principal paid ahead of its due date
    unapplied: Decimal  # more than everything owed: kept, refunded by hand

    @property
    def total(self) -> Decimal:
        return self.penalty + self.interest + self.principal + self.unapplied


def split_allocation(parts: Sequence[Sequence]) -> RepaymentSplit:
    """Sum an allocation's [(seq, component, fen)] (as ``replay`` makes them, and as a repayment
    stores them) into penalty, interest and principal; the four add up to the payment exactly."""
    fen = {"penalty": 0, "interest": 0, "principal": 0, "prepaid": 0, "unapplied": 0}
    for _seq, component, amount in parts:
        if component == "penalty" or component == "unapplied":
            fen[component] += amount
        elif component == "prepaid_principal":
            fen["principal"] += amount
            fen["prepaid"] += amount
        elif component.endswith("_interest"):
            fen["interest"] += amount
        elif component.endswith("_principal"):
            fen["principal"] += amount
        else:
            raise ValueError(f"unknown allocation component {component!r}")
    return RepaymentSplit(**{k: _yuan(v) for k, v in fen.items()})
