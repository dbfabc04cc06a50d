"""Loan product administration (issue 13 items 1-4): create and edit the terms (each change a
version, audited before/after), every refusal in Chinese naming the field with nothing written,
collection items with the phone's checklist preview, retire / delete, and the holiday calendar."""
from __future__ import annotations

import html as htmllib
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, CollectionItem, Holiday, Product, ProductVersion

GOOD = {"code": "CYD", "name": "创业贷款", "repayment_method": "equal_principal", "frequency": "monthly",
        "day_count": "act/365", "annual_rate": "10.5", "min_rate": "6", "max_rate": "15", "penalty_rate": "15.75",
        "min_amount": "2000", "max_amount": "80000.50", "min_term_months": "6", "max_term_months": "24",
        "holiday_shift": "1"}


def _text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _product_id(app, code: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Product.id).where(Product.code == code))


def _audits(app, action: str) -> list[dict]:
    with app.app_context():
        return [r.detail for r in db.session.scalars(select(AuditLog).where(AuditLog.action == action))]


def test_admin_creates_a_product_with_every_term_and_a_first_version(app, client, auth, demo):
    auth.login("admin")
    assert "新建贷款产品" in _text(client.get("/admin/products"))
    r = auth.post("/admin/products/new", data=GOOD)
    assert r.status_code == 303
    pid = _product_id(app, "CYD")
    with app.app_context():
        p = db.session.get(Product, pid)
        assert (p.repayment_method, p.day_count, p.holiday_shift, p.version) == ("equal_principal", "act/365", True, 1)
        assert (str(p.annual_rate), str(p.penalty_rate), str(p.max_amount)) == ("0.105", "0.1575", "80000.50")
        assert (p.min_term_months, p.max_term_months, p.is_active) == (6, 24, True)
        [v] = db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == pid)).all()
        assert v.version == 1 and v.terms["annual_rate"] == "0.105000"
    [created] = _audits(app, "product.create")
    assert created["after"]["code"] == "CYD" and "before" not in created
    page = _text(client.get(f"/admin/products/{pid}"))
    assert 'value="10.5"' in page and "版本 1" in page


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"min_amount": "90000"}, "min_amount", "最低金额"),
    ({"max_rate": "36.5"}, "max_rate", "最高年利率"),
    ({"annual_rate": "-1"}, "annual_rate", "默认年利率"),
    ({"annual_rate": "16"}, "annual_rate", "默认年利率"),
    ({"min_rate": "20"}, "min_rate", "最低年利率"),
    ({"min_term_months": "30"}, "min_term_months", "最短期限"),
    ({"max_term_months": "0"}, "max_term_months", "最长期限"),
    ({"max_amount": "80000.505"}, "max_amount", "最高金额"),
    ({"code": "XYD"}, "code", "产品代码"),
    ({"code": "有 空格"}, "code", "产品代码"),
    ({"repayment_method": "balloon"}, "repayment_method", "还款方式"),
    ({"name": ""}, "name", "产品名称"),
])
def test_bad_terms_are_refused_naming_the_field_and_nothing_is_written(app, client, auth, demo, changes, field, words):
    auth.login("admin")
    before = _count(app, Product), _count(app, AuditLog), _count(app, ProductVersion)
    r = auth.post("/admin/products/new", data={**GOOD, **changes})
    assert r.status_code == 422
    page = _text(r)
    assert f'id="err-{field}"' in page and words in page
    assert (_count(app, Product), _count(app, AuditLog), _count(app, ProductVersion)) == before


