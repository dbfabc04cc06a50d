"""Portfolio figures over the loans a user may see: outstanding principal and portfolio at risk."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from app.domain.portfolio import par_threshold
from app.extensions import db
from app.models import Installment, Loan, User
from app.services.scope import scope_clause

PAR_DAYS = (1, 30, 90)


def par(user: User) -> dict:
    """PAR-n: the outstanding principal of loans more than n days past due (PAR1: any day), over
    all outstanding — the definition of app.domain.portfolio, which the reports share.

    One grouped query: outstanding principal per days-past-due bucket, as the daily job left it.
    """
    # Raw fen (the Money type would turn each operand into yuan first).
    outstanding = func.sum(type_coerce(Installment.principal_due, BigInteger) - type_coerce(Installment.principal_paid, BigInteger))
    rows = db.session.execute(
        select(Loan.days_past_due, outstanding)
        .join(Installment, Installment.loan_id == Loan.id)
        .where(Loan.status == "active", scope_clause(user, Loan))
        .group_by(Loan.days_past_due)
    ).all()
    buckets = [(dpd, Decimal(int(fen or 0)) / 100) for dpd, fen in rows]
    total = sum((amount for _d, amount in buckets), Decimal("0"))
    result = {"outstanding": total.quantize(Decimal("0.01")),
              "loans": db.session.scalar(select(func.count()).select_from(Loan)
                                         .where(Loan.status == "active", scope_clause(user, Loan))) or 0}
    for days in PAR_DAYS:
        at_risk = sum((amount for dpd, amount in buckets if dpd >= par_threshold(days)), Decimal("0"))
        result[f"par{days}"] = (at_risk / total * 100).quantize(Decimal("0.01")) if total else Decimal("0.00")
        result[f"par{days}_amount"] = at_risk.quantize(Decimal("0.01"))
    return result
