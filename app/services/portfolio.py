"""Portfolio figures over the loans a user may see: outstanding principal and portfolio at risk."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from app import clock
from app.domain.portfolio import par_buckets, par_threshold
from app.extensions import db
from app.models import Installment, Loan, User
from app.models.reports import PortfolioSnapshot
from app.services import snapshots
from app.services.scope import scope_clause

PAR_DAYS = (1, 30, 90)


def par(user: User) -> dict:
    """PAR-n: the outstanding principal of loans more than n days past due (PAR1: any day), over
    all outstanding — the definition of app.domain.portfolio, which the reports share.

    Today's opening once the daily job has run for today (``opening`` True: one query over its
    snapshot, by days-past-due bucket); until then one grouped query over the live installments
    (outstanding principal per days past due, as the daily job left them).
    """
    today = clock.business_today()
    if snapshots.opening_kept(today):
        s = PortfolioSnapshot
        rows = db.session.execute(
            select(s.dpd_bucket, func.sum(s.loans), func.sum(type_coerce(s.outstanding_principal_fen, BigInteger)))
            .where(s.day == today, scope_clause(user, s))
            .group_by(s.dpd_bucket)
        ).all()
        at_risk_in = {days: set(par_buckets(days)) for days in PAR_DAYS}
        amounts = [(int(b), Decimal(int(fen or 0)) / 100) for b, _n, fen in rows]
        return _card(sum(int(n or 0) for _b, n, _f in rows), amounts,
                     lambda bucket, days: bucket in at_risk_in[days], opening=True)
    # Raw fen (the Money type would turn each operand into yuan first).
    outstanding = func.sum(type_coerce(Installment.principal_due, BigInteger) - type_coerce(Installment.principal_paid, BigInteger))
    rows = db.session.execute(
        select(Loan.days_past_due, outstanding)
        .join(Installment, Installment.loan_id == Loan.id)
        .where(Loan.status == "active", scope_clause(user, Loan))
        .group_by(Loan.days_past_due)
    ).all()
    buckets = [(dpd, Decimal(int(fen or 0)) / 100) for dpd, fen in rows]
    loans = db.session.scalar(select(func.count()).select_from(Loan)
                              .where(Loan.status == "active", scope_clause(user, Loan))) or 0
    return _card(loans, buckets, lambda dpd, days: dpd >= par_threshold(days), opening=False)


def _card(loans: int, buckets: list[tuple[int, Decimal]], at_risk_of, *, opening: bool) -> dict:
    """The card's figures from (days past due or its bucket, outstanding yuan) pairs."""
    total = sum((amount for _d, amount in buckets), Decimal("0"))
    result = {"outstanding": total.quantize(Decimal("0.01")), "loans": loans, "opening": opening}
    for days in PAR_DAYS:
        at_risk = sum((amount for key, amount in buckets if at_risk_of(key, days)), Decimal("0"))
        result[f"par{days}"] = (at_risk / total * 100).quantize(Decimal("0.01")) if total else Decimal("0.00")
        result[f"par{days}_amount"] = at_risk.quantize(Decimal("0.01"))
    return result
