"""Loan loss provisioning (贷款损失准备) at month end, by five-category class.

``provision(period)`` computes the allowance the on-balance loans need — each class's outstanding
principal x its rate (``app.domain.ledger.provision_target``), read by one grouped SELECT over the
loans and their installments, never a per-loan loop — and posts ONE entry of kind "provision" that
brings the loan loss allowance account to it: Dr impairment loss / Cr allowance when it must grow,
the reverse for a release. Value date: the period's last day; posting date: that day too while it
is still open (so the month's own trial balance shows it), else the business day.

Idempotent per period: a second run compares the target with the allowance as it stands and posts
only a new difference (nothing when there is none). What was computed — target, allowance before,
amount posted, principal per class and per office, the rates — is kept in the period's ``checks``
under "provision": the month-end close (app/services/ledger_close.py) refuses a month without it.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from app import clock
from app.domain import ledger as books
from app.domain.i18n import N_
from app.extensions import db
from app.models import Installment, JournalLine, LedgerBook, LedgerPeriod, Loan, PortfolioSnapshot
from app.models.types import utcnow
from app.services import audit, ledger
from app.services.errors import ServiceError

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ServiceError):
    """A period written wrong, not yet ended, or closed."""


def parse_period(period: str) -> tuple[date, date]:
    """``"YYYY-MM"`` → its first and last day; PeriodError(bad_period) otherwise."""
    m = PERIOD_RE.match((period or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise PeriodError("bad_period", N_("A period is a month written YYYY-MM, such as 2026-11; got %(period)s."),
                          period=period or "")
    year, month = int(m.group(1)), int(m.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def rates() -> dict[str, Decimal]:
    """The provisioning rate of each class: the accountant's settings where they exist."""
    from app.services.ledger_settings import provision_rates

    return provision_rates()


def _fen(column):
    return type_coerce(column, BigInteger)  # raw fen: Money would turn each operand into yuan


def principal_by_class_and_office(opening_of: date | None = None) -> list[tuple[str, int | None, int]]:
    """(class, office_id, outstanding principal in fen) of the active on-balance loans. At the
    opening of ``opening_of`` (the day after the month's end) when the daily job kept that day's
    portfolio figures — the month-end position, read from a few grouped rows; else as the loans
    stand now: one grouped SELECT over loans x installments."""
    if opening_of is not None and db.session.scalar(
            select(PortfolioSnapshot.id).where(PortfolioSnapshot.day == opening_of).limit(1)) is not None:
        rows = db.session.execute(
            select(PortfolioSnapshot.classification, PortfolioSnapshot.office_id,
                   func.sum(PortfolioSnapshot.outstanding_principal_fen))
            .where(PortfolioSnapshot.day == opening_of)
            .group_by(PortfolioSnapshot.classification, PortfolioSnapshot.office_id)).all()
        return [(cls, office_id, int(fen or 0)) for cls, office_id, fen in rows]
    outstanding = func.sum(_fen(Installment.principal_due) - _fen(Installment.principal_paid))
    rows = db.session.execute(
        select(Loan.classification, Loan.office_id, outstanding)
        .join(Installment, Installment.loan_id == Loan.id)
        .where(Loan.status == "active", Loan.written_off_on.is_(None))
        .group_by(Loan.classification, Loan.office_id)
    ).all()
    return [(cls, office_id, int(fen or 0)) for cls, office_id, fen in rows]


def allowance_balance() -> int:
    """The loan loss allowance account's balance on its credit side, in fen (all lines posted)."""
    account = ledger.account_for("loan_loss_allowance")
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(_fen(JournalLine.debit)), 0), func.coalesce(func.sum(_fen(JournalLine.credit)), 0))
        .where(JournalLine.account_id == account.id)
    ).one()
    return int(credit) - int(debit)


def period_row(period: str) -> LedgerPeriod:
    row = db.session.get(LedgerPeriod, period)
    if row is None:
        row = LedgerPeriod(period=period, status="open", checks={})
        db.session.add(row)
        db.session.flush()
    return row


def is_provisioned(period: str) -> bool:
    row = db.session.get(LedgerPeriod, period)
    return row is not None and bool((row.checks or {}).get("provision"))


def provision(period: str, user_id: int | None = None, *, commit: bool = True) -> dict:
    """Adjust the allowance to the target for ``period`` ("YYYY-MM"); returns what was done.

    Refuses (PeriodError) a malformed period, one whose last day is after today, a closed one.
    ``commit=False`` (the daily job): joins the caller's transaction, no commit."""
    _first, last = parse_period(period)
    today = clock.business_today()
    if last > today:
        raise PeriodError("period_not_ended", N_("The period %(period)s has not ended yet; provision it from its last day on."),
                          period=period)
    ledger.ensure_chart()
    row = period_row(period)
    if row.status != "open":
        raise PeriodError("period_closed", N_("The period %(period)s is closed."), period=period)
    class_rates = rates()
    grouped = principal_by_class_and_office(last + timedelta(days=1))  # the month-end position
    by_class: dict[str, int] = {}
    by_office: dict[str, int] = {}
    for cls, office_id, fen in grouped:
        by_class[cls] = by_class.get(cls, 0) + fen
        key = str(office_id)
        by_office[key] = by_office.get(key, 0) + books.provision_target({cls: fen}, class_rates)
    target = books.provision_target(by_class, class_rates)
    before = allowance_balance()
    difference = target - before
    entry_id = None
    if difference:
        book = db.session.get(LedgerBook, 1)
        closed = book.days_closed_through if book is not None else None
        on = last if (closed is None or last > closed) and ledger.open_period(period) else today
        if difference > 0:
            lines = [books.Line("impairment_loss", debit=difference), books.Line("loan_loss_allowance", credit=difference)]
        else:
            lines = [books.Line("loan_loss_allowance", debit=-difference), books.Line("impairment_loss", credit=-difference)]
        entry = ledger.post("provision", lines, value_date=last, posting_date=on, memo=f"{period} 贷款损失准备",
                            source_type="provision", source_id=int(period.replace("-", "")), user_id=user_id)
        entry_id = entry.id
    done = {"period": period, "target": target, "before": before, "posted": difference, "entry_id": entry_id,
            "by_class": by_class, "by_office": by_office,
            "rates": {k: str(v) for k, v in class_rates.items()}, "at": utcnow().isoformat()}
    row.checks = {**(row.checks or {}), "provision": done}
    audit.record("ledger.provision", actor_id=user_id, object_type="ledger_period", period=period,
                 target=target, before=before, posted=difference, entry_id=entry_id)
    if commit:
        db.session.commit()
    return done
