"""The officer's phone in real Chromium (issue 18): the household survey filled offline, checked as
the server checks it and kept through a reload; a joint-liability group of three members captured
offline, two of them marked relatives; online, the server holds the group with its three members
and their answers. At 360 px."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application
from app.models.credit import LiabilityGroup
from tests.e2e.conftest import FITS, screenshot, wait_for_state
from tests.e2e.officer import drafts, enrol_phone, fill_survey, phone_photos, wait_until
from tests.sync_helpers import valid_id_number

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"), size=(1200, 900))


def _member(page, photos, name, serial, household, *, survey=None):
    """Capture one member inside the open group, up to its survey (not finished)."""
    page.click("#group-add-member")
    page.wait_for_selector("#view-draft:not([hidden])")
    assert "红星一组" in page.inner_text("#draft-group")
    assert page.is_disabled("#product-select")  # the group's loan type
    assert page.input_value("#view-draft input[name=village]") == "红星村"  # the group's village
    page.fill("#view-draft input[name=name]", name)
    page.fill("#view-draft input[name=id_number]", valid_id_number(serial))
    page.fill("#view-draft input[name=address]", "红星村2组")
    page.fill("#view-draft input[name=household_key]", household)
    items = page.locator(".photo-item")
    for i in range(items.count()):
        if " / 0" in items.nth(i).locator(".item-count").inner_text():  # "taken / required–most"
            continue  # not required
        before = page.locator(".thumb").count()
        items.nth(i).locator("input[type=file]").set_input_files(str(photos[i % len(photos)]))
        wait_for_state(page, f"document.querySelectorAll('.thumb').length > {before}")
    page.click("#take-gps")
    wait_for_state(page, "document.querySelector('#gps-info').textContent.includes('104.09')")
    page.fill("#view-draft input[name=amount]", "20000")
    page.fill("#view-draft input[name=term_months]", "6")
    page.fill("#view-draft input[name=purpose]", "油菜种植")
    fill_survey(page, survey)


def _finish_member(page):
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#view-group:not([hidden])")


def test_officer_fills_the_survey_and_captures_a_group_offline(app, live_server, officer_phone, photos):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    page.wait_for_selector("#groups-card:not([hidden])")
    page.click("#new-group")
    page.wait_for_selector("#view-group:not([hidden])")
    page.fill("#view-group input[name=group_name]", "红星一组")
    page.fill("#view-group input[name=group_village]", "红星村")
    assert page.inner_text("#group-product option:checked") == "农户联保贷款"
    assert "3 至 5 人" in page.inner_text("#group-missing")

    # The first member: a wrong answer is told in Chinese as it is typed, and finishing waits.
    _member(page, photos, "甲大", 301, "HX-01", survey={"members": "40", "land_mu": "6.55"})
    members_q = page.locator(".survey-q[data-question='members'] .field-error")
    assert "不能超过 30 人" in members_q.inner_text()
    assert "最多 1 位小数" in page.inner_text(".survey-q[data-question='land_mu'] .field-error")
    assert page.is_disabled("#finish")
    assert "家庭人口" in page.inner_text("#missing")
    assert page.evaluate(FITS), "the form with its survey is wider than the screen"
    screenshot(page, "phone-survey-360.png")
    page.fill(".survey-q[data-question='members'] input", "6")
    page.fill(".survey-q[data-question='land_mu'] input", "6.5")
    assert members_q.is_hidden()
    # Nothing is lost if the app closes: reload offline, the answers come back from IndexedDB.
    wait_until(page, "Store.allDrafts().then(ds => ds.some(d => d.survey && d.survey.answers.members === '6'"
                     " && d.survey.answers.committee_rating === 'good' && d.survey.answers.has_vehicle === true))")
    page.reload()
    page.wait_for_selector("#view-home:not([hidden])")
    page.click("#list-groups button")
    page.wait_for_selector("#view-group:not([hidden])")
    page.click("#group-members button")
    page.wait_for_selector("#view-draft:not([hidden])")
    assert page.input_value(".survey-q[data-question='members'] input") == "6"
    assert page.input_value(".survey-q[data-question='house_type'] select") == "brick_concrete"
    # A photo question: the photo is the draft's, under the survey photos, not among the documents.
    house = page.locator(".survey-q[data-question='house_photo']")
    house.evaluate("el => { el.closest('details').open = true; }")
    house.locator("input[type=file]").set_input_files(str(photos[0]))
    wait_until(page, "Store.allDrafts().then(ds => ds.some(d => d.survey && d.survey.answers.house_photo"
                     " && d.photos.some(p => p.uuid === d.survey.answers.house_photo && p.question === 'house_photo')))")
    house.locator(".thumb img[src^='blob:']").wait_for()
    assert house.locator(".camera").is_hidden()  # one photo answers the question
    _finish_member(page)

    # The second shares the first's household number: the group cannot be finished.
    _member(page, photos, "乙二", 302, "HX-01")
    _finish_member(page)
    _member(page, photos, "丙三", 303, "HX-03")
    _finish_member(page)
    assert "同为 HX-01" in page.inner_text("#group-missing")
    assert page.is_disabled("#group-finish")
    page.locator("#group-members li", has_text="乙二").locator("button").click()
    page.wait_for_selector("#view-draft:not([hidden])")
    page.fill("#view-draft input[name=household_key]", "HX-02")
    _finish_member(page)
    # 甲大 and 乙二 are relatives (one pair is allowed).
    page.locator("#group-relatives label", has_text="甲大 与 乙二").locator("input").check()
    page.wait_for_selector("#group-missing li.ok")
    assert page.evaluate(FITS), "the group screen is wider than the screen"
    screenshot(page, "phone-group-360.png")
    page.click("#group-finish")
    page.wait_for_selector("#view-home:not([hidden])")
    progress = page.inner_text("#list-groups .group-progress")
    assert "已采集 3 / 3 名成员" in progress and "已发送 0" in progress
    ds = drafts(page)
    assert sorted(d["status"] for d in ds) == ["queued"] * 3
    group_uuid = ds[0]["group"]["uuid"]
    assert all(d["group"]["size"] == 3 and len(d["group"]["relatives"]) == 1 for d in ds)

    officer_phone.set_offline(False)  # the queue runs: the members go one by one
    wait_until(page, "Store.allDrafts().then(ds => ds.length === 3 && ds.every(d => d.status === 'sent'))", timeout=90)
    page.click("#send-now")
    wait_for_state(page, "document.querySelector('#list-groups .group-progress').textContent.includes('已发送 3')")
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.uuid == group_uuid))
        assert group.state == "in_review" and group.expected_size == 3 and group.name == "红星一组"
        members = db.session.scalars(select(Application).where(Application.group_id == group.id)).all()
        assert sorted(a.borrower.name for a in members) == ["丙三", "乙二", "甲大"]
        assert sorted(a.borrower.household_key for a in members) == ["HX-01", "HX-02", "HX-03"]
        first = next(a for a in members if a.borrower.name == "甲大")
        assert first.survey_answers["members"] == "6" and first.survey_answers["land_mu"] == "6.5"
        assert first.survey_answers["crop_income"] == "30000.00" and first.survey_answers["has_vehicle"] is True
        assert all(a.survey_version_id is not None and a.survey_answers["committee_rating"] == "good" for a in members)
        house_photo = next(p for p in first.photos if p.uuid == first.survey_answers["house_photo"])
        assert house_photo.item.code == "survey_photo" and house_photo.received_at is not None
        by_name = {a.borrower.name: a.uuid for a in members}
        assert sorted(map(sorted, group.relatives)) == [sorted([by_name["甲大"], by_name["乙二"]])]
