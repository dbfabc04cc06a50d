"""The administrator's forms for a loan type's joint-liability group rules and light-path rules
(credit_rules["group"] / ["light_path"]): every bad field told at once in Chinese, nothing saved,
a change audited with before and after, an unchanged save writes nothing, admin only."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Product
from tests.conftest import Auth


def _product(app, code: str) -> tuple[int, dict]:
    with app.app_context():
        p = db.session.scalar(select(Product).where(Product.code == code))
        return p.id, dict(p.credit_rules or {})


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _admin(app):
    client = app.test_client()
    Auth(client).login("admin")
    return client


def test_the_admin_sets_a_products_group_rules(app, demo):
    pid, before = _product(app, "XYD")
    admin = _admin(app)
    assert f"/admin/products/{pid}/group-rules" in admin.get(f"/admin/products/{pid}").get_data(as_text=True)
    page = admin.get(f"/admin/products/{pid}/group-rules").get_data(as_text=True)
    assert 'name="allowed"' in page and 'value="3"' in page and 'value="5"' in page
    # Every bad field at once, in Chinese; nothing written.
    r = Auth(admin).post(f"/admin/products/{pid}/group-rules",
                         {"allowed": "1", "min_size": "1", "max_size": "五", "max_relative_pairs": "-1",
                          "exposure_limit": "十万"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and text.count('aria-invalid="true"') == 4
    assert "小组人数" in text and "亲属" in text
    r = Auth(admin).post(f"/admin/products/{pid}/group-rules",
                         {"allowed": "1", "min_size": "5", "max_size": "4", "max_relative_pairs": "0", "exposure_limit": "0"})
    assert r.status_code == 422 and r.get_data(as_text=True).count('aria-invalid="true"') == 2
    assert _product(app, "XYD")[1] == before and not _audits(app, "product_group_rules_changed")
    # Good input: the key is added, audited with before and after.
    form = {"allowed": "1", "min_size": "3", "max_size": "4", "max_relative_pairs": "0", "exposure_limit": "150,000"}
    assert Auth(admin).post(f"/admin/products/{pid}/group-rules", form).status_code == 303
    rules = _product(app, "XYD")[1]["group"]
    assert rules == {"min_size": 3, "max_size": 4, "max_relative_pairs": 0, "exposure_limit": "150000.00"}
    [row] = _audits(app, "product_group_rules_changed")
    assert row.detail["before"] is None and row.detail["after"] == rules
    # Saving the same rules writes nothing.
    assert Auth(admin).post(f"/admin/products/{pid}/group-rules", form).status_code == 303
    assert len(_audits(app, "product_group_rules_changed")) == 1
    # Unticking removes the key (the product no longer takes groups).
    assert Auth(admin).post(f"/admin/products/{pid}/group-rules", {**form, "allowed": ""}).status_code == 303
    assert "group" not in _product(app, "XYD")[1]
    rows = _audits(app, "product_group_rules_changed")
    assert len(rows) == 2 and rows[1].detail["before"] == rules and rows[1].detail["after"] is None


def test_the_admin_sets_a_products_light_path_rules(app, demo):
    pid, before = _product(app, "XYD")
    admin = _admin(app)
    assert f"/admin/products/{pid}/light-path-rules" in admin.get(f"/admin/products/{pid}").get_data(as_text=True)
    page = admin.get(f"/admin/products/{pid}/light-path-rules").get_data(as_text=True)
    # Required items from the product's collection items; ratings from the village code's scale.
    assert 'name="required_items" value="iou"' in page and 'value="bureau_consent"' in page
    assert 'name="excluded_ratings" value="poor" checked' in page and "较好" in page
    r = Auth(admin).post(f"/admin/products/{pid}/light-path-rules",
                         {"enabled": "1", "min_score": "abc", "valid_days": "0", "excluded_ratings": ["awful"],
                          "required_items": ["iou", "no_such_item"]})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and text.count('aria-invalid="true"') == 4
    assert "最低分" in text or "分数" in text
    assert _product(app, "XYD")[1] == before and not _audits(app, "product_light_path_rules_changed")
    form = {"enabled": "1", "min_score": "70", "valid_days": "180", "excluded_ratings": ["fair", "poor"],
            "required_items": ["id_front", "iou"]}
    assert Auth(admin).post(f"/admin/products/{pid}/light-path-rules", form).status_code == 303
    rules = _product(app, "XYD")[1]["light_path"]
    assert rules["min_score"] == 70 and rules["valid_days"] == 180 and rules["excluded_ratings"] == ["fair", "poor"]
    assert set(rules["required_items"]) == {"id_front", "iou"} and rules["enabled"] is True
    [row] = _audits(app, "product_light_path_rules_changed")
    assert row.detail["after"] == rules
    assert Auth(admin).post(f"/admin/products/{pid}/light-path-rules", form).status_code == 303
    assert len(_audits(app, "product_light_path_rules_changed")) == 1
    # Other keys of credit_rules are left as they were.
    after = _product(app, "XYD")[1]
    assert {k: v for k, v in after.items() if k != "light_path"} == {k: v for k, v in before.items() if k != "light_path"}


def test_only_the_admin_opens_the_rules_forms(app, demo):
    pid, before = _product(app, "LBD")
    for user in ("reviewer1", "clerk1", "director1", "officer1"):
        client = app.test_client()
        Auth(client).login(user)
        for path in ("group-rules", "light-path-rules"):
            assert client.get(f"/admin/products/{pid}/{path}").status_code in (403, 404)
            assert Auth(client).post(f"/admin/products/{pid}/{path}", {"min_size": "2"}).status_code in (403, 404)
    assert _product(app, "LBD")[1] == before
    admin = _admin(app)
    assert admin.get("/admin/products/999999/group-rules").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action.like("product_%_rules_changed"))) == 0


def test_the_guarantor_rules_form_names_every_bad_field_at_once(app, demo):
    pid, before = _product(app, "XYD")
    admin = _admin(app)
    r = Auth(admin).post(f"/admin/products/{pid}/guarantor-rules",
                         {"limit": "十万", "arrears": "maybe", "arrears_days": "0"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and text.count('class="field-error"') == 3 and "请更正" in text
    assert _product(app, "XYD")[1] == before and not _audits(app, "product_guarantor_rules_changed")
