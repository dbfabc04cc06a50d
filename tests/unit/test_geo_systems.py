"""WGS-84 → GCJ-02 → BD-09 against published reference pairs (issue 12 item 8)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import geo

# (WGS-84 lat, lon) → (GCJ-02 lat, lon): the test vectors of eviltransform (Shanghai, Shenzhen,
# Beijing), coordtransform's README example (Beijing) and geotool's (Jiaxing).
WGS_TO_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]
# geotool's pair agrees within 1e-7 degree (about 4 mm; its constants differ in the last digits).
GEOTOOL_WGS, GEOTOOL_GCJ = (30.6107779, 121.0917077), (30.608604331756705, 121.09626935575027)
# (GCJ-02) → (BD-09): coordtransform's example and geotool's.
GCJ_TO_BD = [
    ((39.915, 116.404), (39.92133699351021, 116.41036949371029)),
    ((30.608604331756705, 121.09626935575027), (30.61484572185035, 121.10271732371203)),
]


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_the_published_pairs(wgs, gcj):
    lat, lon = geo.wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-9) and lon == pytest.approx(gcj[1], abs=1e-9)


def test_wgs84_to_gcj02_matches_geotool_within_millimetres():
    assert geo.wgs84_to_gcj02(*GEOTOOL_WGS) == pytest.approx(GEOTOOL_GCJ, abs=1e-7)


@pytest.mark.parametrize(("gcj", "bd"), GCJ_TO_BD)
def test_gcj02_to_bd09_matches_the_published_pairs(gcj, bd):
    lat, lon = geo.gcj02_to_bd09(*gcj)
    assert lat == pytest.approx(bd[0], abs=1e-9) and lon == pytest.approx(bd[1], abs=1e-9)


def test_wgs84_to_bd09_chains_both():
    assert geo.from_wgs84(30.6107779, 121.0917077, geo.BD09) == pytest.approx((30.61484572185035, 121.10271732371203),
                                                                               abs=1e-7)
    assert geo.from_wgs84(30.66, 104.09, geo.WGS84) == (30.66, 104.09)
    with pytest.raises(ValueError):
        geo.from_wgs84(30.66, 104.09, "mercator")


def test_outside_china_gcj02_is_wgs84():
    for point in ((48.8566, 2.3522), (0.0, 0.0), (-33.86, 151.21), (60.0, 100.0)):
        assert geo.wgs84_to_gcj02(*point) == point


@given(st.floats(18.0, 53.0), st.floats(74.0, 134.0))
def test_in_china_the_shift_is_hundreds_of_metres_never_kilometres(lat, lon):
    # Why conversion matters (and that the formula is sane): in China GCJ-02 moves a point by
    # roughly 100-700 m; a marker not converted lands that far off.
    moved = geo.distance_m(lat, lon, *geo.wgs84_to_gcj02(lat, lon))
    assert 1 < moved < 1200
    assert math.isfinite(moved)


def test_distances_below_a_kilometre_read_in_metres_and_the_step_is_clean():
    assert geo.format_distance(35.4) == "35 m" and geo.format_distance(0.3) == "0 m"
    assert geo.format_distance(999.4) == "999 m"
    assert geo.format_distance(999.6) == "1.0 km"  # was "1000 m": rounded after the threshold was tested
    assert geo.format_distance(1049) == "1.0 km" and geo.format_distance(12_345) == "12.3 km"
