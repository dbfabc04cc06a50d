"""The trail page's base map, coordinates and distance (issue 12 item 8): 天地图 with its key, a
note without one, points converted for GCJ-02/BD-09 tiles, the CSP allowing only the configured
tile hosts, and a distance that never reads 0.0 km when there are points."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain import geo
from app.extensions import db
from app.models import User
from app.services import jobs
from tests.conftest import Auth
from tests.sync_helpers import enrol


def _day(app, client, lats, *, accuracy=10) -> tuple[int, str]:
    headers = enrol(app, "officer1")
    day = jobs.business_today() - timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)  # 09:00 in China
    points = [{"uuid": str(uuid.uuid4()), "at": (start + timedelta(minutes=5 * i)).isoformat(), "lat": lat,
               "lon": 104.09, "accuracy_m": accuracy, "is_mock": False} for i, lat in enumerate(lats)]
    assert client.post("/api/v1/track", json={"points": points}, headers=headers).status_code == 200
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == "officer1")), day.isoformat()


def _page(app, officer_id: int, day: str):
    director = Auth(app.test_client())
    director.login("director1")
    r = director.client.get(f"/tasks/trail/{officer_id}?date={day}")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="trail-data">(.*?)</script>', text, re.S)[1])
    tiles = json.loads(re.search(r'<script type="application/json" id="trail-tiles">(.*?)</script>', text, re.S)[1])
    summary = re.search(r'<p id="trail-summary">(.*?)</p>', text, re.S)[1]
    return r, text, data, tiles, summary


def test_tianditu_tiles_with_the_key_and_only_its_hosts_in_the_policy(app, client, demo):
    app.config["TIANDITU_KEY"] = "0123abcdef"
    officer_id, day = _day(app, client, (30.660, 30.661))
    r, text, data, tiles, _summary = _page(app, officer_id, day)
    assert [layer["url"].split("LAYER=")[1][:3] for layer in tiles["layers"]] == ["vec", "cva"]
    assert all("tk=0123abcdef" in layer["url"] and layer["subdomains"] == "01234567" for layer in tiles["layers"])
    assert tiles["crs"] == "wgs84" and 'id="map-note"' not in text
    assert data["points"][0]["lat"] == 30.660  # CGCS2000 ≈ WGS-84: drawn as measured
    img_src = re.search(r"img-src ([^;]*)", r.headers["Content-Security-Policy"])[1].split()
    assert img_src == ["'self'", "data:", "blob:"] + [f"https://t{i}.tianditu.gov.cn" for i in range(8)]


def test_without_a_key_no_tiles_no_tile_host_and_a_note_for_the_admin(app, client, demo):
    app.config["TIANDITU_KEY"] = ""
    officer_id, day = _day(app, client, (30.660, 30.661))
    r, text, _data, tiles, _summary = _page(app, officer_id, day)
    assert tiles["layers"] == [] and "TIANDITU_KEY" in text and 'id="map-note"' in text
    assert "tianditu" not in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_amap_or_baidu_tiles_get_converted_points(app, client, demo, crs):
    app.config.update(MAP_TILE_URL="https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
                      MAP_TILE_SUBDOMAINS="1234", MAP_TILE_CRS=crs)
    officer_id, day = _day(app, client, (30.660, 30.661))
    r, _text, data, tiles, _summary = _page(app, officer_id, day)
    assert tiles["crs"] == crs
    expected = geo.from_wgs84(30.660, 104.09, crs)
    assert (data["points"][0]["lat"], data["points"][0]["lon"]) == pytest.approx(expected, abs=1e-12)
    # Unconverted, the marker would sit hundreds of metres off.
    assert geo.distance_m(30.660, 104.09, *expected) > 300
    assert data["distance_m"] == 111  # distances stay measured in WGS-84 (0.001° of latitude)
    assert "https://webrd01.is.autonavi.com" in r.headers["Content-Security-Policy"]


def test_a_short_walk_reads_in_metres_not_zero_km(app, client, demo):
    # Three points 22 m apart: 44 m, which "%.1f km" showed as "0.0 km".
    officer_id, day = _day(app, client, (30.660, 30.6602, 30.6604))
    _r, _text, data, _tiles, summary = _page(app, officer_id, day)
    assert data["distance_m"] == 44
    assert "44 m" in summary and "0.0" not in summary


def test_one_position_or_only_inaccurate_ones_say_no_distance_was_measured(app, client, demo):
    officer_id, day = _day(app, client, (30.660,))
    summary = _page(app, officer_id, day)[4]
    assert "0.0" not in summary and "未计算距离" in summary and "1 个位置" in summary
    officer_id, day = _day(app, client, (30.670, 30.680), accuracy=500)  # too inaccurate to count
    summary = _page(app, officer_id, day)[4]
    assert "0.0" not in summary and "未计算距离" in summary