def test_editing_the_terms_makes_a_new_version_audited_before_after(app, client, auth, demo):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    url = f"/admin/products/{pid}"
    page = _text(client.get(url))
    assert f'href="/admin/products/{pid}/rules"' in page and f'href="/admin/products/{pid}/post-loan"' in page
    with app.app_context():
        from app.services.products import term_values
        values = term_values(db.session.get(Product, pid))
    assert auth.post(url, data={**values, "annual_rate": "11", "max_amount": "60000"}).status_code == 303
    with app.app_context():
        p = db.session.get(Product, pid)
        assert p.version == 2 and str(p.annual_rate) == "0.11"
        rows = db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == pid)
                                  .order_by(ProductVersion.version)).all()
        assert [(v.version, v.terms["annual_rate"]) for v in rows] == [(1, "0.096000"), (2, "0.110000")]
    [row] = _audits(app, "product.update")
    assert row["before"] == {"annual_rate": "0.096000", "max_amount": "50000.00"}
    assert row["after"] == {"annual_rate": "0.110000", "max_amount": "60000.00"}
    # The same form again: nothing changes, no version, no audit row.
    assert auth.post(url, data={**values, "annual_rate": "11", "max_amount": "60000"}).status_code == 303
    assert _count(app, ProductVersion, ProductVersion.product_id == pid) == 2
    # A refused edit leaves the product as it was.
    r = auth.post(url, data={**values, "min_term_months": "40"})
    assert r.status_code == 422 and "最短期限" in _text(r)
    with app.app_context():
        assert db.session.get(Product, pid).version == 2


def test_collection_items_add_edit_reorder_remove_with_the_phone_preview(app, client, auth, demo):
    auth.login("admin")
    assert auth.post("/admin/products/new", data=GOOD).status_code == 303
    pid = _product_id(app, "CYD")
    base = f"/admin/products/{pid}/items"
    for code, name, req, most in (("id_card", "身份证", "2", "2"), ("house", "房屋照片", "1", "3")):
        r = auth.post(base, data={"item_code": code, "item_name": name, "required_count": req, "max_count": most},
                      headers={"HX-Request": "true"})
        assert r.status_code == 200 and 'id="checklist-preview"' in _text(r)
    page = _text(client.get(f"/admin/products/{pid}"))
    words = " ".join(re.sub(r"<[^>]+>", " ", page.split('id="checklist-preview"')[1]).split())
    assert "身份证 0 / 2" in words and "房屋照片 0 / 1–3" in words
    assert "身份证：已拍0张，需要2张" in words and "房屋照片：已拍0张，需要1张" in words
    # The live preview shows the item being typed.
    preview = _text(client.get(f"/admin/products/{pid}/preview?item_name=营业执照&required_count=1&max_count=2"))
    assert "营业执照" in preview and "draft" in preview
    with app.app_context():
        ids = {i.code: i.id for i in db.session.scalars(select(CollectionItem).where(CollectionItem.product_id == pid))}
    # Edit, then move "house" above "id_card".
    assert auth.post(f"{base}/{ids['house']}", data={"item_name": "住房照片", "required_count": "1", "max_count": "4"}).status_code == 303
    assert auth.post(f"{base}/{ids['house']}/move", data={"direction": "up"}).status_code == 303
    with app.app_context():
        items = db.session.scalars(select(CollectionItem).where(CollectionItem.product_id == pid)
                                   .order_by(CollectionItem.sort_order)).all()
        assert [(i.name, i.max_count) for i in items] == [("住房照片", 4), ("身份证", 2)]
    [edit] = _audits(app, "product.item_update")
    assert edit["before"] == {"name": "房屋照片", "max_count": 3} and edit["after"] == {"name": "住房照片", "max_count": 4}
    # No photo uses it: removing deletes it.
    assert auth.post(f"{base}/{ids['id_card']}/remove").status_code == 303
    assert _count(app, CollectionItem, CollectionItem.product_id == pid) == 1


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"max_count": "0"}, "max_count", "最多张数"),
    ({"required_count": "3", "max_count": "2"}, "required_count", "需拍张数"),
    ({"item_name": ""}, "item_name", "项目名称"),
    ({"item_code": "id card!"}, "item_code", "项目代码"),
    ({"item_code": "id_card_front"}, "item_code", "项目代码"),  # the demo product already has it
])
def test_bad_collection_items_are_refused_naming_the_field(app, client, auth, demo, data, field, words):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    with app.app_context():
        codes = [i.code for i in db.session.scalars(select(CollectionItem).where(CollectionItem.product_id == pid))]
    if data.get("item_code") == "id_card_front":
        data = {**data, "item_code": codes[0]}
    before = _count(app, CollectionItem), _count(app, AuditLog)
    r = auth.post(f"/admin/products/{pid}/items",
                  data={"item_code": "new_item", "item_name": "新项目", "required_count": "1", "max_count": "2", **data})
    assert r.status_code == 422
    page = _text(r)
    assert f'id="err-new-{field}"' in page and words in page
    assert (_count(app, CollectionItem), _count(app, AuditLog)) == before


