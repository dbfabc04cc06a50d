"""What the rural credit screens say, as their users read them: the clerk's survey labels with their
units in Chinese brackets, each photo kind's count as the phone shows it (taken / required–most),
the village map's way back named after the village, and the group page's note during data entry."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower
from app.models.credit import Village
from tests.conftest import Auth


def _as(app, username: str):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def _application_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == name))


def test_the_clerk_reads_each_survey_unit_in_chinese_brackets(app, demo):
    a_id = _application_id(app, "王五")  # a joint-liability loan waiting for data entry, with its survey
    html = _as(app, "clerk1").get(f"/applications/{a_id}/entry").get_data(as_text=True)
    assert re.search(r">家庭人口（人）\s*<span class=\"req\"", html), "the unit in full-width brackets"
    assert "家庭人口 (人)" not in html


def test_a_photo_kind_shows_how_many_it_needs_and_takes_at_most(app, demo):
    a_id = _application_id(app, "陈大山")  # a group member: the consents are optional (0, up to 2)
    html = _as(app, "director1").get(f"/applications/{a_id}").get_data(as_text=True)
    titles = dict(re.findall(r'<h3 class="item-title">([^<]+) <span class="muted"[^>]*>([^<]+)</span>', html))
    assert titles["担保承诺书"] == "1 / 0–2", titles
    assert titles["身份证正面"] == "1 / 1", titles
    assert titles["借款调查表"] == "1 / 1–3", titles
    assert "已收到张数 / 需要张数" in html  # the counts explained on hover


def test_the_village_map_leads_back_to_the_village_by_its_name(app, demo):
    with app.app_context():
        v_id = db.session.scalar(select(Village.id).where(Village.name == "红星村"))
    html = _as(app, "director1").get(f"/villages/{v_id}/map").get_data(as_text=True)
    assert re.search(r'<a href="/villages/%d" id="village-back">红星村</a>' % v_id, html)


def test_the_white_list_keeps_each_household_on_one_line(app, demo):
    with app.app_context():
        from app.models.credit import VillageCampaign
        c_id = db.session.scalar(select(VillageCampaign.id))
    html = _as(app, "reviewer2").get(f"/villages/campaigns/{c_id}").get_data(as_text=True)
    # On a phone the table scrolls sideways in its wrapper instead of breaking names into one
    # character per line (static/css/app.css: .nowrap; the inputs side by side in #white-list).
    assert '<div class="table-wrap">\n<table class="table nowrap" id="white-list">' in html


def test_the_officer_has_one_name_in_chinese():
    # The role is 客户经理 on every button and list (退回客户经理, 客户经理：李明); a state or message
    # saying 信贷员 for the same person reads as someone else.
    from babel.messages.pofile import read_po

    from app.config import PROJECT_ROOT

    with open(PROJECT_ROOT / "app/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    other = [m.id for m in catalog if m.id and "信贷员" in (m.string if isinstance(m.string, str) else "".join(m.string))]
    assert other == []


def test_the_borrower_page_does_not_say_his_guarantees_are_unlisted(app, demo):
    # A guarantor is a borrower record (issue 18): the guarantees he gave are listed on his page.
    with app.app_context():
        b_id = db.session.scalar(select(Borrower.id).where(Borrower.name == "陈大山"))
    html = _as(app, "director1").get(f"/borrowers/{b_id}").get_data(as_text=True)
    assert "未列出" not in html and "未与借款人关联" not in html
    assert "他为别人提供的担保列在下方“其提供的担保”中。" in html
    assert 'id="borrower-guarantees-slot"' in html


def test_the_village_and_office_forms_carry_their_input_limits(app, demo):
    # The fields' attributes were escaped into the value (maxlength="&quot;100&quot;"): no length
    # limit in the browser and a full keyboard on the phone for the number of households.
    for username, url in (("director1", "/villages/new"), ("admin", "/admin/offices/new")):
        html = _as(app, username).get(url).get_data(as_text=True)
        assert "&quot;" not in html, url
        assert re.search(r'<input name="name" id="f-name" value="" autocomplete="off" maxlength="100" required', html), url
        assert re.search(r'<input name="lat" id="f-lat" value="" autocomplete="off" inputmode="decimal" maxlength="20"', html), url
    html = _as(app, "director1").get("/villages/new").get_data(as_text=True)
    assert 'id="f-households" value="0" autocomplete="off" inputmode="numeric" maxlength="6"' in html


def test_the_bureau_log_names_who_queried(app, demo):
    html = _as(app, "auditor1").get("/admin/bureau-queries").get_data(as_text=True)
    assert '<table class="rows nowrap" id="bureau-log">' in html  # scrolls sideways on a phone, one line a query
    assert "<th>查询人</th>" in html and "查看人" not in html  # as in its CSV (时间,查询人,…), not 查看人 (a viewer)


def test_the_village_list_says_what_it_holds_once(app, demo):
    html = _as(app, "director1").get("/villages/").get_data(as_text=True)
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert re.sub(r"<[^>]+>", " ", h1).split() == ["整村授信", "村档案与授信活动"]  # not 整村授信 整村授信
    assert '<div class="table-wrap">\n<table class="table" id="village-list">' in html


def test_the_white_list_download_says_each_status_in_chinese(app, demo):
    with app.app_context():
        from app.models.credit import VillageCampaign
        c_id = db.session.scalar(select(VillageCampaign.id))
    client = _as(app, "reviewer2")
    text = client.get(f"/villages/campaigns/{c_id}/white-list.csv").get_data(as_text=True)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("户号,"))
    statuses = {line.split(",")[7] for line in lines[header + 1:] if line}
    assert "已批准" in statuses and not statuses & {"approved", "proposed", "refused", "used"}, statuses


def test_a_group_too_small_to_pass_offers_no_approve_button(app, demo):
    from app.models.credit import LiabilityGroup

    client = _as(app, "director1")
    a_id = _application_id(app, "黄志强")
    html = client.get(f"/applications/{a_id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/applications/{a_id}/act", data={"csrf_token": token, "version": version,
                                                    "event": "director_reject", "comment": "家庭负债过高"})
    with app.app_context():
        uuid = db.session.scalar(select(LiabilityGroup.uuid))
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert "不能作为小组通过" in html  # two members left, three at least
    assert 'value="director_approve"' not in html  # a button that could only be refused
    assert 'value="director_return"' in html and 'id="group-dissolve-open"' in html
