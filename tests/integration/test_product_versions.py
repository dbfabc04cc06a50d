"""A product's terms change without touching any loan made under them, and due dates on holidays
move at disbursement when the product says so (issue 13 items 3 and 4)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Holiday, Installment, Loan, Product, ProductVersion
from app.services import loans as loan_service
from app.services import products as product_service
from tests.integration.test_loans import DAY, _disburse, _user

LOAN_FIELDS = ("principal", "annual_rate", "repayment_method", "frequency", "day_count", "penalty_rate",
               "allocation_order", "term_months", "disbursed_on", "maturity_date")


def _snapshot(loan: Loan) -> tuple:
    db.session.expire_all()
    loan = db.session.get(Loan, loan.id)
    rows = db.session.scalars(select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.seq))
    return (tuple(getattr(loan, f) for f in LOAN_FIELDS),
            tuple((i.seq, i.due_date, i.principal_due, i.interest_due) for i in rows),
            loan_service.schedule_rows(loan))


def test_changing_every_term_of_a_used_product_changes_no_loan_or_installment(app, demo):
    with app.app_context():
        loan = _disburse()
        before = _snapshot(loan)
        product = db.session.get(Product, loan.product_id)
        values = {**product_service.term_values(product), "repayment_method": "equal_principal", "frequency": "quarterly",
                  "day_count": "30/360", "annual_rate": "12", "min_rate": "10", "max_rate": "20", "penalty_rate": "30",
                  "min_amount": "100", "max_amount": "9000", "min_term_months": "3", "max_term_months": "6",
                  "holiday_shift": "1"}
        assert product_service.update_terms(product, values, actor_id=_user("admin").id)
        order = ("current_interest", "current_principal", "penalty", "overdue_interest", "overdue_principal")
        assert product_service.update_post_loan_settings(
            product, {**product_service.post_loan_values(product), **dict(zip(product_service.ORDER_FIELDS, order))},
            actor_id=_user("admin").id)
        db.session.add_all(Holiday(day=i.due_date, name="假日") for i in loan.installments)
        db.session.commit()
        assert _snapshot(loan) == before
        assert product.version == 3
        versions = db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == product.id)
                                      .order_by(ProductVersion.version)).all()
        assert [v.version for v in versions] == [1, 2, 3]
        assert versions[0].terms["repayment_method"] == "annuity" and versions[1].terms["frequency"] == "quarterly"
        assert versions[2].terms["allocation_order"] == list(order) and versions[1].terms["allocation_order"] == []


def test_due_dates_on_holidays_move_at_disbursement_when_the_product_says_so(app, demo):
    with app.app_context():
        # 15 Feb 2026 is a Sunday; 16 Feb is listed as a holiday (春节): the first due date moves to the 17th.
        db.session.add(Holiday(day=date(2026, 2, 16), name="春节"))
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        product.holiday_shift = True
        db.session.commit()
        loan = _disburse()
        dues = [i.due_date for i in sorted(loan.installments, key=lambda i: i.seq)]
        assert dues[0] == date(2026, 2, 17)
        assert all(d.weekday() < 5 and d != date(2026, 2, 16) for d in dues)
        assert sum(i.principal_due for i in loan.installments) == Decimal("15000.00")
        assert loan.disbursed_on == DAY and loan.maturity_date == dues[-1]
        # The amounts are those of the calendar dates: the same as without the holiday setting.
        plain = loan_service.build_schedule(loan_service.ScheduleRequest(
            principal=Decimal("15000"), annual_rate=product.annual_rate, term_months=12, method="annuity", start=DAY))
        assert [i.interest_due for i in sorted(loan.installments, key=lambda i: i.seq)] == [ln.interest for ln in plain.lines]
