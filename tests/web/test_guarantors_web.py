"""The guarantor on the application page and the guarantees on the borrower page: who sees what,
404 across offices, the guarantor's own loans only to roles granted loans."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Loan
from app.models.audit import IdentityView
from app.models.credit import Guarantee
from tests.conftest import Auth


def _setup(app) -> tuple[int, int, int]:
    """冯十二 (who has a loan, 5 days late) guarantees 张三's application (office 城关)."""
    with app.app_context():
        zhang = db.session.scalar(select(Application).join(Borrower, Application.borrower_id == Borrower.id)
                                  .where(Borrower.name == "张三"))
        loan = db.session.scalar(select(Loan))
        loan.days_past_due = 5
        db.session.add(Guarantee(application_id=zhang.id, guarantor_id=loan.borrower_id, amount=Decimal("8000")))
        db.session.commit()
        return zhang.id, loan.borrower_id, zhang.office_id


def _get(app, user: str, url: str):
    client = app.test_client()
    Auth(client).login(user)
    return client.get(url)


def test_the_reviewer_sees_the_guarantor_his_total_his_loans_and_the_arrears_flag(app, demo):
    app_id, guarantor_id, _ = _setup(app)
    r = _get(app, "reviewer1", f"/applications/{app_id}/guarantors")
    page = r.get_data(as_text=True)
    with app.app_context():
        number = db.session.get(Borrower, guarantor_id).id_number
    assert r.status_code == 200 and "冯十二" in page and number not in page and number[-4:] in page
    assert "8,000.00" in page and "上限 ¥100,000.00" in page and "本人贷款有逾期" in page and "最长逾期 5 天" in page
    with app.app_context():  # the guarantor's identity data shown: traced
        assert db.session.scalar(select(IdentityView).where(IdentityView.borrower_id == guarantor_id,
                                                            IdentityView.object_id == app_id))
    # The clerk (no loans grant) sees who guarantees, not the guarantor's loans.
    page = _get(app, "clerk1", f"/applications/{app_id}/guarantors").get_data(as_text=True)
    assert "冯十二" in page and "本人贷款" not in page.replace("本人贷款有逾期", "")
    # The application page loads the box.
    assert f"/applications/{app_id}/guarantors" in _get(app, "reviewer1", f"/applications/{app_id}").get_data(as_text=True)


def test_404_across_offices_and_for_roles_without_applications(app, demo):
    app_id, guarantor_id, _ = _setup(app)
    assert _get(app, "director1", f"/applications/{app_id}/guarantors").status_code == 200
    assert _get(app, "director2", f"/applications/{app_id}/guarantors").status_code == 404
    assert _get(app, "officer3", f"/applications/{app_id}/guarantors").status_code == 404
    assert _get(app, "admin", f"/applications/{app_id}/guarantors").status_code == 404
    assert _get(app, "director2", f"/borrowers/{guarantor_id}/guarantees").status_code == 404


def test_the_borrower_page_lists_the_guarantees_he_gave(app, demo):
    app_id, guarantor_id, _ = _setup(app)
    r = _get(app, "reviewer1", f"/borrowers/{guarantor_id}/guarantees")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "张三" in page and "8,000.00" in page and "本人贷款有逾期" in page
    assert f"/applications/{app_id}" in page
    assert f"/borrowers/{guarantor_id}/guarantees" in _get(app, "reviewer1", f"/borrowers/{guarantor_id}").get_data(as_text=True)
    # The admin reaches the borrower but no application: counted, not shown.
    page = _get(app, "admin", f"/borrowers/{guarantor_id}/guarantees").get_data(as_text=True)
    assert "张三" not in page and "另有 1 笔" in page


def test_the_admin_sets_a_products_guarantor_rules(app, demo):
    from app.models import AuditLog, Product

    with app.app_context():
        product_id = db.session.scalar(select(Product.id).where(Product.code == "XYD"))
    admin = app.test_client()
    Auth(admin).login("admin")
    page = admin.get(f"/admin/products/{product_id}/guarantor-rules").get_data(as_text=True)
    assert 'value="100000.00"' in page and "担保承诺书" in page
    assert f"/admin/products/{product_id}/guarantor-rules" in admin.get(f"/admin/products/{product_id}").get_data(as_text=True)
    # A bad limit: told beside the field, nothing saved.
    r = Auth(admin).post(f"/admin/products/{product_id}/guarantor-rules",
                         {"limit": "十万", "arrears": "flag", "arrears_days": "1", "consent_photo": "1"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.get_data(as_text=True)
    r = Auth(admin).post(f"/admin/products/{product_id}/guarantor-rules",
                         {"limit": "50,000", "arrears": "flag", "arrears_days": "30", "required": "1"})
    assert r.status_code == 303
    with app.app_context():
        rules = db.session.get(Product, product_id).credit_rules["guarantor"]
        assert rules == {"required": True, "consent_photo": False, "limit": "50000.00", "arrears": "flag",
                         "arrears_days": 30}
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "product_guarantor_rules_changed"))
        assert row.detail["before"]["limit"] == "100000.00" and row.detail["after"]["limit"] == "50000.00"
    for user in ("reviewer1", "clerk1"):
        client = app.test_client()
        Auth(client).login(user)
        assert client.get(f"/admin/products/{product_id}/guarantor-rules").status_code == 403
