"""A trace of every view of a borrower's identity data: who, whose, what, which object, when,
from which IP (PIPL: whoever handles personal information must be able to say who saw it).

Views call ``record_view()`` when they show a borrower's page, an application page, the entry
screen, a full ID number, an ID-card or other photo, or a contract. The rows wait on the
database session and are written by one bulk INSERT, committed as the response leaves (after the
page has rendered, so the commit expires nothing the template still reads): the app's request
hook (``app.web.security``) calls ``write_pending`` for a successful answer and
``discard_pending`` for an error, which showed nothing and records nothing. If that write fails
the answer is an error, never an untraced view. A page records one row listing what it showed (its thumbnails included);
opening a single photo in full records one row for that photo.

Who may read the trace: ``scope.may(user, scope.VIEW_LOG)`` (administrator, internal auditor).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from app.domain import documents
from app.domain.i18n import N_
from app.extensions import db
from app.models import Photo, User
from app.models.audit import VIEW_KINDS, IdentityView
from app.models.types import utcnow

KIND_LABELS = {
    "borrower_page": N_("borrower page"),
    "application": N_("application page"),
    "entry": N_("data-entry screen"),
    "id_number": N_("full ID number"),
    "id_photo": N_("ID-card photo"),
    "photo": N_("other photo"),
    "contract": N_("contract"),
    "bureau_report": N_("credit-bureau report"),
}

OBJECT_LABELS = {
    "borrower": N_("borrower"),
    "application": N_("application"),
    "photo": N_("photo"),
    "screenshot": N_("screenshot"),
    "photos_zip": N_("photo ZIP of application"),
    "task_photo": N_("visit photo"),
    "device": N_("phone"),
    "loan": N_("loan"),
    "bureau_report": N_("credit-bureau report"),
}

PER_PAGE = 20


def photo_kind(photo: Photo) -> str:
    """``id_photo`` for a photo of an identity document, ``photo`` for any other."""
    item = photo.item
    kind = documents.kind_of_item(item.code, item.name) if item is not None else documents.DocumentKind.OTHER
    return "id_photo" if kind in documents.IDENTITY_DOCUMENTS else "photo"


def kinds_of_photos(photos: Iterable[Photo]) -> list[str]:
    """What a page showing these (received) photos showed: ``id_photo`` and/or ``photo``."""
    found = {photo_kind(p) for p in photos if p.received_at is not None and p.purged_at is None}
    return [k for k in ("id_photo", "photo") if k in found]


def record_view(
    viewer: User,
    borrower_id: int,
    what: str | Iterable[str],
    *,
    object_type: str = "",
    object_id: int | None = None,
    ip: str = "",
) -> None:
    """Record that ``viewer`` was shown ``what`` of borrower ``borrower_id`` (kinds: VIEW_KINDS)."""
    kinds = [what] if isinstance(what, str) else list(dict.fromkeys(what))
    unknown = set(kinds) - set(VIEW_KINDS)
    if not kinds or unknown:
        raise ValueError(f"unknown view kinds {unknown or kinds}")
    _queue([{
        "at": utcnow(), "viewer_id": viewer.id, "borrower_id": borrower_id, "what": ",".join(kinds),
        "object_type": object_type, "object_id": object_id, "ip": ip[:45],
    }])


def record_photo(viewer: User, borrower_id: int, photo: Photo, size: str, *, object_type: str = "photo",
                 object_id: int | None = None, ip: str = "") -> None:
    """A photo opened on its own (the 1600 px view or the original). Thumbnails are recorded with
    the page that shows them, so a page of thumbnails costs one row, not one per photo."""
    if size == "thumb":
        return
    record_view(viewer, borrower_id, photo_kind(photo), object_type=object_type,
                object_id=photo.id if object_id is None else object_id, ip=ip)


def record_disclosure_to_device(officer: User, device_id: int, borrower_ids: Iterable[int], *, ip: str = "") -> None:
    """Full ID numbers sent to an officer's phone: one row per borrower the first time that phone
    receives them. Later downloads re-send what the phone already holds and add no row."""
    ids = set(borrower_ids)
    if not ids:
        return
    known = set(db.session.scalars(
        select(IdentityView.borrower_id).where(
            IdentityView.viewer_id == officer.id, IdentityView.object_type == "device",
            IdentityView.object_id == device_id, IdentityView.what == "id_number",
        )
    ))
    now = utcnow()
    _queue([
        {"at": now, "viewer_id": officer.id, "borrower_id": b, "what": "id_number",
         "object_type": "device", "object_id": device_id, "ip": ip[:45]}
        for b in sorted(ids - known)
    ])


_PENDING = "identity_views"


def _queue(rows: list[dict]) -> None:
    if rows:
        db.session.info.setdefault(_PENDING, []).extend(rows)


def write_pending() -> None:
    """Write the views this session has queued, in one INSERT and one commit."""
    rows = db.session.info.pop(_PENDING, None)
    if rows:
        db.session.execute(insert(IdentityView), rows)
        db.session.commit()


def discard_pending() -> None:
    """Forget queued views: the answer was an error and showed nothing."""
    db.session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ViewRow:
    at: datetime
    viewer: str
    username: str
    what: tuple[str, ...]
    object_type: str
    object_id: int | None
    ip: str


@dataclass(frozen=True)
class ViewPage:
    rows: list[ViewRow]
    page: int
    pages: int
    total: int


def views_of(borrower_id: int, page: int = 1, per_page: int = PER_PAGE) -> ViewPage:
    """Who viewed this borrower's identity data, newest first, one page."""
    total = db.session.scalar(
        select(func.count()).select_from(IdentityView).where(IdentityView.borrower_id == borrower_id)
    ) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    result = db.session.execute(
        select(IdentityView.at, User.full_name, User.username, IdentityView.what, IdentityView.object_type,
               IdentityView.object_id, IdentityView.ip)
        .join(User, User.id == IdentityView.viewer_id)
        .where(IdentityView.borrower_id == borrower_id)
        .order_by(IdentityView.at.desc(), IdentityView.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    rows = [ViewRow(at, name, username, tuple(what.split(",")), otype, oid, ip)
            for at, name, username, what, otype, oid, ip in result]
    return ViewPage(rows, page, pages, total)
