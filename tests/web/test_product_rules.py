"""Admin screen for a loan product's review routing rules: view, edit, refuse bad input, audit,
and the change reaching applications that have not passed first-level review (and only those)."""
from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Product, User
from app.services import applications as app_service
from app.services import products as product_service


def _product(app, code: str = "XYD") -> Product:
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == code))
        db.session.expunge(product)
        return product


def _stored_rules(app, code: str = "XYD") -> dict:
    with app.app_context():
        return dict(db.session.scalar(select(Product.routing_rules).where(Product.code == code)))


def _audit_rows(app) -> list[AuditLog]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "product_rules_changed").order_by(AuditLog.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def _form(app, code: str = "XYD", **changes: str | None) -> dict[str, str]:
    """The form as the browser would send it for the product's current rules, with changes.

    A checkbox that is not ticked is not sent at all; pass None to untick one.
    """
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == code))
        values = product_service.form_values(product.rules)
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None and not (k in product_service.BOOL_FIELDS and not v)}


def _english(auth) -> None:
    auth.post("/lang", data={"lang": "en", "next": "/"})


def _text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def _checked(page: str, name: str) -> bool:
    tag = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page)
    assert tag, name
    return bool(re.search(r"\schecked\b", tag.group(0)))


def _url(app, code: str = "XYD") -> str:
    return f"/admin/products/{_product(app, code).id}/rules"


# --- viewing ------------------------------------------------------------------------------


def test_admin_sees_the_products_with_their_rules_in_words(app, client, auth, demo):
    auth.login("admin")
    _english(auth)
    home = _text(client.get("/"))
    assert "/admin/products" in home
    page = _text(client.get("/admin/products"))
    assert "XYD" in page and "农户小额信用贷款" in page
    assert "LBD" in page and "农户联保贷款" in page
    assert "amount over 20,000.00 yuan" in page  # XYD's second-level threshold
    assert "amount over 50,000.00 yuan" in page  # LBD's
    assert "borrower older than 65" in page and "borrower older than 60" in page
    assert "earlier arrears of at least 30 days" in page
    assert "more than 1 active loans in the household" in page
    assert f'href="{_url(app)}"' in page


def test_the_form_shows_the_current_rules(app, client, auth, demo):
    auth.login("admin")
    _english(auth)
    page = _text(client.get(_url(app)))
    assert 'name="csrf_token"' in page
    assert 'name="l2_amount_over" value="20000.00"' in page
    assert 'name="special_exposure_over" value="80000.00"' in page
    assert 'name="special_age_min" value="18"' in page and 'name="special_age_max" value="65"' in page
    assert 'name="l2_term_over_months" value=""' in page  # off
    assert 'inputmode="decimal"' in page and 'inputmode="numeric"' in page
    assert _checked(page, "special_gps_required") is True
    assert _checked(page, "special_officer_not_on_site") is False  # off in the demo product
    assert "Second-level review when the amount is over (yuan)" in page
    assert "have not yet passed first-level review" in page


def test_the_form_is_in_chinese_by_default(app, client, auth, demo):
    auth.login("admin")
    page = _text(client.get(_url(app)))
    assert 'lang="zh-CN"' in page
    assert "农户小额信用贷款" in page


# --- editing ------------------------------------------------------------------------------


