"""Loan applications, their photos and their timeline of transitions."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Double, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.workflow import ApplicationFacts, State, level_of_event
from app.extensions import db
from app.models.credit import LiabilityGroup, SurveyVersion
from app.models.org import Device, Office, User
from app.models.people import Borrower
from app.models.products import CollectionItem, Product
from app.models.types import Money, UTCDateTime, UUIDStr, new_uuid, utcnow


# Which review level each decision event belongs to, for segregation across rounds.
LEVEL_OF_EVENT = {e.value: lvl for e, lvl in level_of_event().items()}


class Application(db.Model):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(30), default=State.UPLOADING.value, index=True)
    # Optimistic lock: two reviewers acting at once, one wins.
    version: Mapped[int] = mapped_column(default=1)
    home_lat: Mapped[float | None] = mapped_column(Double)
    home_lon: Mapped[float | None] = mapped_column(Double)
    home_gps_accuracy_m: Mapped[int | None]
    gps_note: Mapped[str] = mapped_column(String(200), default="")
    needs_l2: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_special: Mapped[bool] = mapped_column(Boolean, default=False)
    routing_reasons: Mapped[list] = mapped_column(JSON, default=list)
    # Who acted at each level, for segregation of duties.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    director_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    l1_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    l2_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    special_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entry_data: Mapped[dict] = mapped_column(JSON, default=dict)
    # SHA-256 of the phone's manifest: a resend must be identical, or it is refused.
    manifest_sha256: Mapped[str] = mapped_column(String(64), default="")
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rural credit model (issue 18): the household survey answered on the version it was
    # captured on; the scorecard's result (score, each factor's points and reason, the suggested
    # limit, the scorecard version); the joint-liability group; the white-list entry it draws on
    # and whether it takes the light path.
    survey_version_id: Mapped[int | None] = mapped_column(ForeignKey("survey_versions.id"))
    survey_answers: Mapped[dict | None] = mapped_column(JSON, default=dict)  # None: captured before surveys
    score: Mapped[int | None]
    score_detail: Mapped[dict | None] = mapped_column(JSON)
    suggested_limit: Mapped[Decimal | None] = mapped_column(Money)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("liability_groups.id"), index=True)
    preapproval_id: Mapped[int | None] = mapped_column(ForeignKey("preapprovals.id"))
    light_path: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    borrower: Mapped[Borrower] = relationship()
    product: Mapped[Product] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    office: Mapped[Office] = relationship()
    device: Mapped[Device | None] = relationship()
    survey_version: Mapped[SurveyVersion | None] = relationship()
    group: Mapped[LiabilityGroup | None] = relationship()
    photos: Mapped[list[Photo]] = relationship(
        back_populates="application", order_by="(Photo.collection_item_id, Photo.sequence)"
    )
    screenshots: Mapped[list[Screenshot]] = relationship(back_populates="application", order_by="Screenshot.id")
    transitions: Mapped[list[Transition]] = relationship(
        back_populates="application", order_by="Transition.id"
    )

    def facts(self) -> ApplicationFacts:
        reviewed = {
            level: uid
            for level, uid in (
                ("director", self.director_id),
                ("l1", self.l1_reviewer_id),
                ("l2", self.l2_reviewer_id),
                ("special", self.special_reviewer_id),
            )
            if uid is not None
        }
        return ApplicationFacts(
            state=State(self.state),
            officer_id=self.officer_id,
            office_id=self.office_id,
            entered_by=self.entered_by_id,
            reviewed_by=reviewed,
            needs_l2=self.needs_l2,
            needs_special=self.needs_special,
            past_decisions=frozenset(
                (LEVEL_OF_EVENT[t.event], t.actor_id)
                for t in self.transitions
                if t.event in LEVEL_OF_EVENT and t.actor_id is not None
            ),
            disbursed_by=_disbursed_by(self.transitions),
            light_path=bool(self.light_path),
            # A joint-liability group binds its members' passes and returns until dissolved.
            group=(self.group.name or self.group.uuid[:8])
            if self.group_id is not None and self.group.state != "dissolved" else None,
        )


def _disbursed_by(transitions: list[Transition]) -> int | None:
    """The cashier of the disbursement that stands (not undone since)."""
    for t in reversed(transitions):
        if t.event == "undo_disbursement":
            return None
        if t.event == "disburse":
            return t.actor_id
    return None


class Photo(db.Model):
    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("application_id", "collection_item_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    collection_item_id: Mapped[int] = mapped_column(ForeignKey("collection_items.id"))
    sequence: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(30), default="image/jpeg")
    width: Mapped[int | None]
    height: Mapped[int | None]
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    gps_accuracy_m: Mapped[int | None]
    # Set once the bytes are stored and their SHA-256 checked.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the retention purge deleted the bytes (app/services/retention.py); the row stays.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship(back_populates="photos")
    item: Mapped[CollectionItem] = relationship()


class Screenshot(db.Model):
    """A region of a photo that HQ picked out (e.g. the signature block of the IOU), kept as its own image."""

    __tablename__ = "screenshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # Quarter turns clockwise applied to the upright photo, then the box in its pixels.
    rotation: Mapped[int] = mapped_column(default=0)
    box: Mapped[list] = mapped_column(JSON)  # [left, top, right, bottom]
    label: Mapped[str] = mapped_column(String(50), default="")
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bytes deleted by the retention purge
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="screenshots")
    photo: Mapped[Photo] = relationship()
    created_by: Mapped[User] = relationship()


class Transition(db.Model):
    """One step of an application's timeline: who moved it, when, from where to where, why."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    event: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()
