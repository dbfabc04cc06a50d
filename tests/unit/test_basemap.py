"""The trail map's base layer and the CSP sources it needs (issue 12 item 8)."""
from __future__ import annotations

import pytest

from app.domain import basemap, geo


def test_tianditu_is_the_default_with_its_key_on_eight_hosts():
    base = basemap.base_map(tianditu_key="abc123")
    assert base.crs == geo.WGS84 and not base.missing_key
    assert [l.url.split("LAYER=")[1].split("&")[0] for l in base.layers] == ["vec", "cva"]
    assert all("tk=abc123" in l.url and l.url.startswith("https://t{s}.tianditu.gov.cn/") for l in base.layers)
    assert base.sources == tuple(f"https://t{i}.tianditu.gov.cn" for i in range(8))


def test_without_a_key_no_tiles_and_no_tile_host_allowed():
    base = basemap.base_map()
    assert base.missing_key and base.layers == () and base.sources == ()
    assert basemap.base_map(tile_url="none", tianditu_key="abc") == basemap.BaseMap()


def test_a_configured_server_names_its_coordinate_system():
    amap = basemap.base_map(tile_url="https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                            subdomains="1234", tile_crs="GCJ02", tianditu_key="ignored")
    assert amap.crs == geo.GCJ02
    assert amap.sources == tuple(f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5))
    osm = basemap.base_map(tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert osm.crs == geo.WGS84 and osm.sources == ("https://a.tile.example.org", "https://b.tile.example.org",
                                                    "https://c.tile.example.org")


@pytest.mark.parametrize("settings", [
    {"tile_crs": "mercator"},
    {"tile_url": "javascript:alert(1)"},
    {"tile_url": "https://tiles.example.org;script-src */{z}/{x}/{y}.png"},
    {"tianditu_key": "abc' 'unsafe-inline"},
])
def test_settings_that_cannot_be_right_are_refused(settings):
    with pytest.raises(ValueError):
        basemap.base_map(**settings)
