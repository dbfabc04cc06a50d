"""The early settlement quote (提前结清) of a loan: what the borrower must bring on a day to close it.

``quote`` asks the repayment engine what settles the loan on that day (app/domain/settlement.py),
from the same schedule and standing repayments the loan page replays (``loans.position``), so
recording exactly the quoted amount on that day closes the loan to the fen
(tests/integration/test_write_off.py). The loan's journal entries are ``ledger_loans.entries_of``.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.domain import repayment as rp
from app.domain import settlement as rules
from app.domain.i18n import N_
from app.domain.money import to_fen
from app.models import Loan
from app.services import loans as loan_service
from app.services.errors import ServiceError


class QuoteError(ServiceError, ValueError):
    """A quote refused: a closed or written-off loan, a date before the loan's last event."""


def _fen(d: Decimal) -> int:
    return to_fen(Decimal(d))


def quote(loan: Loan, on: date) -> rules.Quote:
    """What the borrower must bring on ``on`` to close the loan, itemised (fen)."""
    if loan.status == "closed":
        raise QuoteError("loan_closed", N_("This loan is closed; nothing is owed."))
    if loan.status == "written_off":
        raise QuoteError("loan_written_off", N_("This loan is written off; record what is recovered instead."))
    # What loans.position replays: the current schedule (after a restructuring, the new one, from
    # the day it took effect) with the standing repayments it takes.
    standing = loan_service.replayed_repayments(loan)
    start = loan.restructured_on or loan.disbursed_on
    last = max([start, *(r.paid_on for r in standing)])
    if on < last:
        raise QuoteError("quote_too_early", N_("Choose a day on or after %(date)s, the loan's last repayment or its disbursement."),
                         date=last.isoformat())
    schedule = [(i.seq, i.due_date, _fen(i.principal_due), _fen(i.interest_due)) for i in loan_service.current_schedule(loan)]
    payments = [(r.id, r.paid_on, _fen(r.amount)) for r in standing]
    return rules.quote(schedule, payments, penalty_rate=loan.penalty_rate, start=start, on=on,
                       order=rp.validate_order(loan.allocation_order or ()))