def test_admin_changes_the_rules_and_an_audit_row_is_written(app, client, auth, demo):
    before = _stored_rules(app)
    auth.login("admin")
    _english(auth)
    data = _form(
        app,
        l2_amount_over="２5,000",  # full-width digit and thousands separator, as typed on a Chinese IME
        l2_term_over_months=" 24 ",
        special_age_max="",  # switched off
        special_gps_required=None,  # unticked
        special_officer_not_on_site="1",  # ticked
    )
    r = auth.post(_url(app), data=data)
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/admin/products")
    assert "saved" in _text(client.get(r.headers["Location"]))

    after = _stored_rules(app)
    assert after["l2_amount_over"] == "25000.00"
    assert after["l2_term_over_months"] == 24
    assert after["special_age_max"] is None
    assert after["special_age_min"] == 18
    assert after["special_gps_required"] is False
    assert after["special_officer_not_on_site"] is True
    assert after["special_exposure_over"] == "80000.00"
    assert _product(app).rules.l2_amount_over == Decimal("25000")

    [row] = _audit_rows(app)
    assert row.actor_id == demo["admin"]
    assert row.object_type == "product" and row.object_id == _product(app).id
    assert row.detail["before"] == before
    assert row.detail["after"] == after
    # The form now shows the new values.
    page = _text(client.get(_url(app)))
    assert 'name="l2_amount_over" value="25000.00"' in page
    assert 'name="special_age_max" value=""' in page


def test_saving_unchanged_rules_writes_nothing(app, client, auth, demo):
    before = _stored_rules(app)
    auth.login("admin")
    r = auth.post(_url(app), data=_form(app))
    assert r.status_code == 303
    assert _stored_rules(app) == before  # "20000" stays as stored, not rewritten as "20000.00"
    assert _audit_rows(app) == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"l2_amount_over": "-5000"}, "l2_amount_over", "The amount cannot be negative"),
        ({"special_exposure_over": "abc"}, "special_exposure_over", "abc is not a valid amount"),
        ({"l2_amount_over": "20000.005"}, "l2_amount_over", "more than 2 decimal places"),
        ({"l2_amount_over": "1" * 40}, "l2_amount_over", "is far too large an amount"),
        ({"l2_amount_over": "1000000000"}, "l2_amount_over", "at most 999,999,999.99 yuan"),
        ({"special_age_min": "70", "special_age_max": "60"}, "special_age_max",
         "The minimum age 70 is above the maximum age 60"),
        ({"special_age_max": "200"}, "special_age_max", "from 0 to 120"),
        ({"special_age_min": "-1"}, "special_age_min", "from 0 to 120"),
        ({"l2_term_over_months": "12.5"}, "l2_term_over_months", "Enter a whole number from 0 to 360"),
        ({"special_past_arrears_days": "thirty"}, "special_past_arrears_days", "whole number"),
        ({"max_active_loans_per_household": "²"}, "max_active_loans_per_household", "whole number"),
    ],
)
def test_invalid_input_is_refused_with_a_message_and_nothing_saved(app, client, auth, demo, changes, field, message):
    before = _stored_rules(app)
    auth.login("admin")
    _english(auth)
    r = auth.post(_url(app), data=_form(app, **changes))
    assert r.status_code == 422
    page = _text(r)
    assert message in page
    assert f'id="err-{field}"' in page
    for name, typed in changes.items():
        assert f'name="{name}" value="{typed}"' in page  # what was typed is kept
    assert _stored_rules(app) == before
    assert _audit_rows(app) == []


def test_every_bad_field_is_reported_at_once(app, client, auth, demo):
    auth.login("admin")
    _english(auth)
    r = auth.post(_url(app), data=_form(app, l2_amount_over="abc", special_age_max="200", l2_term_over_months="x"))
    assert r.status_code == 422
    page = _text(r)
    for field in ("l2_amount_over", "special_age_max", "l2_term_over_months"):
        assert f'id="err-{field}"' in page


def test_error_messages_follow_the_users_language(app, client, auth, demo):
    auth.login("admin")
    r = auth.post(_url(app), data=_form(app, l2_amount_over="-1"))  # Chinese by default
    assert r.status_code == 422
    assert "金额不能为负数" in _text(r)


def test_invalid_stored_rules_are_shown_and_can_be_repaired(app, client, auth, demo):
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == "LBD"))
        product.routing_rules = {"l2_amount_ovr": "1"}  # a typo made outside this screen
        db.session.commit()
    auth.login("admin")
    _english(auth)
    assert "Unknown routing rule" in _text(client.get("/admin/products"))
    page = _text(client.get(_url(app, "LBD")))
    assert "invalid" in page
    r = auth.post(_url(app, "LBD"), data={"l2_amount_over": "60000", "special_gps_required": "1"})
    assert r.status_code == 303
    assert _stored_rules(app, "LBD")["l2_amount_over"] == "60000.00"
    [row] = _audit_rows(app)
    assert row.detail["before"] == {"l2_amount_ovr": "1"}


