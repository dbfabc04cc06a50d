"""The integer replay (``replay_fen``, and ``replay`` now built on it) gives exactly what the
Decimal replay gave: the reference below is the previous implementation, kept verbatim."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import repayment as rp
from app.domain.schedule import ScheduleRequest, build_schedule, schedule_fen

START = date(2025, 6, 10)


# --- the previous (Decimal) implementation -----------------------------------------------------

def _ref_penalty_from_basis(basis: int, rate: Decimal) -> Decimal:
    millionths = int((rate * rp.RATE_UNITS).to_integral_value())
    den = rp.PENALTY_DAYS_PER_YEAR * rp.RATE_UNITS
    return rp._yuan((2 * basis * millionths + den) // (2 * den))


@dataclass
class _RefInstallment:
    seq: int
    due_date: date
    principal_due: int
    interest_due: int
    principal_paid: int = 0
    interest_paid: int = 0
    penalty_basis: int = 0
    penalty_paid: int = 0
    paid_off_on: date | None = None

    def penalty_due(self, rate: Decimal) -> int:
        return rp._fen(_ref_penalty_from_basis(self.penalty_basis, rate)) - self.penalty_paid

    def settled(self, rate: Decimal) -> bool:
        return (self.principal_paid >= self.principal_due and self.interest_paid >= self.interest_due
                and self.penalty_due(rate) <= 0)


def _ref_accrue(items, start, end):
    if end <= start:
        return
    for i in items:
        first = max(start, i.due_date)
        if i.due_date < end and first < end:
            i.penalty_basis += (i.principal_due - i.principal_paid) * (end - first).days


def _ref_allocate(items, fen, on, rate, order):
    parts = []
    overdue = [i for i in items if i.due_date < on]
    current = [i for i in items if i.due_date >= on and not i.settled(rate)][:1]

    def take(i, component, owed, attr):
        nonlocal fen
        amount = min(fen, max(owed, 0))
        if amount:
            setattr(i, attr, getattr(i, attr) + amount)
            fen -= amount
            parts.append((i.seq, component, amount))

    for component in order:
        if component == "penalty":
            for i in items:
                take(i, component, i.penalty_due(rate), "penalty_paid")
        else:
            when, what = component.split("_")
            for i in (overdue if when == "overdue" else current):
                if what == "interest":
                    take(i, component, i.interest_due - i.interest_paid, "interest_paid")
                else:
                    take(i, component, i.principal_due - i.principal_paid, "principal_paid")
    for i in reversed(items):
        if not fen:
            break
        if i.due_date < on or i in current:
            continue
        take(i, "prepaid_principal", i.principal_due - i.principal_paid, "principal_paid")
        if i.principal_paid >= i.principal_due and i.interest_paid == 0:
            i.interest_due = 0
    if fen:
        parts.append((0, "unapplied", fen))
    for i in items:
        if i.paid_off_on is None and i.settled(rate):
            i.paid_off_on = on
    return parts


def _ref_replay(schedule, payments, *, penalty_rate, as_of, start, order):
    order = rp.validate_order(order)
    items = [_RefInstallment(seq, due, rp._fen(p), rp._fen(i)) for seq, due, p, i in schedule]
    allocations = {}
    cursor = start
    closed_on = None
    for pay in sorted((p for p in payments if p.paid_on <= as_of), key=lambda p: (p.paid_on, p.key)):
        _ref_accrue(items, cursor, pay.paid_on)
        cursor = max(cursor, pay.paid_on)
        allocations[pay.key] = _ref_allocate(items, rp._fen(pay.amount), pay.paid_on, penalty_rate, order)
    _ref_accrue(items, cursor, as_of)
    if all(i.settled(penalty_rate) for i in items) and items:
        closed_on = max((i.paid_off_on for i in items if i.paid_off_on), default=None)
    return items, allocations, closed_on


# --- equality on random loans -------------------------------------------------------------------

def _state(i) -> tuple:
    return (i.seq, i.due_date, i.principal_due, i.interest_due, i.principal_paid, i.interest_paid,
            i.penalty_basis, i.penalty_paid, i.paid_off_on)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    principal=st.integers(min_value=1, max_value=10**9),
    rate=st.integers(min_value=0, max_value=360_000).map(lambda m: Decimal(m) / 1_000_000),
    term=st.integers(min_value=1, max_value=36),
    method=st.sampled_from(("annuity", "equal_principal", "interest_only", "bullet", "flat")),
    # penalty rates: none (the usual case), ordinary, and ones with more than 6 places (rounded alike)
    penalty=st.one_of(st.just(Decimal(0)), st.integers(0, 500_000).map(lambda m: Decimal(m) / 1_000_000),
                      st.integers(0, 5 * 10**9).map(lambda m: Decimal(m) / 10**10)),
    raw=st.lists(st.tuples(st.integers(0, 1200), st.integers(1, 10**8), st.integers(0, 3)), max_size=12),
    as_of_days=st.integers(min_value=0, max_value=1500),
    order=st.permutations(rp.COMPONENTS),
)
def test_integer_replay_equals_the_decimal_replay(principal, rate, term, method, penalty, raw, as_of_days, order):
    req = ScheduleRequest(Decimal(principal) / 100, rate, term, method, START)
    lines = [(ln.seq, ln.due_date, ln.principal, ln.interest) for ln in build_schedule(req).lines]
    # keys repeat on purpose sometimes (several payments of one day keep their given order)
    payments = [rp.Payment(k, START + timedelta(days=d), Decimal(f) / 100) for d, f, k in raw]
    as_of = START + timedelta(days=as_of_days)
    kw = dict(penalty_rate=penalty, as_of=as_of, start=START, order=order)
    ref_items, ref_alloc, ref_closed = _ref_replay(lines, payments, **kw)
    slow = rp.replay(lines, payments, **kw)
    fast = rp.replay_fen(schedule_fen(req), [(p.key, p.paid_on, int(p.amount * 100)) for p in payments], **kw)
    for pos in (slow, fast):
        assert [_state(i) for i in pos.installments] == [_state(i) for i in ref_items]
        assert pos.allocations == ref_alloc
        assert pos.closed_on == ref_closed and pos.as_of == as_of
        for i, r in zip(pos.installments, ref_items):
            assert i.penalty_due(penalty) == r.penalty_due(penalty)
            assert i.settled(penalty) == r.settled(penalty)


@given(st.integers(min_value=0, max_value=10**15),
       st.integers(min_value=0, max_value=10**12).map(lambda m: Decimal(m) / 10**10))
def test_penalty_in_integers_equals_the_decimal_penalty(basis, rate):
    assert rp.penalty_from_basis(basis, rate) == _ref_penalty_from_basis(basis, rate)
    assert rp.penalty_fen(basis, rp.rate_millionths(rate)) == rp._fen(_ref_penalty_from_basis(basis, rate))
