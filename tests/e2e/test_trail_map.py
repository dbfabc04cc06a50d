"""The trail map on 天地图 tiles (issue 12 item 8): the key in the tile URL, both layers (map and
labels) requested from the hosts the CSP allows, the trail and the visits drawn, no CSP violation."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import TrackPoint, User
from app.services import devices as device_service
from app.services import jobs
from tests.e2e.conftest import login, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]

# A 1x1 transparent PNG: the tile server is not reachable from here, the route answers for it.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _day_with_points(app, lats) -> tuple[int, str]:
    now = datetime.now(timezone.utc)
    day = jobs.business_today() - timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)  # 09:00 in China
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        code = device_service.create_enrolment_code(officer, admin=admin, now=now)
        device = device_service.redeem(code, officer, label="", phone_number="13800000001", now=now,
                                       user_agent="Mozilla/5.0 (Linux; Android 13)").device
        for i, lat in enumerate(lats):
            db.session.add(TrackPoint(uuid=str(uuid.uuid4()), user_id=officer.id, device_id=device.id,
                                      at=start + timedelta(minutes=5 * i), lat=lat, lon=104.09, accuracy_m=10,
                                      is_mock=False, received_at=now))
        db.session.commit()
        return officer.id, day.isoformat()


def test_the_trail_draws_on_tianditu_tiles_with_the_key(app, live_server, desktop):
    app.config["TIANDITU_KEY"] = "0123abcdef"
    officer_id, day = _day_with_points(app, (30.660, 30.6602, 30.6604))  # 44 m in all
    tiles: list[str] = []

    def tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    desktop.route("https://*.tianditu.gov.cn/**", tile)
    page = desktop.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/tasks/trail/{officer_id}?date={day}")
    # The trail (one polyline) is drawn, and tiles load from 天地图 with the key.
    wait_for_state(page, "document.querySelectorAll('#trail-map .leaflet-overlay-pane path').length >= 1")
    wait_for_state(page, "document.querySelectorAll('#trail-map .leaflet-tile-loaded').length >= 2")
    assert tiles and all("tk=0123abcdef" in url for url in tiles)
    assert {url.split("/")[2].split(".")[0] for url in tiles} <= {f"t{i}" for i in range(8)}
    assert any("LAYER=vec" in url for url in tiles) and any("LAYER=cva" in url for url in tiles)
    # Short distances read in metres, never "0.0 km".
    summary = page.inner_text("#trail-summary")
    assert "44 m" in summary and "0.0" not in summary
    assert page.locator("#map-note").count() == 0


def test_without_a_key_no_tiles_and_a_note_for_the_admin(app, live_server, desktop):
    app.config["TIANDITU_KEY"] = ""
    officer_id, day = _day_with_points(app, (30.660, 30.661))
    requested: list[str] = []
    desktop.on("request", lambda r: requested.append(r.url))
    page = desktop.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/tasks/trail/{officer_id}?date={day}")
    wait_for_state(page, "document.querySelectorAll('#trail-map .leaflet-overlay-pane path').length >= 1")
    assert "TIANDITU_KEY" in page.inner_text("#map-note")
    assert page.locator("#trail-map .leaflet-tile").count() == 0
    assert not [url for url in requested if "tianditu" in url]


def test_the_phone_reads_distances_as_the_desk_does(app, live_server, phone):
    # The same rounding step as app/domain/geo.format_distance: 999.6 m rounded to 1000 m read "1000 m".
    page = phone.new_page()
    page.goto(f"{live_server}/m/")
    shown = page.evaluate("import('/static/js/phone/format.js').then(f => [999.6, 999.4, 35.4, 12345]"
                          ".map(f.formatDistance))")
    assert "1000" not in shown[0] and "1.0" in shown[0]
    assert "999" in shown[1] and "35" in shown[2] and "12.3" in shown[3]