def test_an_item_with_photos_is_retired_not_deleted_and_the_phone_no_longer_asks_for_it(app, client, auth, demo):
    from app.models import Photo
    auth.login("admin")
    with app.app_context():
        photo = db.session.scalars(select(Photo)).first()
        item_id, pid = photo.collection_item_id, photo.item.product_id
    assert auth.post(f"/admin/products/{pid}/items/{item_id}/remove").status_code == 303
    with app.app_context():
        item = db.session.get(CollectionItem, item_id)
        assert item is not None and item.retired
        from app.services.products import active_products
        assert item_id not in [i.id for p in active_products(with_items=True) for i in p.items if not i.retired]
    preview = _text(client.get(f"/admin/products/{pid}/preview"))
    with app.app_context():
        assert db.session.get(CollectionItem, item_id).name not in preview.split('class="missing"')[1]


def test_a_used_product_is_retired_not_deleted_and_leaves_the_pickers(app, client, auth, demo):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    r = auth.post(f"/admin/products/{pid}/delete", follow_redirects=True)
    assert "不能删除" in _text(r) and _product_id(app, "XYD") == pid
    assert auth.post(f"/admin/products/{pid}/status", data={"active": "0"}).status_code == 303
    with app.app_context():
        from app.services.products import active_products
        assert pid not in [p.id for p in active_products()]
    assert _audits(app, "product.retire")[0]["after"] == {"is_active": False}
    # A product never used is deleted, with its versions.
    assert auth.post("/admin/products/new", data=GOOD).status_code == 303
    new = _product_id(app, "CYD")
    assert auth.post(f"/admin/products/{new}/delete").status_code == 303
    assert _product_id(app, "CYD") is None and _count(app, ProductVersion, ProductVersion.product_id == new) == 0
    assert _audits(app, "product.delete")[0]["before"]["code"] == "CYD"


def test_holidays_added_one_by_one_and_pasted_and_refused_with_the_line(app, client, auth, demo):
    auth.login("admin")
    assert auth.post("/admin/holidays", data={"day": "2026-10-01", "name": "国庆节"}).status_code == 303
    r = auth.post("/admin/holidays", data={"day": "2026-10-01"})
    assert r.status_code == 422 and "已在列表中" in _text(r)
    r = auth.post("/admin/holidays", data={"day": "2026-10-12", "working": "1"})  # a Monday
    assert r.status_code == 422 and "工作日" in _text(r)
    r = auth.post("/admin/holidays/bulk", data={"lines": "2026-10-02 国庆节\n2026-13-40\n"})
    assert r.status_code == 422 and "第 2 行" in _text(r)
    assert _count(app, Holiday) == 1  # all or nothing
    assert auth.post("/admin/holidays/bulk", data={"lines": "2026-10-01\n2026-10-02 国庆节\n2026/10/05"}).status_code == 303
    assert auth.post("/admin/holidays/bulk", data={"lines": "2026-10-10 调休", "working": "1"}).status_code == 303
    with app.app_context():
        from app.services.holidays import working_days
        cal = working_days()
        assert cal.holidays == {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)}
        assert cal.working_weekends == {date(2026, 10, 10)}
    page = _text(client.get("/admin/holidays"))
    assert "国庆节" in page and "调休" in page
    hid = _count(app, Holiday)
    with app.app_context():
        hid = db.session.scalar(select(Holiday.id).where(Holiday.day == date(2026, 10, 5)))
    assert auth.post(f"/admin/holidays/{hid}/delete").status_code == 303
    assert _audits(app, "holiday.delete")[0]["before"]["day"] == "2026-10-05"


