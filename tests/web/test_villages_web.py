"""The village pages: who may open them (directors their offices' villages, HQ reviewers every one,
officers and the others none), the village form's refusals in Chinese with nothing written, a
campaign started by the director, the white list decided only by a senior reviewer, the map's
compact data (no HTML, no ID number) and the application page's light-path box."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from tests.conftest import Auth
from app.models import Application, Borrower
from app.models.credit import Village, VillageCampaign


def _as(app, username: str):
    """A fresh browser session logged in as ``username``."""
    client = app.test_client()
    auth = Auth(client)
    assert auth.login(username).status_code == 302
    return client, auth


def _ids(app) -> tuple[int, int]:
    with app.app_context():
        v = db.session.scalar(select(Village))
        c = db.session.scalar(select(VillageCampaign))
        return v.id, c.id


def test_who_opens_the_village_pages(app, client, auth, demo):
    v_id, c_id = _ids(app)
    pages = [f"/villages/{v_id}", f"/villages/campaigns/{c_id}", f"/villages/{v_id}/map", f"/villages/{v_id}/map.json"]
    for username, expected in (("director1", 200), ("reviewer1", 200), ("special1", 200), ("director2", 404),
                               ("officer1", 403), ("clerk1", 403), ("cashier1", 403), ("admin", 403)):
        client, auth = _as(app, username)
        for url in pages:
            assert client.get(url).status_code == expected, f"{username} {url}"
    client, auth = _as(app, "director2")
    assert "红星村" not in client.get("/villages/").get_data(as_text=True)


def test_the_menu_offers_villages_to_their_managers_only(app, demo):
    client, _ = _as(app, "director1")
    assert 'href="/villages/"' in client.get("/").get_data(as_text=True)
    client, _ = _as(app, "officer1")
    assert 'href="/villages/"' not in client.get("/").get_data(as_text=True)


def test_the_village_form_refuses_in_chinese_and_writes_nothing(app, client, auth, demo):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Village))
        other_office = db.session.scalar(select(Village.office_id)) + 1  # 河口办事处: not director1's
    auth.login("director1")
    response = auth.post("/villages/new", {"office_id": str(other_office), "name": "红星村", "households": "-3",
                                           "lat": "abc", "lon": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请选择您的办事处" in html and "请输入 0 到 100000 之间的整数" in html and "-90" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Village)) == before
    ok = auth.post("/villages/new", {"office_id": str(other_office - 1), "name": "新华村", "households": "210",
                                     "lat": "30.7", "lon": "104.1"})
    assert ok.status_code == 303
    duplicate = auth.post("/villages/new", {"office_id": str(other_office - 1), "name": "新华村", "households": "1"})
    assert duplicate.status_code == 422 and "同名" in duplicate.get_data(as_text=True)


def test_an_office_or_product_id_too_long_for_the_database_is_refused_in_words(app, client, auth, demo):
    v_id, _c_id = _ids(app)
    with app.app_context():
        villages, campaigns = (db.session.scalar(select(func.count()).select_from(m)) for m in (Village, VillageCampaign))
    auth.login("director1")
    huge = "9" * 40  # SQLite cannot bind it: it named no row, but answered with a server error
    village = auth.post("/villages/new", {"office_id": huge, "name": "新华村", "households": "1"})
    assert village.status_code == 422 and "请选择您的办事处" in village.get_data(as_text=True)
    campaign = auth.post(f"/villages/{v_id}/campaigns", {"product_id": huge}, follow_redirects=True)
    assert campaign.status_code == 200 and "请选择贷款产品" in campaign.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Village)) == villages
        assert db.session.scalar(select(func.count()).select_from(VillageCampaign)) == campaigns


def test_a_director_starts_a_campaign_and_a_reviewer1_cannot_decide_the_white_list(app, client, auth, demo):
    v_id, c_id = _ids(app)
    auth.login("director1")
    with app.app_context():
        product_id = db.session.scalar(select(VillageCampaign.product_id))
    again = auth.post(f"/villages/{v_id}/campaigns", {"product_id": str(product_id)}, follow_redirects=True)
    assert "已有正在进行的整村授信" in again.get_data(as_text=True)
    assert auth.post(f"/villages/campaigns/{c_id}/decide", {"all": "approve"}).status_code == 403
    client, auth = _as(app, "reviewer1")
    page = client.get(f"/villages/campaigns/{c_id}").get_data(as_text=True)
    assert "white-list-approve-all" not in page
    assert auth.post(f"/villages/campaigns/{c_id}/decide", {"all": "approve"}).status_code == 403


def test_the_map_data_is_compact_and_shows_no_id_number(app, client, auth, demo):
    v_id, _ = _ids(app)
    auth.login("director1")
    response = client.get(f"/villages/{v_id}/map.json")
    data = response.get_json()
    assert data["s"] == ["late", "borrowing", "preapproved", "surveyed"] and len(data["h"]) == 12
    assert all(len(h) == 4 and isinstance(h[0], int) and isinstance(h[3], str) for h in data["h"])
    body = response.get_data(as_text=True)
    with app.app_context():
        numbers = set(db.session.scalars(select(Borrower.id_number)))
    assert "<" not in body and not any(n in body for n in numbers)
    assert sum(data["n"].values()) == 12


def test_the_application_page_shows_the_light_path(app, client, auth, demo):
    with app.app_context():
        a_id = db.session.scalar(select(Application.id).where(Application.light_path.is_(True)))
    auth.login("director1")
    html = client.get(f"/applications/{a_id}").get_data(as_text=True)
    assert 'id="light-path"' in html and "整村授信 · 预授信" in html and "仅需主任审批" in html


def test_an_id_too_long_for_the_database_in_a_url_is_not_found(app, client, auth, demo):
    huge = "9" * 23  # SQLite cannot bind it: it named no row, but answered with a server error
    auth.login("director1")
    for url in (f"/villages/{huge}", f"/villages/campaigns/{huge}", f"/villages/{huge}/map.json",
                f"/applications/{huge}", f"/borrowers/{huge}/guarantees"):
        assert client.get(url).status_code == 404, url
    client, auth = _as(app, "reviewer1")
    assert client.get(f"/applications/1/bureau/{huge}/report").status_code in (404, 405)  # no such route
