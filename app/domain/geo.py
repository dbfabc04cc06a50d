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
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


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
