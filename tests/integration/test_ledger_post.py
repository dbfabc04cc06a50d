"""Posting: the one door into the journal — balanced, mapped, in an open period, after the last
closed day, on active accounts; refused with nothing written otherwise; undone by a mirror, once."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.ledger import Line
from app.extensions import db
from app.models import Account, AccountMapping, JournalEntry, JournalLine, LedgerBook, LedgerPeriod, Product
from app.services import ledger


def _count() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(JournalEntry)),
            db.session.scalar(select(func.count()).select_from(JournalLine)))


@pytest.fixture()
def books(app):
    with app.app_context():
        ledger.ensure_chart()
        db.session.commit()
        yield


def test_a_posting_resolves_roles_and_copies_dates_onto_its_lines(app, books):
    today = clock.business_today()
    entry = ledger.post("manual", [Line("channel:cash", debit=12345), Line("4001", credit=12345)],
                        value_date=today - timedelta(days=3), memo="资本金到位")
    db.session.commit()
    lines = {(line.account.code, str(line.debit), str(line.credit)) for line in entry.lines}
    assert lines == {("1001", "123.45", "0.00"), ("4001", "0.00", "123.45")}
    assert entry.posting_date == today and all(line.posting_date == today for line in entry.lines)
    assert all(line.value_date == today - timedelta(days=3) for line in entry.lines)


def test_a_product_of_its_own_posts_a_role_to_its_own_account(app, books):
    product = Product(code="LB", name="联保贷款", repayment_method="annuity", annual_rate=Decimal("0.1"),
                      min_rate=Decimal("0.05"), max_rate=Decimal("0.2"), penalty_rate=Decimal("0.15"),
                      min_amount=Decimal(1000), max_amount=Decimal(50000), min_term_months=3, max_term_months=24)
    db.session.add(product)
    own = Account(code="130302", name="贷款—联保贷款", kind="asset", side="debit")
    db.session.add(own)
    db.session.flush()
    db.session.add(AccountMapping(role="loan_principal", product_id=product.id, account_id=own.id))
    db.session.commit()
    theirs = ledger.post("disbursement", [Line("loan_principal", debit=100), Line("channel:cash", credit=100)],
                         value_date=clock.business_today(), product_id=product.id)
    others = ledger.post("disbursement", [Line("loan_principal", debit=100), Line("channel:cash", credit=100)],
                         value_date=clock.business_today())
    assert {line.account.code for line in theirs.lines} == {"130302", "1001"}
    assert {line.account.code for line in others.lines} == {"1303", "1001"}


@pytest.mark.parametrize("lines,code", [
    ([Line("1001", debit=100), Line("4001", credit=90)], "unbalanced"),
    ([Line("1001", debit=100), Line("9999", credit=100)], "unknown_account"),
])
def test_bad_lines_are_refused_and_nothing_is_written(app, books, lines, code):
    before = _count()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.post("manual", lines, value_date=clock.business_today())
    db.session.rollback()
    assert refused.value.code == code
    assert _count() == before


def test_a_retired_account_takes_no_posting(app, books):
    db.session.scalar(select(Account).where(Account.code == "6602")).is_active = False
    db.session.commit()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.post("manual", [Line("6602", debit=100), Line("1001", credit=100)], value_date=clock.business_today())
    assert refused.value.code == "retired_account"
    assert refused.value.params == {"account": "6602", "name": "业务及管理费"}


def test_a_closed_period_and_a_closed_day_take_no_entry_but_a_late_event_posts_today(app, books):
    today = clock.business_today()
    last_month = (today.replace(day=1) - timedelta(days=1))
    db.session.add(LedgerPeriod(period=f"{last_month:%Y-%m}", status="closed"))
    db.session.get(LedgerBook, 1).days_closed_through = today - timedelta(days=1)
    db.session.commit()
    for posting_date, code in ((last_month, "closed_day"), (today - timedelta(days=1), "closed_day")):
        with pytest.raises(ledger.LedgerError) as refused:
            ledger.post("manual", [Line("1001", debit=1), Line("4001", credit=1)], value_date=posting_date,
                        posting_date=posting_date)
        assert refused.value.code == code
    db.session.get(LedgerBook, 1).days_closed_through = None
    db.session.commit()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.post("manual", [Line("1001", debit=1), Line("4001", credit=1)], value_date=last_month,
                    posting_date=last_month)
    assert refused.value.code == "closed_period"
    # The same event dated in the closed month posts today, keeping its own value date.
    entry = ledger.post("manual", [Line("1001", debit=1), Line("4001", credit=1)], value_date=last_month)
    assert (entry.posting_date, entry.value_date) == (today, last_month)


def test_a_mirror_undoes_an_entry_once(app, books):
    entry = ledger.post("manual", [Line("1001", debit=500), Line("4001", credit=500)], value_date=date(2026, 11, 2))
    undo = ledger.mirror(entry, memo="录错")
    db.session.commit()
    assert undo.reverses_id == entry.id and undo.value_date == entry.value_date
    assert {(line.account.code, str(line.debit), str(line.credit)) for line in undo.lines} == {
        ("1001", "0.00", "5.00"), ("4001", "5.00", "0.00")}
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.mirror(entry)
    assert refused.value.code == "already_reversed"


def test_the_chart_is_set_up_again_when_missing_and_an_existing_one_is_kept(app):
    with app.app_context():
        ledger.ensure_chart()
        db.session.scalar(select(Account).where(Account.code == "1001")).name = "库存现金（本部）"
        db.session.commit()
        ledger.ensure_chart()
        db.session.commit()
        assert db.session.scalar(select(Account.name).where(Account.code == "1001")) == "库存现金（本部）"
        assert db.session.scalar(select(func.count()).select_from(AccountMapping)) == len(ledger.books.DEFAULT_MAPPING)
