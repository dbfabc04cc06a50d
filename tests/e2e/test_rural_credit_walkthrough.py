"""Issue 18's "done when", as new users do it, in real Chromium:

1. the joint-liability (联保) story: the administrator adds a survey question, changes a scorecard bin
   and sets "score below 60 → special review" on the product's review rules (desktop); the officer
   captures a group of three offline on his phone (360 px), one household with poor answers; online
   the three arrive; the director sees each member's score with its reasons and the group's exposure
   on his phone and approves the group; the clerk completes each member's entry seeing the score;
   the first-level reviewer passes the group at his desk, and the low-score member goes to special
   review with the reason stored and shown;
2. the whole-village story: the officer surveys a household offline, HQ approves it on the white
   list, the officer applies for it from the phone with the light path's photos only, and the
   director's approval sends it straight to disbursement.

The back-test screen on a generated book is tests/e2e/test_backtest_browser.py (not repeated here).
Runs on SQLite and on MariaDB with S3 photos (what the server stores is checked, not only the page)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Product
from app.models.credit import HouseholdSurvey, LiabilityGroup, PreApproval, VillageCampaign
from app.services.demo import demo_entry
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.e2e.officer import open_campaign_offline, enrol_phone, fill_survey, phone_photos, wait_until
from tests.sync_helpers import valid_id_number

pytestmark = pytest.mark.e2e

# A household the scorecard should not like: little income, more informal debt than income, new in
# the village, one labourer of five, the village committee's rating 差.
POOR = {"members": "5", "labourers": "1", "years_in_village": "2", "land_mu": "1.0", "livestock_heads": "0",
        "crop_income": "3000", "livestock_income": "0", "wage_income": "0", "business_income": "0",
        "living_expenses": "6000", "production_expenses": "2000", "house_type": "earth", "house_value": "20000",
        "has_vehicle": "no", "formal_debt": "0", "informal_debt": "20000", "yearly_debt_service": "5000",
        "committee_rating": "poor"}
POOR_REASON = "村委评议差，须专项核实"


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("walk-camera"), size=(1200, 900))


def _photograph_missing(page, photos) -> None:
    """One photo for each document the draft's checklist still asks for (what the loan type, or the
    light path, requires; the optional ones are left)."""
    items = page.locator(".photo-item")
    for i in range(items.count()):
        item = items.nth(i)
        name = item.locator(".item-name").inner_text()
        if name not in page.inner_text("#missing"):
            continue
        before = page.locator(".thumb").count()
        item.locator("input[type=file]").set_input_files(str(photos[i % len(photos)]))
        wait_for_state(page, f"document.querySelectorAll('.thumb').length > {before}")


def _loan_and_gps(page, amount: str) -> None:
    page.click("#take-gps")
    wait_for_state(page, "document.querySelector('#gps-info').textContent.includes('104.09')")
    page.fill("#view-draft input[name=amount]", amount)
    page.fill("#view-draft input[name=term_months]", "12")
    page.fill("#view-draft input[name=purpose]", "种植油菜")


def _member(page, photos, name: str, serial: int, household: str, answers: dict | None = None) -> None:
    page.click("#group-add-member")
    page.wait_for_selector("#view-draft:not([hidden])")
    page.fill("#view-draft input[name=name]", name)
    page.fill("#view-draft input[name=id_number]", valid_id_number(serial, "19800315"))
    page.fill("#view-draft input[name=address]", "新民村一组")
    page.fill("#view-draft input[name=household_key]", household)
    _loan_and_gps(page, "20000")
    # The question the administrator has just added is on the phone, in its section.
    assert page.locator("#survey-box .survey-q[data-question='elders']").count() == 1
    fill_survey(page, {**(answers or {}), "elders": "1"})
    _photograph_missing(page, photos)
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#view-group:not([hidden])")


def _admin_sets_up_the_joint_product(page, base: str, pid: int) -> None:
    # The survey: one question more, in the first section.
    page.goto(f"{base}/admin/products/{pid}")
    page.click("#survey-link")
    page.wait_for_selector("#survey-form")
    page.click("#s0 button[value=add_q_0]")
    page.wait_for_selector("[name=s0_q3_key]")
    page.fill("[name=s0_q3_key]", "elders")
    page.fill("[name=s0_q3_label]", "60岁以上老人")
    page.select_option("[name=s0_q3_type]", "number")
    page.fill("[name=s0_q3_unit]", "人")
    page.fill("[name=s0_q3_min]", "0")
    page.fill("[name=s0_q3_max]", "10")
    page.click("button.primary[value=publish]")
    page.wait_for_selector(".flash-success")
    assert "当前第 2 版" in page.inner_text("#survey-version")
    # The scorecard: the committee's 差 weighs more, with the institution's own reason.
    page.goto(f"{base}/admin/products/{pid}/scorecard")
    i = page.evaluate("[...document.querySelectorAll('input[name$=_key]')]"
                      ".find(e => /^f\\d+_key$/.test(e.name) && e.value === 'committee_rating').name.split('_')[0]")
    bins = page.locator(f"[name^={i}_b][name$=_values]")
    b = next(n for n in range(bins.count()) if bins.nth(n).input_value() == "poor")
    page.fill(f"[name={i}_b{b}_points]", "-30")
    page.fill(f"[name={i}_b{b}_reason]", POOR_REASON)
    page.click("button.primary[value=publish]")
    page.wait_for_selector(".flash-success")
    assert page.evaluate(FITS)
    screenshot(page, "walk-scorecard-desktop.png")
    # The review rules: a score below 60 goes to special review.
    page.goto(f"{base}/admin/products/{pid}/rules")
    page.fill("input[name=special_score_below]", "60")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".flash-success")


def test_a_joint_liability_group_from_the_survey_to_special_review(app, browser, live_server, officer_phone,
                                                                   phone, desktop, photos):
    with app.app_context():
        pid = db.session.scalar(select(Product.id).where(Product.code == "LBD"))

    # Each desk user in a browser of his own (one context holds one login).
    admin_desk = browser.new_context(viewport={"width": 1366, "height": 900})
    admin = admin_desk.new_page()
    login(admin, live_server, "admin")
    _admin_sets_up_the_joint_product(admin, live_server, pid)
    admin_desk.close()

    # The officer, offline in the village: a group of three, 丁三 with poor answers.
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    page.click("#new-group")
    page.wait_for_selector("#view-group:not([hidden])")
    page.fill("#view-group input[name=group_name]", "新民村联保一组")
    page.fill("#view-group input[name=group_village]", "新民村")
    assert page.inner_text("#group-product option:checked") == "农户联保贷款"
    _member(page, photos, "甲一", 701, "XM-01")
    _member(page, photos, "乙二", 702, "XM-02", {"committee_rating": "excellent"})
    _member(page, photos, "丁三", 703, "XM-03", POOR)
    page.wait_for_selector("#group-missing li.ok")
    assert page.evaluate(FITS)
    screenshot(page, "walk-group-phone.png")
    page.click("#group-finish")
    page.wait_for_selector("#view-home:not([hidden])")
    officer_phone.set_offline(False)  # the signal is back: the three manifests go
    wait_until(page, "Store.allDrafts().then(ds => ds.length === 3 && ds.every(d => d.status === 'sent'))", timeout=90)
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == "新民村联保一组"))
        assert group.state == "in_review"
        members = {a.borrower.name: a for a in db.session.scalars(select(Application).where(Application.group_id == group.id))}
        assert set(members) == {"甲一", "乙二", "丁三"}
        scores = {n: a.score for n, a in members.items()}
        ids = {n: a.id for n, a in members.items()}
        group_uuid = group.uuid
        assert all(a.survey_answers["elders"] == "1" for a in members.values())
    assert scores["丁三"] < 60 <= min(scores["甲一"], scores["乙二"]), scores

    # The director on his phone: each member's score with its reasons, the group's exposure.
    director = phone.new_page()
    login(director, live_server, "director1")
    director.click("#queue-director a:has-text('丁三')")
    director.wait_for_selector("#group-box")
    assert director.inner_text("#score-value") == str(scores["丁三"])
    assert POOR_REASON in director.inner_text("#score")
    director.click("#group-box a")
    director.wait_for_selector("#group-members")
    assert director.locator(".group-member").count() == 3
    for name, score in scores.items():
        row = director.locator(".group-member", has_text=name)
        assert f"评分 {score}" in re.sub(r"\s+", " ", row.inner_text())
    poor = director.locator(f"#group-score-{ids['丁三']}")
    poor.locator("summary").click()
    assert POOR_REASON in poor.inner_text() and "-30" in poor.inner_text()
    exposure = director.inner_text("#group-exposure")
    assert "60,000.00" in exposure
    assert director.evaluate(FITS), "the group page is wider than the phone"
    screenshot(director, "walk-group-director-360.png")
    director.click("#group-decision button[value=director_approve]")
    director.wait_for_selector(".flash-success")
    with app.app_context():
        db.session.expire_all()
        assert {db.session.get(Application, i).state for i in ids.values()} == {"awaiting_entry"}
        entries = {n: demo_entry(db.session.get(Application, i)) for n, i in ids.items()}

    # The clerk at HQ: each member's entry, the score beside it, no guarantor.
    clerk = desktop.new_page()
    login(clerk, live_server, "clerk1")
    for name, app_id in ids.items():
        clerk.goto(f"{live_server}/applications/{app_id}/entry")
        assert clerk.inner_text("#score-value") == str(scores[name])
        for field, value in entries[name].items():
            target = clerk.locator(f"#f-{field}")
            if not target.count() or not value:
                continue
            if target.evaluate("e => e.tagName") == "SELECT":
                target.select_option(value)
            else:
                target.fill(value)
        clerk.click("button[value=complete]")
        clerk.wait_for_url(f"{live_server}/applications/{app_id}")
        assert "录入完成" in clerk.inner_text("#messages")

    # The first-level reviewer passes the group at his desk.
    reviewer_desk = browser.new_context(viewport={"width": 1366, "height": 900})
    reviewer = reviewer_desk.new_page()
    login(reviewer, live_server, "reviewer1")
    reviewer.goto(f"{live_server}/groups/{group_uuid}")
    assert "60,000.00" in reviewer.inner_text("#group-exposure")
    reviewer.fill("#group-decision textarea[name=comment]", "联保协议齐全，三户同村")
    reviewer.click("#group-decision button[value=l1_pass]")
    reviewer.wait_for_selector(".flash-success")
    screenshot(reviewer, "walk-group-reviewer-desktop.png")
    with app.app_context():
        db.session.expire_all()
        low = db.session.get(Application, ids["丁三"])
        assert low.state == "awaiting_special"
        assert [(r["level"], r["code"]) for r in low.routing_reasons] == [("special", "score_below")], low.routing_reasons
        others = {db.session.get(Application, ids[n]).state for n in ("甲一", "乙二")}
        assert others <= {"awaiting_disbursement", "awaiting_l2"} and "awaiting_special" not in others
        assert db.session.get(LiabilityGroup, group.id).state == "in_review"  # held at special review
    reviewer.goto(f"{live_server}/applications/{ids['丁三']}")
    why = reviewer.inner_text("#routing")
    assert f"评分 {scores['丁三']} 低于 60" in why, why
    assert reviewer.evaluate(FITS)
    reviewer_desk.close()


def test_a_village_campaign_ends_in_a_light_path_application(app, live_server, officer_phone, phone, desktop, photos):
    # The officer surveys a household of 红星村 offline.
    page = officer_phone.new_page()
    open_campaign_offline(app, page, officer_phone, live_server)
    id_number = valid_id_number(731, "19780412")
    page.fill("#campaign-household", "4组21号")
    page.fill("#campaign-name", "钱丰收")
    page.fill("#campaign-id", id_number)
    page.fill("#campaign-phone", "13912345621")
    page.select_option("#campaign-rating", "excellent")
    page.click("#campaign-gps")
    wait_for_state(page, "document.querySelector('#campaign-gps-info').textContent.includes('104.09')")
    fill_survey(page, box="#campaign-survey")
    page.wait_for_selector("#campaign-missing li.ok")
    page.click("#campaign-finish")
    page.wait_for_selector("#list-surveys li[data-status='queued']")
    officer_phone.set_offline(False)
    page.wait_for_selector("#list-surveys li[data-status='sent']", timeout=30000)
    assert "评分" in page.inner_text("#list-surveys li[data-status='sent']")
    with app.app_context():
        hs = db.session.scalar(select(HouseholdSurvey).join(Borrower).where(Borrower.name == "钱丰收"))
        pa = db.session.scalar(select(PreApproval).where(PreApproval.household_survey_id == hs.id))
        assert pa.status == "proposed" and pa.proposed_limit > 0
        campaign_id, pa_id, proposed = pa.campaign_id, pa.id, pa.proposed_limit

    # HQ approves the white list at the desk.
    hq = desktop.new_page()
    login(hq, live_server, "reviewer2")
    hq.goto(f"{live_server}/villages/campaigns/{campaign_id}")
    row = hq.locator("#white-list tr", has_text="钱丰收")
    assert f"{proposed:,.2f}" in row.inner_text()
    hq.select_option(f"#decision-{pa_id}", "approve")
    hq.click("#white-list-save")
    hq.wait_for_selector(".flash-success")
    assert "已批准" in hq.locator("#white-list tr", has_text="钱丰收").inner_text()
    with app.app_context():
        db.session.expire_all()
        pa = db.session.get(PreApproval, pa_id)
        assert pa.status == "approved" and pa.approved_limit == proposed and pa.valid_until is not None

    # Back on the phone: the household applies within its limit, with the light path's photos only.
    page.evaluate("Sync.run({ sendNow: true })")
    wait_for_state(page, "document.querySelector(\"#list-surveys li[data-status='sent']\").textContent.includes('预授信')")
    page.locator("#list-surveys li[data-status='sent'] button").click()
    page.wait_for_selector("#view-draft:not([hidden])")
    assert page.input_value("#step-borrower input[name=id_number]") == id_number
    amount = f"{min(proposed, 20000):.2f}"
    _loan_and_gps(page, amount)
    assert "房屋照片" not in page.inner_text("#missing")
    _photograph_missing(page, photos)
    page.wait_for_selector("#missing li.ok")
    assert page.evaluate(FITS)
    page.click("#finish")
    page.wait_for_selector("#view-home:not([hidden])")
    wait_until(page, "Store.allDrafts().then(ds => ds.length === 1 && ds[0].status === 'sent')", timeout=60)
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱丰收"))
        assert a.light_path and a.preapproval_id == pa_id and a.state == "awaiting_director", (a.light_path, a.state)
        app_id = a.id

    # The director approves it on his phone: straight to disbursement.
    director = phone.new_page()
    login(director, live_server, "director1")
    director.goto(f"{live_server}/applications/{app_id}")
    assert director.is_visible("#village-credit #light-path")
    assert "整村授信" in director.inner_text("#village-credit")
    assert director.evaluate(FITS)
    director.click("#decision button[value=director_approve]")
    director.wait_for_selector(".state-awaiting_disbursement")
    screenshot(director, "walk-light-path-director-360.png")
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(Application, app_id).state == "awaiting_disbursement"
        assert db.session.scalar(select(VillageCampaign).where(VillageCampaign.id == campaign_id)) is not None
