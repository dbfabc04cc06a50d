"""Admin screen for a product's post-loan settings: task thresholds (empty = the institution's
default) and the repayment allocation order, which new loans take and existing loans keep."""
from __future__ import annotations

import html as htmllib
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Loan, Product, User
from app.services import loans as loan_service
from app.services import products as product_service
from app.services.jobs import business_today

ORDER = ("current_interest", "current_principal", "penalty", "overdue_interest", "overdue_principal")


def _url(app, code: str = "XYD") -> str:
    with app.app_context():
        return f"/admin/products/{db.session.scalar(select(Product.id).where(Product.code == code))}/post-loan"


def _stored(app, code: str = "XYD") -> dict:
    with app.app_context():
        p = db.session.scalar(select(Product).where(Product.code == code))
        return {"first_revisit_days": p.first_revisit_days, "revisit_every_days": p.revisit_every_days,
                "pre_due_amount": p.pre_due_amount, "escalation_days": p.escalation_days,
                "allocation_order": list(p.allocation_order or [])}


def _form(**changes: str) -> dict[str, str]:
    values = {"first_revisit_days": "", "revisit_every_days": "", "pre_due_amount": "", "escalation_days": ""}
    values.update(dict(zip(product_service.ORDER_FIELDS, product_service.COMPONENTS)))
    values.update(changes)
    return values


def _text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def _audits(app) -> list[AuditLog]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "product_post_loan_changed")).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_the_page_shows_the_defaults_and_is_linked_from_the_products(app, client, auth, demo):
    auth.login("admin")
    assert f'href="{_url(app)}"' in _text(client.get("/admin/products"))
    page = _text(client.get(_url(app)))
    assert 'lang="zh-CN"' in page and "贷后设置" in page and "还款冲销顺序" in page
    assert 'name="first_revisit_days" value=""' in page and 'placeholder="15"' in page
    assert 'name="escalation_days" value=""' in page and 'placeholder="30"' in page
    assert '<option value="penalty" selected>' in page  # the default order, penalty first


def test_admin_saves_thresholds_and_an_order_with_an_audit_row(app, client, auth, demo):
    auth.login("admin")
    data = _form(first_revisit_days="１０", revisit_every_days=" 60 ", pre_due_amount="3,000",
                 **dict(zip(product_service.ORDER_FIELDS, ORDER)))
    r = auth.post(_url(app), data=data)
    assert r.status_code == 303
    assert _stored(app) == {"first_revisit_days": 10, "revisit_every_days": 60, "pre_due_amount": Decimal("3000.00"),
                            "escalation_days": None, "allocation_order": list(ORDER)}
    [row] = _audits(app)
    assert row.detail["before"]["first_revisit_days"] is None and row.detail["after"]["first_revisit_days"] == 10
    assert row.detail["after"]["allocation_order"] == list(ORDER)
    # The same form again changes nothing and writes no audit row.
    assert auth.post(_url(app), data=data).status_code == 303
    assert len(_audits(app)) == 1
    page = _text(client.get(_url(app)))
    assert 'name="pre_due_amount" value="3000.00"' in page


def test_bad_input_is_explained_in_chinese_and_nothing_is_saved(app, client, auth, demo):
    before = _stored(app)
    auth.login("admin")
    order = dict(zip(product_service.ORDER_FIELDS, ("penalty", "penalty", "overdue_principal",
                                                     "current_interest", "current_principal")))
    r = auth.post(_url(app), data=_form(first_revisit_days="0", revisit_every_days="abc", pre_due_amount="-5",
                                        escalation_days="99999", **order))
    assert r.status_code == 422
    page = _text(r)
    assert page.count('aria-invalid="true"') >= 4 + len(product_service.ORDER_FIELDS)
    assert "请输入 1 到 365 之间的整数" in page and "请输入 7 到 365 之间的整数" in page
    assert "每一项欠款在顺序中必须出现且只能出现一次" in page
    assert 'value="abc"' in page and 'value="-5"' in page  # what was typed stays on the form
    assert _stored(app) == before and _audits(app) == []
    r = auth.post(_url(app), data=_form(pre_due_amount="0"))
    assert r.status_code == 422 and "请输入大于零的金额" in _text(r)
    assert _stored(app) == before and _audits(app) == []


def test_only_an_admin_may_change_the_settings(app, client, auth, demo):
    auth.login("director1")
    assert auth.post(_url(app), data=_form(first_revisit_days="5")).status_code == 403
    assert _stored(app)["first_revisit_days"] is None


def test_a_new_loan_takes_the_products_order_and_an_existing_loan_keeps_its_own(app, auth, demo):
    with app.app_context():
        existing = db.session.scalar(select(Loan))
        existing_id, existing_order = existing.id, list(existing.allocation_order)
        code = existing.product.code
    auth.login("admin")
    assert auth.post(_url(app, code), data=_form(**dict(zip(product_service.ORDER_FIELDS, ORDER)))).status_code == 303
    with app.app_context():
        assert list(db.session.get(Loan, existing_id).allocation_order) == existing_order != list(ORDER)
        application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱七"))
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        product = application.product
        product.allocation_order = list(ORDER)
        # Disbursed today: the demo approved it at the real clock, and no date may precede the approval.
        now = datetime.now(timezone.utc)
        today = business_today(now)
        loan = loan_service.disburse(
            application, loan_service.DisbursementForm(amount="15000", disbursed_on=today.isoformat(), channel="cash",
                                                       reference=""),
            cashier, today=today, now=now, settings=loan_service.LoanSettings())
        assert list(loan.allocation_order) == list(ORDER)
