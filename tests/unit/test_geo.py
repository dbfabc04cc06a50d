import math

from hypothesis import given
from hypothesis import strategies as st

from app.domain.geo import distance_m, format_distance

lat = st.floats(-89.9, 89.9)
lon = st.floats(-180, 180)


def test_known_distance_one_degree_of_latitude():
    # One degree of latitude is about 111.2 km on the mean-radius sphere.
    assert math.isclose(distance_m(30.0, 104.0, 31.0, 104.0), 111_195, rel_tol=1e-3)


def test_village_scale_distance():
    # 0.001 degree of longitude at 30.66 N is about 95.6 m.
    assert math.isclose(distance_m(30.66, 104.09, 30.66, 104.091), 95.65, rel_tol=2e-3)


@given(lat, lon, lat, lon)
def test_distance_is_symmetric_and_non_negative(a, b, c, d):
    assert distance_m(a, b, c, d) >= 0
    assert math.isclose(distance_m(a, b, c, d), distance_m(c, d, a, b), abs_tol=1e-6)


@given(lat, lon)
def test_distance_to_itself_is_zero(a, b):
    assert distance_m(a, b, a, b) == 0


def test_format_distance():
    assert format_distance(250.4) == "250 m"
    assert format_distance(12_345) == "12.3 km"
