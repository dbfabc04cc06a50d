"""The rural credit screens as they look at 360 px and at the desktop, in real Chromium: the white
list keeps each household's name on one line (the table scrolls sideways in its wrapper) and puts the
approved limit beside its decision; the phone reads a typed amount as money reads elsewhere."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import User
from app.models.credit import PreApproval, VillageCampaign
from app.services import villages
from tests.e2e.conftest import FITS, login
from tests.e2e.officer import SURVEY_ANSWERS
from tests.sync_helpers import valid_id_number

pytestmark = pytest.mark.e2e

# How many lines a cell's first text runs over (one rectangle per line box).
LINES = """(td) => { const r = document.createRange(); r.selectNodeContents(td.firstChild);
                      return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }"""


def _campaign_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(VillageCampaign.id))


def test_the_white_list_on_a_phone_keeps_each_name_on_one_line(app, live_server, phone):
    page = phone.new_page()
    login(page, live_server, "reviewer2")
    page.goto(f"{live_server}/villages/campaigns/{_campaign_id(app)}")
    page.wait_for_selector("#white-list")
    assert page.evaluate(FITS)  # the page itself does not scroll sideways
    names = page.locator("#white-list tbody td:first-child")
    assert names.count() >= 12
    assert [names.nth(i).evaluate(LINES) for i in range(names.count())] == [1] * names.count()
    headers = page.locator("#white-list thead th")
    assert [headers.nth(i).evaluate(LINES) for i in range(headers.count())] == [1] * headers.count()
    wrap = page.locator(".table-wrap:has(#white-list)")
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # the rest of the row is a swipe away


def test_the_white_list_puts_the_limit_beside_its_decision(app, live_server, desktop):
    with app.app_context():  # one household surveyed and proposed, waiting for the decision
        c = db.session.scalar(select(VillageCampaign))
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        answer = villages.receive_household(c.uuid, {
            "uuid": str(uuid.uuid4()), "surveyed_at": clock.now().isoformat(), "household_no": "4组01号",
            "head": {"name": "贺长青", "id_number": valid_id_number(622, "19760809"), "phone": None},
            "answers": {k: (v == "yes" if k == "has_vehicle" else v) for k, v in SURVEY_ANSWERS.items() if k != "committee_rating"},
            "rating": "excellent", "gps": None}, officer, now=clock.now())
        assert answer["proposed_limit"], answer
        pa_id = db.session.scalar(select(PreApproval.id).where(PreApproval.status == "proposed"))
        c_id = c.id
    page = desktop.new_page()
    login(page, live_server, "reviewer2")
    page.goto(f"{live_server}/villages/campaigns/{c_id}")
    limit, decision = page.locator(f"#limit-{pa_id}").bounding_box(), page.locator(f"#decision-{pa_id}").bounding_box()
    assert abs(limit["y"] - decision["y"]) < 5 and decision["x"] > limit["x"] + limit["width"], (limit, decision)
    row = page.locator(f"#white-list tr:has(#limit-{pa_id}) td:first-child")
    assert row.evaluate(LINES) == 1


def test_the_phone_reads_a_typed_amount_as_money(app, live_server, phone):
    page = phone.new_page()
    page.goto(f"{live_server}/m/")
    shown = page.evaluate("import('/static/js/phone/format.js').then(f => ['18000', '15000.00', '1,200.5', '12a']"
                          ".map(f.shownAmount))")
    assert shown == ["¥18,000.00", "¥15,000.00", "¥1,200.50", "¥12a"]


def test_the_scorecard_grades_read_whole_on_a_phone(app, live_server, phone):
    from app.models import Product

    with app.app_context():
        p_id = db.session.scalar(select(Product.id).where(Product.code == "XYD"))
    page = phone.new_page()
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/products/{p_id}/scorecard")
    amounts = page.locator("#scorecard-limit input[name$='_max_amount']")
    assert amounts.count() >= 3
    for i in range(amounts.count()):  # 200000 not cut to 20000…
        assert amounts.nth(i).evaluate("el => el.scrollWidth <= el.clientWidth"), amounts.nth(i).input_value()
    removes = page.locator("#scorecard-limit button[value^='dropgrade_']")
    assert all(removes.nth(i).evaluate("b => b.getClientRects().length === 1 && b.getBoundingClientRect().height < 40")
               for i in range(removes.count()))
    assert page.evaluate(FITS)


def test_the_phone_shows_the_village_campaign_before_what_others_decided(app, live_server, officer_phone):
    # The officer's own work first (returned to-dos, drafts, groups, village surveys), then the
    # notifications: a campaign's 调查一户 is not below a long list of what others decided.
    from tests.e2e.officer import enrol_phone

    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.evaluate("Sync.run({ sendNow: true })")
    page.wait_for_selector("#campaign-card:not([hidden]) #campaign-new-0")
    order = page.evaluate("Array.from(document.querySelectorAll('#view-home > section')).map(s => s.id)")
    assert order.index("campaign-card") < order.index("notes-card"), order
    assert order.index("groups-card") < order.index("campaign-card"), order
    assert page.evaluate(FITS)
