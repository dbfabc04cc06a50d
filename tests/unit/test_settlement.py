"""The early settlement quote (app/domain/settlement.py): paid on its day, it settles every
installment with nothing left over, and one fen less does not — over random loans, repayments,
allocation orders and days."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import repayment as rp
from app.domain.schedule import ScheduleRequest, build_schedule
from app.domain.settlement import quote

START = date(2026, 1, 15)


def _fen(d: Decimal) -> int:
    return int(d * 100)


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(min_value=100000, max_value=5000000).map(lambda f: Decimal(f) / 100),
    term=st.integers(min_value=1, max_value=24),
    method=st.sampled_from(("annuity", "equal_principal", "interest_only", "bullet", "flat")),
    rate=st.sampled_from((Decimal("0.0960"), Decimal("0.1200"), Decimal("0.0435"))),
    penalty=st.sampled_from((Decimal("0"), Decimal("0.1440"), Decimal("0.1825"))),
    paid=st.lists(st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=400000)),
                  max_size=5),
    after=st.integers(min_value=0, max_value=400),
    order=st.permutations(rp.COMPONENTS),
)
def test_the_quote_settles_the_loan_on_its_day_to_the_fen(principal, term, method, rate, penalty, paid, after, order):
    lines = build_schedule(ScheduleRequest(principal=principal, annual_rate=rate, term_months=term, method=method,
                                           start=START)).lines
    schedule = [(ln.seq, ln.due_date, _fen(ln.principal), _fen(ln.interest)) for ln in lines]
    payments = [(k + 1, START + timedelta(days=d), fen) for k, (d, fen) in enumerate(sorted(paid))]
    last = max([START, *(p[1] for p in payments)])
    on = last + timedelta(days=after)
    before = rp.replay_fen(schedule, payments, penalty_rate=penalty, as_of=on, start=START, order=order)
    if before.closed_on is not None:
        return  # already repaid: nothing to quote (the service refuses a closed loan)
    q = quote(schedule, payments, penalty_rate=penalty, start=START, on=on, order=order)
    assert q.total > 0 and min(q.principal, q.interest, q.penalty) >= 0
    assert q.principal == sum(i.principal_due - i.principal_paid for i in before.installments)
    # Paid that day, after the standing payments (a new repayment's id is the largest): closed, nothing unapplied.
    key = len(payments) + 1
    paid_off = rp.replay_fen(schedule, [*payments, (key, on, q.total)], penalty_rate=penalty, as_of=on, start=START,
                             order=order)
    assert paid_off.closed_on is not None
    assert not [p for p in paid_off.allocations[key] if p[1] == "unapplied"]
    # One fen less leaves something owed.
    short = rp.replay_fen(schedule, [*payments, (key, on, q.total - 1)], penalty_rate=penalty, as_of=on, start=START,
                          order=order)
    assert short.closed_on is None


def test_a_fresh_loan_settled_on_its_first_day_owes_its_principal_only():
    lines = build_schedule(ScheduleRequest(principal=Decimal("15000"), annual_rate=Decimal("0.096"), term_months=12,
                                           method="annuity", start=START)).lines
    schedule = [(ln.seq, ln.due_date, _fen(ln.principal), _fen(ln.interest)) for ln in lines]
    q = quote(schedule, [], penalty_rate=Decimal("0.144"), start=START, on=START)
    # The first installment is current: its interest is owed in full under the engine's rules.
    assert (q.principal, q.interest, q.penalty) == (1500000, schedule[0][3], 0)
