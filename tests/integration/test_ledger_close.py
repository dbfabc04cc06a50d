"""Closing the books: day totals equal the day's lines, never today; the month close refuses until
its checks pass, then the period takes no entry and a back-dated event posts in the open period."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.ledger import Line
from app.extensions import db
from app.models import AccountDayTotal, JournalLine, LedgerBook, LedgerPeriod
from app.services import ledger, ledger_close, provisioning


@pytest.fixture()
def books(app):
    with app.app_context():
        ledger.ensure_chart()
        db.session.commit()
        yield


def _post(fen: int, on):
    return ledger.post("manual", [Line("channel:cash", debit=fen), Line("4001", credit=fen)], value_date=on,
                       posting_date=on)


def test_close_day_writes_each_days_totals_and_refuses_today(app, books):
    today = clock.business_today()
    d1, d2 = today - timedelta(days=3), today - timedelta(days=2)
    _post(100, d1), _post(250, d1), _post(7, d2), _post(9, today)
    db.session.commit()
    with pytest.raises(ledger_close.CloseError) as refused:
        ledger_close.close_day(today)
    assert refused.value.code == "day_not_ended"
    done = ledger_close.close_day(today - timedelta(days=1))
    assert done["entries"] == 3 and done["debit"] == done["credit"] == 357
    rows = {(r.account_id, r.day): (r.debit, r.credit)
            for r in db.session.scalars(select(AccountDayTotal))}
    lines = db.session.execute(select(JournalLine.account_id, JournalLine.posting_date, func.sum(JournalLine.debit),
                                      func.sum(JournalLine.credit))
                               .where(JournalLine.posting_date < today)
                               .group_by(JournalLine.account_id, JournalLine.posting_date)).all()
    assert len(rows) == len(lines) == 4
    assert db.session.get(LedgerBook, 1).days_closed_through == today - timedelta(days=1)
    with pytest.raises(ledger.LedgerError):
        _post(1, d2)
    assert ledger_close.close_day(today - timedelta(days=2))["days"] == 0  # already closed: nothing


def test_close_month_refuses_until_its_checks_pass_then_closes(app, books):
    today = clock.business_today()
    last = today.replace(day=1) - timedelta(days=1)
    period = f"{last.year:04d}-{last.month:02d}"
    _post(500, last)
    db.session.commit()
    with pytest.raises(ledger_close.CloseError) as refused:
        ledger_close.close_month(period, None)
    assert refused.value.code == "days_open"
    ledger_close.close_day(last)
    with pytest.raises(ledger_close.CloseError) as refused:
        ledger_close.close_month(period, None)
    assert refused.value.code == "not_provisioned"
    this = f"{today.year:04d}-{today.month:02d}"
    with pytest.raises(ledger_close.CloseError) as refused:
        ledger_close.close_month(this, None)
    assert refused.value.code == "period_not_ended"
    with pytest.raises(provisioning.PeriodError):
        ledger_close.close_month("2026-13", None)
    provisioning.provision(period)
    done = ledger_close.close_month(period, None)
    assert done["status"] == "closed" and db.session.get(LedgerPeriod, period).status == "closed"
    # A back-dated event after the close: posted today, with its own value date.
    entry = ledger.post("manual", [Line("channel:cash", debit=3), Line("4001", credit=3)], value_date=last)
    db.session.commit()
    assert entry.posting_date == today and entry.value_date == last


def test_close_month_refuses_a_reconciliation_difference(app, books):
    today = clock.business_today()
    last = today.replace(day=1) - timedelta(days=1)
    period = f"{last.year:04d}-{last.month:02d}"
    # Principal on the books that no loan owes: the 贷款 account and the loans differ.
    ledger.post("manual", [Line("1303", debit=10_000), Line("channel:cash", credit=10_000)], value_date=last,
                posting_date=last)
    db.session.commit()
    ledger_close.close_day(last)
    provisioning.provision(period)
    with pytest.raises(ledger_close.CloseError) as refused:
        ledger_close.close_month(period, None)
    assert refused.value.code == "reconciliation" and "1303" in str(refused.value)
    assert db.session.get(LedgerPeriod, period).status == "open"
