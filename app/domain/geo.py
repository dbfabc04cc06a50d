"""Distances on the ground, for "how far is the home from the office" and on-site checks."""
from __future__ import annotations

import math

from app.domain.i18n import N_

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine; error well under 1 % at village scale)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def format_distance(metres: float) -> str:
    """Metres below 1 km ("35 m", never "0.0 km"), kilometres with one decimal above."""
    metres = round(metres)
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km"


# --- was the officer on site? ---------------------------------------------------------------

MAX_PLAUSIBLE_SPEED_KMH = 150  # faster between two fixes than a car on a county road: not real
# Why a visit was not counted as on site, in words for the director and the officer.
FLAG_LABELS = {
    "far": N_("too far from the home"),
    "poor_accuracy": N_("GPS not accurate enough"),
    "mock_location": N_("mock location"),
    "no_home_gps": N_("the home has no GPS position"),
    "no_gps": N_("no GPS position"),
    "impossible_speed": N_("too far from the previous visit for the time between them"),
}


def check_visit(
    home: tuple[float, float] | None,
    fix: tuple[float, float, float] | None,
    *,
    radius_m: float,
    is_mock: bool = False,
    previous: tuple[float, float, float] | None = None,
) -> tuple[bool | None, int | None, list[str]]:
    """(on_site, distance in metres, flags) for a visit fix (lat, lon, accuracy_m) and the borrower's
    home. On site = within ``radius_m`` of the home with accuracy no worse than ``radius_m``, not
    a mock location and not implying an impossible speed from ``previous`` (lat, lon, hours before).
    ``on_site`` is None when it cannot be judged (no fix, or no home position)."""
    if fix is None:
        return None, None, ["no_gps"]
    if home is None:
        return None, None, ["no_home_gps"]
    lat, lon, accuracy = fix
    distance = round(distance_m(home[0], home[1], lat, lon))
    flags = []
    if distance > radius_m:
        flags.append("far")
    if accuracy > radius_m:
        flags.append("poor_accuracy")
    if is_mock:
        flags.append("mock_location")
    if previous is not None:
        p_lat, p_lon, hours = previous
        if hours > 0 and distance_m(p_lat, p_lon, lat, lon) / 1000 / hours > MAX_PLAUSIBLE_SPEED_KMH:
            flags.append("impossible_speed")
    return not flags, distance, flags


# --- coordinate systems of Chinese map tiles ---------------------------------------------------
# GPS gives WGS-84. 天地图 (Tianditu) uses CGCS2000, within centimetres of WGS-84: no conversion.
# AMap/Gaode and Tencent tiles are drawn in GCJ-02 (国测局 "Mars" coordinates: WGS-84 shifted by an
# obfuscation function, 100-700 m in China); Baidu's in BD-09, a further shift of GCJ-02. A WGS-84 point
# drawn unconverted on those tiles lands hundreds of metres off. The formulas are the published ones
# (the same as eviltransform and coordtransform); outside China the shift is not applied.

WGS84, GCJ02, BD09 = "wgs84", "gcj02", "bd09"
COORDINATE_SYSTEMS = (WGS84, GCJ02, BD09)
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0


def outside_china(lat: float, lon: float) -> bool:
    """The bounding box outside which GCJ-02 equals WGS-84 (the published rule: a box, not the border)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _shift_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _shift_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) in GCJ-02 for a WGS-84 (GPS) position; unchanged outside China's bounding box."""
    if outside_china(lat, lon):
        return lat, lon
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad = math.radians(lat)
    magic = 1 - _KRASOVSKY_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lon + d_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) in BD-09 for a GCJ-02 position (Baidu's published shift)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def from_wgs84(lat: float, lon: float, system: str) -> tuple[float, float]:
    """A GPS position in the coordinate system of the map tiles it is drawn on."""
    if system == WGS84:
        return lat, lon
    if system == GCJ02:
        return wgs84_to_gcj02(lat, lon)
    if system == BD09:
        return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))
    raise ValueError(f"unknown coordinate system {system!r}; one of {', '.join(COORDINATE_SYSTEMS)}")
