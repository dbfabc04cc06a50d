"""Personal information over time (PIPL art. 19, 47): keep photos only as long as they are needed,
and give a borrower his data when he asks for it (art. 45).

**The purge** (``purge``; the daily job and ``flask retention purge [--dry-run]``):

- photos and screenshots of a *rejected* or *withdrawn* application, ``rejected_photos_days``
  (default 180) after the decision (its last timeline step);
- photos and screenshots of the application of a *closed* (fully repaid) loan,
  ``closed_loan_photos_years`` (default 5) after it closed; 0 keeps them forever.

The files go from the photo store (original and derivatives; a file another live photo or
screenshot still uses stays), their OCR readings (which hold the text read off them) go, and the
rows stay, marked ``purged_at``: the application's timeline, the loan, its schedule, repayments and
the borrower stay as the rules on credit records require (征信业管理条例: records kept five years
after the end of the credit relation; the institution's own rules may ask more). Files are deleted
before the rows are marked and committed, so a run cut short leaves rows the next run finishes
(deleting a missing file is no error), never a marked row with its file still on disk. A second
run finds nothing. Each real run is one audit row with its counts (``retention.purged``).

**The borrower's data** (``borrower_export``): one JSON document with his personal data (the full
ID number), his applications with their timeline and the list of their photos, loans with
schedules and repayments, and the log of who viewed his identity data; the download is audited
and recorded as an identity view (``id_number``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, exists, func, inspect, or_, select, update

from app.extensions import db
from app.models import Application, Borrower, Installment, Loan, Photo, Repayment, Screenshot, Transition, User
from app.models.audit import IdentityView
from app.models.credit import BureauQuery
from app.models.ocr import OcrRun
from app.models.types import utcnow
from app.services import audit, identity_access
from app.services.scope import OutOfScope

CLOSED_STATES = ("rejected", "withdrawn")
BATCH = 200


@dataclass(frozen=True)
class RetentionSettings:
    rejected_photos_days: int = 180
    closed_loan_photos_years: int = 5

    @classmethod
    def from_config(cls, config) -> "RetentionSettings":
        return cls(int(config.get("RETENTION_REJECTED_PHOTOS_DAYS", 180)),
                   int(config.get("RETENTION_CLOSED_LOAN_PHOTOS_YEARS", 5)))


@dataclass(frozen=True)
class Retention:
    """What the daily job needs to run the purge: the settings and the photo store."""
    settings: RetentionSettings
    store: object


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def due_applications(today: date, now: datetime, settings: RetentionSettings) -> list[int]:
    """Ids of applications whose photos are due for deletion and not all deleted yet."""
    ids: set[int] = set()
    pending = or_(
        exists().where(Photo.application_id == Application.id, Photo.purged_at.is_(None)),
        exists().where(Screenshot.application_id == Application.id, Screenshot.purged_at.is_(None)),
    )
    if settings.rejected_photos_days > 0:
        cutoff = now - timedelta(days=settings.rejected_photos_days)
        decided = (select(func.max(Transition.at)).where(Transition.application_id == Application.id)
                   .scalar_subquery())
        ids |= set(db.session.scalars(select(Application.id).where(
            Application.state.in_(CLOSED_STATES), func.coalesce(decided, Application.updated_at) <= cutoff, pending)))
    if settings.closed_loan_photos_years > 0:
        closed_by = _years_before(today, settings.closed_loan_photos_years)
        ids |= set(db.session.scalars(select(Application.id).join(Loan, Loan.application_id == Application.id).where(
            Loan.status == "closed", Loan.closed_on.is_not(None), Loan.closed_on <= closed_by, pending)))
    return sorted(ids)


def purge(*, today: date, now: datetime, settings: RetentionSettings, store, dry_run: bool = False,
          actor_id: int | None = None) -> dict:
    """Delete the files that are due and mark their rows; returns the counts (see module doc)."""
    app_ids = due_applications(today, now, settings)
    counts = {"applications": len(app_ids), "photos": 0, "screenshots": 0, "files": 0, "ocr_runs": 0}
    for start in range(0, len(app_ids), BATCH):
        chunk = app_ids[start:start + BATCH]
        photos = db.session.execute(select(Photo.id, Photo.sha256, Photo.received_at).where(
            Photo.application_id.in_(chunk), Photo.purged_at.is_(None))).all()
        shots = db.session.execute(select(Screenshot.id, Screenshot.sha256).where(
            Screenshot.application_id.in_(chunk), Screenshot.purged_at.is_(None))).all()
        photo_ids, shot_ids = [p.id for p in photos], [s.id for s in shots]
        shas = {p.sha256 for p in photos if p.received_at is not None} | {s.sha256 for s in shots}
        # A file that another photo or screenshot still in use shares (the same picture sent twice) stays.
        still_used = set(db.session.scalars(select(Photo.sha256).where(
            Photo.sha256.in_(shas), Photo.purged_at.is_(None), Photo.received_at.is_not(None),
            Photo.id.not_in(photo_ids or [0])))) | set(db.session.scalars(select(Screenshot.sha256).where(
                Screenshot.sha256.in_(shas), Screenshot.purged_at.is_(None), Screenshot.id.not_in(shot_ids or [0]))))
        # A credit-bureau report kept with the same bytes (a photo of it uploaded as the report) stays too.
        still_used |= set(db.session.scalars(select(BureauQuery.report_sha256).where(BureauQuery.report_sha256.in_(shas))))
        gone = sorted(shas - still_used)
        counts["photos"] += len(photo_ids)
        counts["screenshots"] += len(shot_ids)
        counts["files"] += len(gone)
        counts["ocr_runs"] += db.session.scalar(select(func.count()).select_from(OcrRun).where(OcrRun.sha256.in_(gone))) or 0
        if dry_run:
            continue
        for sha in gone:
            store.delete(sha)
        stamp = utcnow()
        if photo_ids:
            db.session.execute(update(Photo).where(Photo.id.in_(photo_ids)).values(purged_at=stamp))
        if shot_ids:
            db.session.execute(update(Screenshot).where(Screenshot.id.in_(shot_ids)).values(purged_at=stamp))
        if gone:
            db.session.execute(delete(OcrRun).where(OcrRun.sha256.in_(gone)))
        db.session.commit()
    if dry_run:
        db.session.rollback()
        return counts | {"dry_run": True}
    audit.record("retention.purged", actor_id=actor_id, object_type="retention",
                 rejected_photos_days=settings.rejected_photos_days,
                 closed_loan_photos_years=settings.closed_loan_photos_years, **counts)
    db.session.commit()
    return counts


def is_purged(photo: Photo) -> bool:
    return photo.purged_at is not None


# -- a borrower's data, for his access request ---------------------------------------------------

def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _columns(obj, skip: tuple[str, ...] = ()) -> dict:
    return {a.key: _plain(getattr(obj, a.key)) for a in inspect(obj).mapper.column_attrs if a.key not in skip}


def borrower_export(borrower_id: int, *, viewer: User, ip: str = "") -> dict:
    """Everything the institution holds about one borrower, as one JSON-ready document; the
    download is audited and recorded as a view of his full ID number."""
    borrower = db.session.get(Borrower, borrower_id)
    if borrower is None:
        raise OutOfScope("borrower", borrower_id)
    users = dict(db.session.execute(select(User.id, User.full_name)).all())
    applications = []
    for app in db.session.scalars(select(Application).where(Application.borrower_id == borrower_id).order_by(Application.id)):
        applications.append(_columns(app) | {
            "timeline": [_columns(t) | {"actor": users.get(t.actor_id, "")}
                         for t in db.session.scalars(select(Transition).where(Transition.application_id == app.id).order_by(Transition.id))],
            "photos": [{"id": p.id, "item": p.item.name if p.item else "", "sequence": p.sequence, "sha256": p.sha256,
                        "taken_at": _plain(p.taken_at), "lat": p.lat, "lon": p.lon,
                        "received_at": _plain(p.received_at), "purged_at": _plain(p.purged_at)}
                       for p in db.session.scalars(select(Photo).where(Photo.application_id == app.id).order_by(Photo.id))],
        })
    loans = []
    for loan in db.session.scalars(select(Loan).where(Loan.borrower_id == borrower_id).order_by(Loan.id)):
        loans.append(_columns(loan) | {
            "installments": [_columns(i) for i in db.session.scalars(select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.id))],
            "repayments": [_columns(r) for r in db.session.scalars(select(Repayment).where(Repayment.loan_id == loan.id).order_by(Repayment.id))],
        })
    views = [{"at": _plain(v.at), "viewer": users.get(v.viewer_id, ""), "what": v.what.split(","),
              "object_type": v.object_type, "object_id": v.object_id, "ip": v.ip}
             for v in db.session.scalars(select(IdentityView).where(IdentityView.borrower_id == borrower_id).order_by(IdentityView.id))]
    document = {
        "exported_at": _plain(utcnow()), "exported_by": viewer.full_name,
        "borrower": _columns(borrower), "applications": applications, "loans": loans, "identity_views": views,
    }
    audit.record("borrower.data_exported", actor_id=viewer.id, object_type="borrower", object_id=borrower_id, ip=ip,
                 applications=len(applications), loans=len(loans), identity_views=len(views))
    db.session.commit()
    identity_access.record_view(viewer, borrower_id, "id_number", object_type="borrower", object_id=borrower_id, ip=ip)
    return document
