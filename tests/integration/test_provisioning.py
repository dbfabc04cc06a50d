"""Provisioning: the allowance brought to Σ outstanding principal x class rate by one entry, once."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.domain import ledger as books
from app.extensions import db
from app.models import JournalEntry, Loan
from app.services import provisioning


def test_provision_reaches_the_target_once(app, demo):
    with app.app_context():
        today = clock.business_today()
        last = today.replace(day=1) - timedelta(days=1)
        period = f"{last.year:04d}-{last.month:02d}"
        by_class: dict[str, int] = {}
        for loan in db.session.scalars(select(Loan).where(Loan.status == "active")):  # the slow way, to compare
            fen = sum(int((i.principal_due - i.principal_paid) * 100) for i in loan.installments)
            by_class[loan.classification] = by_class.get(loan.classification, 0) + fen
        expected = books.provision_target(by_class, books.DEFAULT_PROVISION_RATES)
        assert expected > 0
        done = provisioning.provision(period)
        assert done["target"] == expected and provisioning.allowance_balance() == expected
        entry = db.session.get(JournalEntry, done["entry_id"])
        assert entry.kind == "provision" and entry.value_date == last
        again = provisioning.provision(period)
        assert again["posted"] == 0 and again["entry_id"] is None
        assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.kind == "provision",
                                                                JournalEntry.id != entry.id)) is None