def test_only_the_admin_reaches_the_product_screens(app, client, auth, demo):
    auth.login("clerk1")
    pid = _product_id(app, "XYD")
    for url in ("/admin/products/new", f"/admin/products/{pid}", "/admin/holidays", f"/admin/products/{pid}/preview"):
        assert client.get(url).status_code in (302, 403, 404)


def test_terms_saved_by_someone_else_meanwhile_are_not_undone(app, client, auth, demo):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    with app.app_context():
        from app.services.products import term_values
        values = {**term_values(db.session.get(Product, pid)), "version": "1"}
    assert auth.post(f"/admin/products/{pid}", data={**values, "annual_rate": "11"}).status_code == 303
    r = auth.post(f"/admin/products/{pid}", data={**values, "annual_rate": "12"})  # the same, older form
    assert r.status_code == 422 and "其他人修改" in _text(r)
    with app.app_context():
        p = db.session.get(Product, pid)
        assert (p.version, str(p.annual_rate)) == (2, "0.11")



def test_the_phone_bootstrap_leaves_out_retired_items_and_retired_products(app, client, auth, demo):
    from app.models import Photo
    from tests.sync_helpers import enrol
    auth.login("admin")
    with app.app_context():
        photo = db.session.scalars(select(Photo)).first()
        item_id, pid = photo.collection_item_id, photo.item.product_id
        other = db.session.scalar(select(Product.id).where(Product.id != pid))
    assert auth.post(f"/admin/products/{pid}/items/{item_id}/remove").status_code == 303  # retired: it has photos
    assert auth.post(f"/admin/products/{other}/status", data={"active": "0"}).status_code == 303
    phone = app.test_client()
    data = phone.get("/api/v1/bootstrap", headers=enrol(app, "officer1")).get_json()
    assert [p["id"] for p in data["products"]] == [pid]
    assert item_id not in [i["id"] for i in data["products"][0]["items"]] and data["products"][0]["items"]


# --- the books' basis and the restructuring rules (issue 17) ------------------------------------

RESTRUCTURE_GOOD = {"max_count": "3", "max_extension_months": "18", "l2_principal_over": "30000",
                    "l2_from_count": "", "special_capitalise": "", "special_restructure": "1",
                    "class_floor": "substandard", "floor_months": "９"}


