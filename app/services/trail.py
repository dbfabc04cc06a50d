"""The officer's GPS trail: idempotent batch ingestion from the phone, and one officer's day.

The phone samples its position every few minutes while the app is open in working hours and
sends batches; a point carries its own UUID, so a resent or out-of-order batch adds nothing
twice and the day reads in time order whatever the order of arrival.
"""
from __future__ import annotations

import uuid as uuid_mod
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import insert, select

from app.domain import geo
from app.domain.manifest import CLOCK_SLACK
from app.extensions import db
from app.models import Device, FollowUpTask, Loan, TrackPoint, User

MAX_BATCH = 500
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
# Points worse than this are kept (they show where the phone thought it was) but not counted in
# the distance covered: a 1 km error would add kilometres that nobody walked.
DISTANCE_ACCURACY_M = 100


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else None


def ingest(device: Device, data: object, *, now: datetime) -> dict:
    """Store a batch; every valid point is confirmed (new or already known), bad ones are listed."""
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list) or len(points) > MAX_BATCH:
        return {"confirmed": [], "rejected": [{"index": None, "reason": f"a batch is a list of at most {MAX_BATCH} points"}]}
    rows, confirmed, rejected = [], [], []
    for index, p in enumerate(points):
        try:
            point_uuid = str(uuid_mod.UUID(str(p["uuid"])))
            at = _parse_time(p["at"])
            lat, lon = float(p["lat"]), float(p["lon"])
            accuracy = p.get("accuracy_m")
            accuracy = None if accuracy is None else round(float(accuracy))
            if at is None or at > now + CLOCK_SLACK or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
            if accuracy is not None and accuracy < 0:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            rejected.append({"index": index, "reason": "not a valid position"})
            continue
        confirmed.append(point_uuid)
        rows.append({"uuid": point_uuid, "user_id": device.user_id, "device_id": device.id, "at": at, "lat": lat,
                     "lon": lon, "accuracy_m": accuracy, "is_mock": bool(p.get("is_mock")), "received_at": now})
    if rows:
        # A point sent twice (a lost answer, a retry) is skipped by its unique UUID, atomically.
        db.session.execute(
            insert(TrackPoint).prefix_with("OR IGNORE", dialect="sqlite").prefix_with("IGNORE", dialect="mysql"),
            rows,
        )
    db.session.commit()
    return {"confirmed": confirmed, "rejected": rejected}


def may_see(viewer: User, officer: User) -> bool:
    """The officer himself, his office's director, headquarters; nobody else."""
    if viewer.id == officer.id or viewer.is_hq:
        return True
    return viewer.has_role("director") and viewer.office_id == officer.office_id


def day_of(officer: User, day: date) -> dict:
    """The officer's trail, visits and the homes visited on one local day, with the distance covered."""
    start = datetime.combine(day, time.min, BEIJING).astimezone(timezone.utc)
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
        "points": [{"at": p.at.isoformat(), "lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m, "mock": p.is_mock}
                   for p in points],
        "visits": [{"borrower": v.loan.borrower.name, "lat": v.visit_lat, "lon": v.visit_lon, "on_site": v.on_site,
                    "distance_m": v.distance_m,
                    "home": {"lat": v.loan.borrower.home_lat, "lon": v.loan.borrower.home_lon}
                    if v.loan.borrower.home_lat is not None else None}
                   for v in visits],
    }