def test_unknown_product_is_404(app, client, auth, demo):
    auth.login("admin")
    assert client.get("/admin/products/999999/rules").status_code == 404


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["reviewer1", "reviewer2", "clerk1", "director1", "officer1", "special1", "cashier1"])
def test_only_an_admin_may_see_or_change_rules(app, client, auth, demo, username):
    before = _stored_rules(app)
    url = _url(app)
    auth.login(username)
    assert client.get("/admin/products").status_code == 403
    assert client.get(url).status_code == 403
    r = auth.post(url, data=_form(app, l2_amount_over="1.00"))
    assert r.status_code == 403
    assert _stored_rules(app) == before
    assert _audit_rows(app) == []


# --- the change reaches applications before first-level review, and only those ------------


def _application(app, borrower_name: str) -> Application:
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == borrower_name))
        db.session.expunge(a)
        return a


def _l1_pass(app, application_id: int, reviewer_id: int) -> None:
    with app.app_context():
        reviewer = db.session.get(User, reviewer_id)
        app_service.act(application_id, Event.L1_PASS, reviewer, now=datetime.now(timezone.utc), comment="资料齐全")


def _decided(app) -> dict[str, tuple[str, list]]:
    """State and stored routing reasons of the demo applications already past first-level review."""
    out = {}
    for name in ("吴十", "赵六", "钱七"):  # awaiting_l2, awaiting_special, awaiting_disbursement
        a = _application(app, name)
        out[name] = (a.state, a.routing_reasons)
    return out


def test_a_stricter_rule_applies_to_an_application_awaiting_first_level_review(app, client, auth, demo):
    li = _application(app, "李四")  # 30,000 yuan, born 1985, awaiting L1
    assert li.state == "awaiting_l1"
    decided = _decided(app)
    assert decided["吴十"][0] == "awaiting_l2"
    assert {"level": "l2", "code": "amount_over", "message": decided["吴十"][1][0]["message"],
            "params": {"amount": "50,000.00", "limit": "20,000.00"}} == decided["吴十"][1][0]

    auth.login("admin")
    r = auth.post(_url(app), data=_form(app, l2_amount_over="25000", special_age_max="35"))
    assert r.status_code == 303

    _l1_pass(app, li.id, demo["reviewer1"])
    after = _application(app, "李四")
    assert after.state == "awaiting_l2"
    assert after.needs_l2 and after.needs_special
    reasons = {r["code"]: r for r in after.routing_reasons}
    assert reasons["amount_over"]["params"] == {"amount": "30,000.00", "limit": "25,000.00"}
    assert reasons["age_above"]["params"]["limit"] == "35"
    # Decisions already taken keep the rules they were taken under.
    assert _decided(app) == decided


def test_a_relaxed_rule_lets_an_application_awaiting_first_level_review_skip_second_level(app, client, auth, demo):
    li = _application(app, "李四")
    decided = _decided(app)
    auth.login("admin")
    r = auth.post(_url(app), data=_form(app, l2_amount_over="40000.00"))
    assert r.status_code == 303

    _l1_pass(app, li.id, demo["reviewer1"])
    after = _application(app, "李四")
    assert after.state == "awaiting_disbursement"
    assert after.routing_reasons == []
    # 吴十 (50,000) went to second-level review under the old 20,000 threshold and stays there.
    assert _decided(app) == decided
    assert _decided(app)["吴十"][0] == "awaiting_l2"


def test_every_product_has_a_link_to_its_rules(app, client, auth, demo):
    auth.login("admin")
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Product))
    page = _text(client.get("/admin/products"))
    assert page.count("/rules\"") == n
