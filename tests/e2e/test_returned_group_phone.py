"""A returned joint-liability group takes a new member from the officer's phone (360 px, real
Chromium): the director returns the demo group of three, the officer's phone (enrolled afresh: it did
not form the group) learns the group with its members, the officer captures a fourth household
offline — a household number already in the group is told on the phone and finishing waits — answers
the three returns, and online everything goes; the director then finds the group back in review with
four members."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import clock
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, User
from app.models.credit import LiabilityGroup
from app.services import groups
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.e2e.officer import drafts, enrol_phone, fill_survey, phone_photos, wait_until
from tests.sync_helpers import valid_id_number

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"), size=(1200, 900))


def _group(app) -> tuple[str, list[str]]:
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))
        return group.state, list(db.session.scalars(select(Application.state).where(Application.group_id == group.id)
                                                    .order_by(Application.id)))


def test_officer_adds_a_member_to_a_returned_group_offline(app, live_server, officer_phone, phone, photos):
    with app.app_context():
        director = db.session.scalar(select(User).where(User.username == "director1"))
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))
        group_uuid = group.uuid
        groups.decide(director, group.id, Event.DIRECTOR_RETURN, now=clock.now(), comment="请再增加一户成员")
    assert _group(app) == ("returned", ["returned"] * 3)

    page = officer_phone.new_page()
    enrol_phone(app, page, live_server, "officer2")
    # The phone learns the group returned to him, with its members, on its first contact.
    wait_until(page, f"Store.getMeta('groups').then(g => !!g && !!g['{group_uuid}'] && g['{group_uuid}'].status === 'returned')",
               timeout=60)
    page.click("#send-now")
    page.wait_for_selector(f"#list-groups li[data-group='{group_uuid}']")
    officer_phone.set_offline(True)
    page.locator(f"#list-groups li[data-group='{group_uuid}'] button").click()
    page.wait_for_selector("#view-group:not([hidden])")
    assert page.locator("#group-members .server-member").count() == 3
    assert "陈大山" in page.inner_text("#group-members")
    assert page.input_value("#view-group input[name=group_name]") == groups.DEMO_GROUP
    assert page.is_disabled("#group-finish")  # no new member yet

    # The new member, captured as in forming; first with 陈大山's household number.
    page.click("#group-add-member")
    page.wait_for_selector("#view-draft:not([hidden])")
    assert groups.DEMO_GROUP in page.inner_text("#draft-group")
    assert page.input_value("#view-draft input[name=village]") == "城关镇新华村"
    page.fill("#view-draft input[name=name]", "赵新户")
    page.fill("#view-draft input[name=id_number]", valid_id_number(811))
    page.fill("#view-draft input[name=address]", "城关镇新华村9组")
    page.fill("#view-draft input[name=household_key]", "城关镇新华村-g0")
    items = page.locator(".photo-item")
    for i in range(items.count()):
        if " / 0" in items.nth(i).locator(".item-count").inner_text():
            continue
        before = page.locator(".thumb").count()
        items.nth(i).locator("input[type=file]").set_input_files(str(photos[i % len(photos)]))
        wait_for_state(page, f"document.querySelectorAll('.thumb').length > {before}")
    page.click("#take-gps")
    wait_for_state(page, "document.querySelector('#gps-info').textContent.includes('104.09')")
    page.fill("#view-draft input[name=amount]", "18000")
    page.fill("#view-draft input[name=term_months]", "10")
    page.fill("#view-draft input[name=purpose]", "购买猪仔")
    fill_survey(page)
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#view-group:not([hidden])")
    assert "城关镇新华村-g0" in page.inner_text("#group-missing")  # one member per household
    assert page.is_disabled("#group-finish")
    page.locator("#group-members li.new-member button").click()
    page.wait_for_selector("#view-draft:not([hidden])")
    page.fill("#view-draft input[name=household_key]", "城关镇新华村-g9")
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#view-group:not([hidden])")
    page.wait_for_selector("#group-missing li.ok")
    assert "共 4 名成员" in page.inner_text("#group-count")
    assert page.evaluate(FITS), "the returned group's screen is wider than the phone"
    screenshot(page, "phone-returned-group-360.png")
    page.click("#group-finish")
    page.wait_for_selector("#view-home:not([hidden])")
    new = [d for d in drafts(page) if d["borrower"]["name"] == "赵新户"][0]
    assert new["status"] == "queued" and new["group"]["size"] == 4 and new["group"]["uuid"] == group_uuid

    # The three returns answered, offline too.
    for _ in range(3):
        page.locator("#list-todo button").first.click()
        page.wait_for_selector("#view-draft:not([hidden])")
        page.fill("#view-draft textarea[name=resubmit_note]", "已增加一户成员")
        page.wait_for_selector("#missing li.ok")
        page.click("#finish")
        page.wait_for_selector("#view-home:not([hidden])")
    assert _group(app) == ("returned", ["returned"] * 3)

    officer_phone.set_offline(False)
    wait_until(page, "Store.allDrafts().then(ds => ds.length === 4 && ds.every(d => d.status === 'sent'"
                     " && d.photos.every(p => p.confirmed)))", timeout=120)
    wait_for_state(page, "true")
    for _ in range(60):
        if _group(app)[0] == "in_review":
            break
        page.wait_for_timeout(500)
    assert _group(app) == ("in_review", ["awaiting_director"] * 4)

    # The director finds the group in review with its four members.
    director_page = phone.new_page()
    login(director_page, live_server, "director1")
    director_page.goto(f"{live_server}/groups/{group_uuid}")
    director_page.wait_for_selector("#group-members")
    assert director_page.locator(".group-member").count() == 4
    assert "赵新户" in director_page.inner_text("#group-members")
    assert director_page.locator("#group-decision button[value=director_approve]").count() == 1
    assert director_page.evaluate(FITS)