def test_accounting_basis_is_a_term_of_the_product_versioned_and_audited(app, client, auth, demo):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    url = f"/admin/products/{pid}"
    page = _text(client.get(url))
    assert '<option value="accrual" selected>权责发生制' in page and "收付实现制" in page
    with app.app_context():
        from app.services.products import term_values
        values = term_values(db.session.get(Product, pid))
    before = _count(app, AuditLog), _count(app, ProductVersion)
    r = auth.post(url, data={**values, "accounting_basis": "fifo"})
    assert r.status_code == 422 and 'id="err-accounting_basis"' in _text(r) and "会计核算基础" in _text(r)
    assert (_count(app, AuditLog), _count(app, ProductVersion)) == before
    assert auth.post(url, data={**values, "accounting_basis": "cash"}).status_code == 303
    with app.app_context():
        p = db.session.get(Product, pid)
        assert (p.accounting_basis, p.version) == ("cash", 2)
        rows = db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == pid)
                                  .order_by(ProductVersion.version)).all()
        assert [v.terms["accounting_basis"] for v in rows] == ["accrual", "cash"]
        assert rows[0].terms["restructure_rules"]["max_count"] == 1  # a version holds the rules too
    [row] = _audits(app, "product.update")
    assert (row["before"], row["after"]) == ({"accounting_basis": "accrual"}, {"accounting_basis": "cash"})
    page = _text(client.get(url))
    assert '<option value="cash" selected>收付实现制' in page and "版本 2" in page


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"max_count": "13"}, "max_count", "0 到 12"),
    ({"max_count": ""}, "max_count", "展期和重组的总次数"),
    ({"max_extension_months": "-1"}, "max_extension_months", "新到期日"),
    ({"l2_principal_over": "0"}, "l2_principal_over", "留空则不启用"),
    ({"l2_principal_over": "abc"}, "l2_principal_over", "剩余本金"),
    ({"l2_from_count": "0"}, "l2_from_count", "1 到 12"),
    ({"class_floor": "terrible"}, "class_floor", "请从列出的选项中选择"),
    ({"floor_months": "1.5"}, "floor_months", "保持该分类的月数"),
])
def test_bad_restructuring_rules_are_refused_in_chinese_and_nothing_is_written(app, client, auth, demo,
                                                                               changes, field, words):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    before = _count(app, AuditLog), _count(app, ProductVersion)
    r = auth.post(f"/admin/products/{pid}/restructuring", data={**RESTRUCTURE_GOOD, **changes})
    assert r.status_code == 422
    page = _text(r)
    assert f'id="rerr-{field}"' in page and words in page, page[page.find('id="restructuring"'):][:3000]
    assert (_count(app, AuditLog), _count(app, ProductVersion)) == before
    with app.app_context():
        p = db.session.get(Product, pid)
        assert (p.restructure_rules, p.version) == (None, 1) or not p.restructure_rules


def test_restructuring_rules_change_is_a_new_version_shown_back_audited_and_used(app, client, auth, demo):
    auth.login("admin")
    pid = _product_id(app, "XYD")
    url = f"/admin/products/{pid}/restructuring"
    page = _text(client.get(f"/admin/products/{pid}"))
    assert "展期与重组" in page and 'id="r-max_count" value="1"' in page
    # A form opened before someone else's change is refused: saving it would undo theirs.
    r = auth.post(url, data={**RESTRUCTURE_GOOD, "version": "7"})
    assert r.status_code == 422 and "其他人修改" in _text(r)
    r = auth.post(url, data={**RESTRUCTURE_GOOD, "version": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith("#restructuring")
    with app.app_context():
        from app.services.restructuring import rules_of
        p = db.session.get(Product, pid)
        rules = rules_of(p)  # what a restructuring request is checked against
        assert (rules.max_count, rules.max_extension_months, str(rules.l2_principal_over)) == (3, 18, "30000.00")
        assert (rules.l2_from_count, rules.special_capitalise, rules.special_restructure) == (None, False, True)
        assert (rules.class_floor, rules.floor_months, p.version) == ("substandard", 9, 2)
        [v2] = db.session.scalars(select(ProductVersion).where(ProductVersion.product_id == pid,
                                                               ProductVersion.version == 2)).all()
        assert v2.terms["restructure_rules"]["max_count"] == 3 and v2.terms["accounting_basis"] == "accrual"
    [row] = _audits(app, "product.restructure_rules")
    assert row["before"]["max_count"] == 1 and row["after"]["max_count"] == 3 and row["version"] == 2
    assert "max_extension_months" in row["after"] and "floor_months" in row["after"]
    page = _text(client.get(f"/admin/products/{pid}"))
    assert "重组规则已保存" in page and 'id="r-max_count" value="3"' in page and 'id="r-floor_months" value="9"' in page
    assert '<option value="substandard" selected>' in page and "重组至多3次" in page
    # The same rules again: nothing written.
    assert auth.post(url, data=RESTRUCTURE_GOOD).status_code == 303
    assert _count(app, ProductVersion, ProductVersion.product_id == pid) == 2
    assert len(_audits(app, "product.restructure_rules")) == 1
