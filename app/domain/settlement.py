"""Early settlement (提前结清): what the borrower must bring on a day to close the loan.

Pure. The quote is what the repayment engine itself (``app.domain.repayment.replay_fen``) would
take from a payment large enough to settle everything, made on that day after the loan's standing
repayments: penalty accrued up to (not including) the day, overdue interest and principal, the
current installment's interest, and the principal of every later installment — whose interest is
not owed, since an installment whose principal is fully prepaid owes no interest (its period will
not run). Asking the engine rather than re-stating its rules is what makes the proof hold:
recording exactly the quoted amount on that day settles every installment with nothing left over
(tests/unit/test_settlement.py checks it over random loans and dates).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain import repayment as rp

# The quote's probe payment comes after every real payment of its day (payments of one day are
# taken in key order, and a new repayment's id is larger than any before it).
_PROBE_KEY = 2 ** 62


@dataclass(frozen=True)
class Quote:
    on: date
    principal: int  # fen
    interest: int
    penalty: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty

    def yuan(self, fen: int) -> Decimal:
        return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def quote(schedule: Sequence[tuple[int, date, int, int]], payments: Sequence[tuple[int, date, int]], *,
          penalty_rate: Decimal, start: date, on: date, order: Sequence[str] = rp.COMPONENTS) -> Quote:
    """The amount that settles the loan on ``on``, itemised; ``schedule`` and ``payments`` as
    ``replay_fen`` takes them (fen)."""
    before = rp.replay_fen(schedule, payments, penalty_rate=penalty_rate, as_of=on, start=start, order=order)
    millionths = rp.rate_millionths(penalty_rate)
    everything = sum(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid
                     + max(i._penalty_due(millionths), 0) for i in before.installments)
    probe = rp.replay_fen(schedule, [*payments, (_PROBE_KEY, on, everything + 1)], penalty_rate=penalty_rate,
                          as_of=on, start=start, order=order)
    fen = {"principal": 0, "interest": 0, "penalty": 0}
    for _seq, component, amount in probe.allocations[_PROBE_KEY]:
        if component == "penalty":
            fen["penalty"] += amount
        elif component.endswith("_interest"):
            fen["interest"] += amount
        elif component.endswith("_principal"):
            fen["principal"] += amount
    return Quote(on, **fen)
