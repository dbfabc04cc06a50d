"""A loan's balances per role (app/domain/loan_books.py): any state's figures sum to zero, so the
difference of two states is a balanced entry."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain import ledger as books
from app.domain import loan_books as lb

fen = st.integers(0, 10_000_000)


@st.composite
def states(draw) -> lb.LoanBookState:
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        due, paid = draw(fen), draw(fen)
        interest_due = draw(fen)
        interest_paid = draw(st.integers(0, interest_due))
        carried = draw(st.integers(0, interest_due))
        recognised = draw(st.integers(0, interest_due))
        accrued = draw(fen)
        rows.append(lb.InstallmentBooks(
            principal_due=due, principal_paid=min(paid, due), interest_due=interest_due, interest_paid=interest_paid,
            interest_recognised=lb.recognised(lb.InstallmentBooks(0, 0, interest_due, interest_paid, recognised, 0, 0, carried)),
            penalty_accrued=accrued, penalty_paid=draw(st.integers(0, accrued)), interest_carried=carried))
    allocated = sum(r.principal_paid + r.interest_paid + r.penalty_paid for r in rows)
    over = draw(st.integers(0, 100))
    channels = st.sampled_from(["cash", "bank_transfer", "mobile_payment", "field"])
    # Repayments that add up to what was allocated plus an overpayment, split at random.
    total, pays = allocated + over, []
    while total > 0:
        part = draw(st.integers(1, total))
        pays.append((draw(channels), part))
        total -= part
    status = draw(st.sampled_from(["active", "closed", "written_off"]))
    base = lb.LoanBookState(basis=draw(st.sampled_from(["accrual", "cash"])), status="active",
                            disbursed=sum(r.principal_due for r in rows), disbursement_channel=draw(channels),
                            installments=tuple(rows), repayments=tuple(pays))
    if status != "written_off":
        return base
    before = lb.figures(base)
    wp = before.get("loan_principal", 0)
    wi = before.get("interest_receivable", 0) + before.get("penalty_receivable", 0)
    recovered = draw(st.integers(0, max(wp + wi, 0)))
    return lb.LoanBookState(**{**base.__dict__, "status": "written_off", "written_off_principal": wp,
                               "written_off_interest": wi, "recoveries": (("cash", recovered),) if recovered else ()})


@given(states())
def test_every_state_balances(state):
    fig = lb.figures(state)
    assert sum(fig.values()) == 0
    assert set(fig) <= set(books.ROLES)


@given(states(), states())
def test_the_difference_of_two_states_is_a_balanced_entry(a, b):
    delta = lb.difference(lb.figures(a), lb.figures(b))
    if delta:
        books.check_balanced(books.lines_from_deltas(delta))


@given(states())
def test_an_opening_entry_balances_and_holds_only_balances(state):
    opening = lb.opening(lb.figures(state))
    assert sum(opening.values()) == 0
    assert set(opening) <= set(lb.BALANCE_ROLES) | {"opening_balance"}


@given(states())
def test_a_written_off_loan_is_off_the_balance_sheet(state):
    fig = lb.figures(state)
    if state.status == "written_off":
        assert fig.get("loan_principal", 0) == fig.get("interest_receivable", 0) == 0
        assert fig.get("written_off_memo", 0) == -fig.get("written_off_contra", 0) >= 0


@given(st.integers(0, 10**7), st.data())
def test_interest_accrues_pro_rata_and_never_past_what_is_due(due, data):
    carried = data.draw(st.integers(0, due))
    period = data.draw(st.integers(1, 400))
    days = data.draw(st.lists(st.integers(-5, 450), min_size=2, max_size=6).map(sorted))
    values = [lb.accrued_by_time(due, carried, d, period) for d in days]
    assert values == sorted(values)  # never goes back
    assert all(carried <= v <= due for v in values)
    assert lb.accrued_by_time(due, carried, period, period) == due


def test_cash_basis_recognises_interest_when_paid():
    row = lb.InstallmentBooks(principal_due=100_00, principal_paid=50_00, interest_due=10_00, interest_paid=4_00,
                              interest_recognised=9_00, penalty_accrued=2_00, penalty_paid=1_00)
    cash = lb.figures(lb.LoanBookState("cash", "active", 100_00, "cash", installments=(row,),
                                       repayments=(("cash", 55_00),)))
    accrual = lb.figures(lb.LoanBookState("accrual", "active", 100_00, "cash", installments=(row,),
                                          repayments=(("cash", 55_00),)))
    assert cash["interest_income"] == -4_00 and "interest_receivable" not in cash
    assert accrual["interest_income"] == -9_00 and accrual["interest_receivable"] == 5_00
    assert accrual["penalty_receivable"] == 1_00 and accrual["loan_principal"] == 50_00
