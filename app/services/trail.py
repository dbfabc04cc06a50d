"""The officer's GPS trail: idempotent batch ingestion from the phone, and one officer's day.

The phone samples its position every few minutes while the app is open in working hours and
sends batches; a point carries its own UUID, so a resent or out-of-order batch adds nothing
twice and the day reads in time order whatever the order of arrival.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import insert, select

from app.domain import dates, geo
from app.domain.i18n import N_
from app.extensions import db
from app.models import Device, FollowUpTask, Loan, TrackPoint, User

MAX_BATCH = 500
# Points worse than this are kept (they show where the phone thought it was) but not counted in
# the distance covered: a 1 km error would add kilometres that nobody walked.
DISTANCE_ACCURACY_M = 100


def ingest(device: Device, points: list[tuple[int, dict]], *, now: datetime,
           max_back_days: int = dates.DEFAULT_BACKDATE_MAX_DAYS) -> dict:
    """Store a batch of points already checked for shape at the API's edge (``(index, point)``,
    see ``app/api/schemas.TrackPoint``); every point in the time window is confirmed (new or
    already known), the others are listed as rejected with the reason (an N_ message, params)."""
    rows, confirmed, rejected = [], [], []
    for index, p in points:
        at = dates.parse_device_time(p["at"])
        problem = (N_("This is not a time with a time zone."), {}) if at is None else \
            dates.check_device_time(at, now=now, max_back_days=max_back_days)
        if problem is not None:
            rejected.append({"index": index, "field": "at", "reason": problem})
            continue
        confirmed.append(p["uuid"])
        rows.append({"uuid": p["uuid"], "user_id": device.user_id, "device_id": device.id, "at": at,
                     "lat": p["lat"], "lon": p["lon"],
                     "accuracy_m": None if p["accuracy_m"] is None else round(p["accuracy_m"]),
                     "is_mock": p["is_mock"], "received_at": now})
    if rows:
        # A point sent twice (a lost answer, a retry) is skipped by its unique UUID, atomically.
        db.session.execute(
            insert(TrackPoint).prefix_with("OR IGNORE", dialect="sqlite").prefix_with("IGNORE", dialect="mysql"),
            rows,
        )
    db.session.commit()
    return {"confirmed": confirmed, "rejected": rejected}


def day_of(officer: User, day: date) -> dict:
    """The officer's trail, visits and the homes visited on one local day, with the distance covered."""
    start = datetime.combine(day, time.min, dates.BEIJING).astimezone(timezone.utc)
    end = start + timedelta(days=1)
    points = db.session.scalars(
        select(TrackPoint).where(TrackPoint.user_id == officer.id, TrackPoint.at >= start, TrackPoint.at < end)
        .order_by(TrackPoint.at, TrackPoint.id)
    ).all()
    good = [p for p in points if not p.is_mock and (p.accuracy_m or 0) <= DISTANCE_ACCURACY_M]
    distance = sum(geo.distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(good, good[1:]))
    visits = db.session.scalars(
        select(FollowUpTask).join(Loan, Loan.id == FollowUpTask.loan_id)
        .where(FollowUpTask.officer_id == officer.id, FollowUpTask.completed_at >= start,
               FollowUpTask.completed_at < end, FollowUpTask.visit_lat.is_not(None))
        .order_by(FollowUpTask.completed_at)
    ).all()
    return {
        "officer": officer.full_name,
        "date": day.isoformat(),
        "distance_m": round(distance),
        # Fewer than two accurate, real positions: no distance can be measured (not "0 km walked").
        "measured_points": len(good),
        "points": [{"at": p.at.isoformat(), "lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m, "mock": p.is_mock}
                   for p in points],
        "visits": [{"borrower": v.loan.borrower.name, "lat": v.visit_lat, "lon": v.visit_lon, "on_site": v.on_site,
                    "distance_m": v.distance_m,
                    "home": {"lat": v.loan.borrower.home_lat, "lon": v.loan.borrower.home_lon}
                    if v.loan.borrower.home_lat is not None else None}
                   for v in visits],
    }


def on_map(day: dict, system: str) -> dict:
    """The day's positions in the coordinate system of the map tiles they are drawn on (GPS gives
    WGS-84; AMap's GCJ-02 or Baidu's BD-09 tiles need them converted, app/domain/geo.py). Distances
    stay as measured in WGS-84."""
    if system == geo.WGS84:
        return day

    def moved(item: dict) -> dict:
        lat, lon = geo.from_wgs84(item["lat"], item["lon"], system)
        return dict(item, lat=lat, lon=lon)

    return dict(day, points=[moved(p) for p in day["points"]],
                visits=[dict(moved(v), home=moved(v["home"]) if v["home"] else None) for v in day["visits"]])
