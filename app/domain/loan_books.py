"""What a loan holds in the books: its balance per ledger role, from its state alone.

Pure: no Flask, no database. ``app.services.ledger_loans`` reads a loan into a ``LoanBookState``,
asks ``figures`` before and after an event, and posts the difference: an entry is balanced by
construction, because the figures of any state sum to zero (the money that came in, less what
went out, is exactly what the loan's accounts hold).

Signs: + is a debit balance, - a credit balance, in integer fen. The roles are
``app.domain.ledger.ROLES``; "channel:<name>" is the money account the cash moved through.

- Principal: scheduled principal (the disbursed amount plus any capitalised interest) less repaid.
- Interest receivable (accrual basis): interest recognised less interest paid. Recognition runs day
  by day (the daily job) and jumps to what was paid when a borrower pays ahead of it; it never
  exceeds the installment's interest due (a prepayment that cancels interest un-recognises it).
  On a cash basis interest is recognised when paid: nothing is receivable.
- Penalty interest: recognised as accrued (accrual basis) or when paid (cash basis).
- Income: all interest and penalty recognised (capitalised interest counts as interest income:
  it was earned and is now owed as principal).
- A written-off loan has nothing on the balance sheet: what was written off is charged to the
  loan loss allowance and tracked off-balance (memo and contra) until recovered; recoveries are
  income of their own.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The roles that are balances a loan carries (an opening entry brings them in from earlier books);
# the others (money, income) are flows.
BALANCE_ROLES = ("loan_principal", "interest_receivable", "penalty_receivable", "overpayment",
                 "loan_loss_allowance", "written_off_memo", "written_off_contra")


@dataclass(frozen=True)
class InstallmentBooks:
    principal_due: int
    principal_paid: int
    interest_due: int
    interest_paid: int
    interest_recognised: int
    penalty_accrued: int
    penalty_paid: int
    interest_carried: int = 0


@dataclass(frozen=True)
class LoanBookState:
    basis: str  # "accrual" | "cash"
    status: str  # "active" | "closed" | "written_off"
    disbursed: int  # the amount paid out (fen)
    disbursement_channel: str
    capitalized: int = 0
    installments: tuple[InstallmentBooks, ...] = ()
    repayments: tuple[tuple[str, int], ...] = ()  # (channel, fen) of each standing repayment
    recoveries: tuple[tuple[str, int], ...] = ()  # (channel, fen) after a write-off
    written_off_principal: int = 0
    written_off_interest: int = 0


def recognised(i: InstallmentBooks) -> int:
    """An installment's interest recognised once an event has touched it (accrual basis): at least
    what was paid or carried over, at most what is due."""
    return min(i.interest_due, max(i.interest_recognised, i.interest_paid, i.interest_carried))


def accrued_by_time(interest_due: int, carried: int, elapsed_days: int, period_days: int) -> int:
    """Interest an installment has earned ``elapsed_days`` days into its period of
    ``period_days``: what was carried into it plus the rest pro rata, rounded down to the fen (the
    last day brings it to the full amount). The daily job's SQL computes the same."""
    if period_days <= 0 or elapsed_days >= period_days:
        return interest_due
    if elapsed_days <= 0:
        return carried
    return carried + (interest_due - carried) * elapsed_days // period_days


def figures(s: LoanBookState) -> dict[str, int]:
    """The loan's balance per role (fen, + debit / - credit); the values sum to zero."""
    f: dict[str, int] = {}

    def add(role: str, fen: int) -> None:
        f[role] = f.get(role, 0) + fen

    add(f"channel:{s.disbursement_channel}", -s.disbursed)
    received = 0
    for channel, fen in s.repayments:
        add(f"channel:{channel}", fen)
        received += fen
    pp = sum(i.principal_paid for i in s.installments)
    ip = sum(i.interest_paid for i in s.installments)
    penp = sum(i.penalty_paid for i in s.installments)
    if s.basis == "cash":
        rec_i, rec_p = ip, penp
    else:
        rec_i = sum(i.interest_recognised for i in s.installments)
        rec_p = sum(i.penalty_accrued for i in s.installments)
    add("overpayment", -(received - pp - ip - penp))
    add("interest_income", -(rec_i + s.capitalized))
    add("penalty_income", -rec_p)
    principal = sum(i.principal_due for i in s.installments) - pp
    interest, penalty = rec_i - ip, rec_p - penp
    if s.status == "written_off":
        written = s.written_off_principal + s.written_off_interest
        add("loan_loss_allowance", written)
        recovered = 0
        for channel, fen in s.recoveries:
            add(f"channel:{channel}", fen)
            recovered += fen
        add("recovery_income", -recovered)
        remaining = max(written - recovered, 0)
        add("written_off_memo", remaining)
        add("written_off_contra", -remaining)
        # What the write-off took off the balance sheet is what stood there: the rest of the
        # state (installments, repayments) no longer moves.
        add("loan_principal", principal - s.written_off_principal)
        add("interest_receivable", interest + penalty - s.written_off_interest)
    else:
        add("loan_principal", principal)
        add("interest_receivable", interest)
        add("penalty_receivable", penalty)
    return {role: fen for role, fen in f.items() if fen}


def difference(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Per role, what moved from ``before`` to ``after`` (the entry an event posts)."""
    roles = list(dict.fromkeys([*before, *after]))
    return {r: after.get(r, 0) - before.get(r, 0) for r in roles if after.get(r, 0) != before.get(r, 0)}


def opening(fig: dict[str, int]) -> dict[str, int]:
    """The opening entry of a loan taken over from earlier books: its balances, against the
    opening balance account (the flows of the past are not ours to book)."""
    held = {r: v for r, v in fig.items() if r in BALANCE_ROLES and v}
    total = sum(held.values())
    if total:
        held["opening_balance"] = -total
    return held


def add_up(figs: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for fig in figs:
        for role, fen in fig.items():
            total[role] = total.get(role, 0) + fen
    return {r: v for r, v in total.items() if v}
