"""Whole-village pre-credit in real Chromium: the officer surveys a household offline on his phone
(360 px) and it arrives when the signal is back; HQ decides the white list at the desktop (a limit
above the proposal refused in Chinese, then approved); the director approves a pre-approved
application on his phone and it goes straight to disbursement; the village map at 360 px."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Application, User
from app.models.credit import HouseholdSurvey, PreApproval, VillageCampaign
from app.services import villages
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.e2e.officer import open_campaign_offline, SURVEY_ANSWERS, fill_survey
from tests.sync_helpers import valid_id_number

pytestmark = pytest.mark.e2e


def test_an_officer_surveys_a_household_offline_and_it_arrives(app, live_server, officer_phone):
    page = officer_phone.new_page()
    open_campaign_offline(app, page, officer_phone, live_server)
    assert page.is_hidden("#view-home")
    page.fill("#campaign-household", "2组15号")
    page.fill("#campaign-name", "钟大有")
    page.fill("#campaign-id", valid_id_number(611, "19790506")[:-1] + ("0" if valid_id_number(611, "19790506")[-1] != "0" else "1"))
    page.wait_for_selector("#campaign-id-hint.field-error")  # the check digit, checked on the phone
    page.fill("#campaign-id", valid_id_number(611, "19790506"))
    page.wait_for_selector("#campaign-id-hint:not(.field-error)", state="attached")
    page.fill("#campaign-phone", "13912345600")
    page.select_option("#campaign-rating", "excellent")
    page.click("#campaign-gps")
    wait_for_state(page, "document.querySelector('#campaign-gps-info').textContent.includes('104.09')")
    fill_survey(page, box="#campaign-survey")
    page.wait_for_selector("#campaign-missing li.ok")
    assert page.evaluate(FITS)
    screenshot(page, "village-survey-phone.png")
    page.click("#campaign-finish")
    page.wait_for_selector("#view-home:not([hidden]) #list-surveys li[data-status='queued']")
    (queued,) = page.evaluate("Store.allSurveys()")
    assert queued["status"] == "queued" and queued["rating"] == "excellent" and queued["sent_answers"]["members"] == "5"
    with app.app_context():
        assert db.session.scalar(select(HouseholdSurvey).where(HouseholdSurvey.uuid == queued["uuid"])) is None

    officer_phone.set_offline(False)  # the "online" event runs the queue
    page.wait_for_selector("#list-surveys li[data-status='sent']", timeout=30000)
    with app.app_context():
        row = db.session.scalar(select(HouseholdSurvey).where(HouseholdSurvey.uuid == queued["uuid"]))
        assert row is not None and row.borrower.name == "钟大有" and row.committee_rating == "excellent"
        assert row.answers["members"] == "5" and row.lat is not None and row.score is not None
    sent = page.locator("#list-surveys li[data-status='sent']")
    assert "评分" in sent.inner_text()
    # HQ approves the household's limit; the next sync run tells the phone.
    with app.app_context():
        from datetime import timedelta

        pa = db.session.scalar(select(PreApproval).where(PreApproval.household_survey_id == row.id))
        limit = pa.proposed_limit
        villages.decide_white_list(db.session.scalar(select(User).where(User.username == "reviewer2")), pa.campaign,
                                   {pa.id: ("approve", "")}, (clock.business_today() + timedelta(days=90)).isoformat(),
                                   today=clock.business_today(), now=clock.now())
    page.evaluate("Sync.run({ sendNow: true })")
    page.wait_for_function("document.querySelector(\"#list-surveys li[data-status='sent']\").textContent.includes('预授信')")
    # The household applies: a draft with the head and the survey's answers already filled in.
    page.locator("#list-surveys li[data-status='sent'] button").click()
    page.wait_for_selector("#view-draft:not([hidden])")
    assert page.input_value("#step-borrower input[name=name]") == "钟大有"
    assert page.input_value("#step-borrower input[name=id_number]") == valid_id_number(611, "19790506")
    assert page.input_value("#step-borrower input[name=household_key]") == "2组15号"
    # Within the approved limit only the light path's photos are asked for; above it, all of them.
    page.fill("#view-draft input[name=amount]", f"{limit:.2f}")
    page.wait_for_function("!document.querySelector('#missing').textContent.includes('房屋照片')")
    assert "借款借据" in page.inner_text("#missing")
    page.fill("#view-draft input[name=amount]", f"{limit + 100:.2f}")
    page.wait_for_function("document.querySelector('#missing').textContent.includes('房屋照片')")


def test_hq_decides_the_white_list_at_the_desktop(app, live_server, desktop):
    with app.app_context():
        c = db.session.scalar(select(VillageCampaign))
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        answer = villages.receive_household(c.uuid, {
            "uuid": str(uuid.uuid4()), "surveyed_at": clock.now().isoformat(), "household_no": "4组01号",
            "head": {"name": "贺长青", "id_number": valid_id_number(622, "19760809"), "phone": None},
            "answers": {k: (v == "yes" if k == "has_vehicle" else v) for k, v in SURVEY_ANSWERS.items() if k != "committee_rating"},
            "rating": "excellent", "gps": None}, officer, now=clock.now())
        assert answer["proposed_limit"], answer
        pa = db.session.scalar(select(PreApproval).where(PreApproval.status == "proposed"))
        pa_id, c_id, proposed = pa.id, c.id, pa.proposed_limit
    page = desktop.new_page()
    login(page, live_server, "reviewer2")
    page.goto(f"{live_server}/villages/campaigns/{c_id}")
    assert "贺长青" in page.inner_text("#white-list")
    page.fill(f"#limit-{pa_id}", f"{proposed + 1000:.2f}")
    page.select_option(f"#decision-{pa_id}", "approve")
    page.click("#white-list-save")
    page.wait_for_selector(".flash-error")
    assert "预授信金额超过额度" in page.inner_text(".flash-error")
    with app.app_context():
        assert db.session.get(PreApproval, pa_id).status == "proposed"
    page.fill(f"#limit-{pa_id}", f"{proposed - 1000:.2f}")
    page.click("#white-list-approve-all")
    page.wait_for_selector(".flash-success")
    screenshot(page, "village-white-list.png")
    with app.app_context():
        pa = db.session.get(PreApproval, pa_id)
        assert pa.status == "approved" and pa.approved_limit == proposed - 1000 and pa.valid_until is not None


def test_the_director_approves_a_preapproved_application_on_his_phone(app, live_server, phone):
    with app.app_context():
        a_id = db.session.scalar(select(Application.id).where(Application.light_path.is_(True)))
    page = phone.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/applications/{a_id}")
    assert page.is_visible("#village-credit #light-path")
    assert "整村授信" in page.inner_text("#village-credit")
    assert page.evaluate(FITS)
    page.click("#decision button[value=director_approve]")
    page.wait_for_selector(".state-awaiting_disbursement")
    with app.app_context():
        assert db.session.get(Application, a_id).state == "awaiting_disbursement"


def test_the_village_map_at_360_px(app, live_server, phone):
    page = phone.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/villages/")
    assert page.evaluate(FITS)
    page.click("#village-list a")
    assert page.evaluate(FITS)
    page.click("#campaigns li a")
    page.wait_for_selector("#white-list")
    assert page.evaluate(FITS)  # the white list scrolls inside its own box on a phone
    page.go_back()
    page.click("#village-map-link")
    page.wait_for_selector("#village-map[data-households='12']")
    counts = {k: page.inner_text(f"#village-legend [data-count='{k}']") for k in ("surveyed", "preapproved", "borrowing", "late")}
    assert counts["preapproved"] == "9" and counts["surveyed"] == "3" and counts["borrowing"] == "0"
    assert page.locator("#village-map canvas").count() >= 1  # drawn without tiles (no TIANDITU_KEY here)
    assert page.evaluate(FITS)
    screenshot(page, "village-map-phone.png")
