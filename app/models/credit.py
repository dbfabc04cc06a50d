"""The rural credit model (issue 18): the household survey and the scorecard as versioned data per
product, joint-liability groups (联保小组), guarantees given by borrowers, credit-bureau queries
(征信) and whole-village pre-credit (整村授信: villages, campaigns, household surveys, the white list)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Office, User
from app.models.people import Borrower
from app.models.products import Product
from app.models.types import Money, UTCDateTime, UUIDStr, new_uuid, utcnow


class SurveyVersion(db.Model):
    """One version of a product's household survey (app.domain.survey). A change adds a version;
    an application keeps the version it was answered on, so a change never breaks one captured."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship()


class ScorecardVersion(db.Model):
    """One version of a product's points scorecard and suggested-limit rules (app.domain.scorecard)."""

    __tablename__ = "scorecard_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship()


class LiabilityGroup(db.Model):
    """A joint-liability group (联保小组): three to five households of one village, each member
    guaranteeing the others. Its members are the applications whose ``group_id`` points here."""

    __tablename__ = "liability_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(50), default="")
    village: Mapped[str] = mapped_column(String(100), default="")
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # How many members the officer formed it with (the applications may arrive one by one).
    expected_size: Mapped[int]
    # forming (members still arriving) → in_review → approved | returned | dissolved
    state: Mapped[str] = mapped_column(String(20), default="forming", index=True)
    # Pairs of member application UUIDs the officer declared relatives: [[uuid, uuid], …]
    relatives: Mapped[list] = mapped_column(JSON, default=list)
    # New members the officer added to the returned group and the server has not received yet: the
    # group stays returned until it is 0 (app/services/group_capture.py sets it with the first one).
    members_to_come: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    office: Mapped[Office] = relationship()
    officer: Mapped[User] = relationship()
    product: Mapped[Product] = relationship()


class Guarantee(db.Model):
    """A guarantee one person (a borrower record, ID checked) gives for an application's loan."""

    __tablename__ = "guarantees"
    __table_args__ = (UniqueConstraint("application_id", "guarantor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    # The photographed consent (担保承诺书), one of the application's photos.
    consent_photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))
    # active (the loan is applied for or outstanding) → released (repaid, refused, withdrawn)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    guarantor: Mapped[Borrower] = relationship()


class BureauQuery(db.Model):
    """One credit-bureau query (征信查询): made only with the borrower's signed authorisation on
    file; who, when, for what purpose, the result's reference, the report and its key figures."""

    __tablename__ = "bureau_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    # The authorisation photo (征信授权书) the query rests on.
    consent_photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    purpose: Mapped[str] = mapped_column(String(30))  # loan_approval, post_loan, guarantor_check
    queried_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    queried_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    result_ref: Mapped[str] = mapped_column(String(100), default="")
    # The report file, stored content-addressed like the photos.
    report_sha256: Mapped[str] = mapped_column(String(64), default="")
    report_name: Mapped[str] = mapped_column(String(200), default="")
    report_size: Mapped[int | None]
    # What a reviewer needs from it: {"open_loans", "overdue_count", "worst_status", …}
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    # queried → report_attached
    status: Mapped[str] = mapped_column(String(20), default="queried")

    queried_by: Mapped[User] = relationship()


class Village(db.Model):
    """A village's profile (村): its committee, households and main crops."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("office_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    township: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str] = mapped_column(String(100), default="")
    committee: Mapped[str] = mapped_column(String(200), default="")  # 村委会: who, how to reach them
    households: Mapped[int] = mapped_column(default=0)
    main_crops: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    office: Mapped[Office] = relationship()


class VillageCampaign(db.Model):
    """A whole-village pre-credit campaign: officers survey every household, then HQ approves the
    white list of pre-approved limits."""

    __tablename__ = "village_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(100))
    # surveying → closed (the white list is decided)
    state: Mapped[str] = mapped_column(String(20), default="surveying", index=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Pre-approved limits hold until this date.
    valid_until: Mapped[date | None] = mapped_column(Date)

    village: Mapped[Village] = relationship()
    product: Mapped[Product] = relationship()


class HouseholdSurvey(db.Model):
    """One household surveyed in a campaign (its head a borrower record), with the village
    committee's rating (村委评议) and the scorecard's result."""

    __tablename__ = "household_surveys"
    __table_args__ = (UniqueConstraint("campaign_id", "borrower_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("village_campaigns.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_versions.id"))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    committee_rating: Mapped[str] = mapped_column(String(20), default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    gps_accuracy_m: Mapped[int | None]
    surveyed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    surveyed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[int | None]
    score_detail: Mapped[dict | None] = mapped_column(JSON)
    suggested_limit: Mapped[Decimal | None] = mapped_column(Money)

    campaign: Mapped[VillageCampaign] = relationship()
    borrower: Mapped[Borrower] = relationship()


class PreApproval(db.Model):
    """A white-list entry (白名单): a household's pre-approved credit limit, proposed from the
    scorecard and approved by HQ; an application within it takes the light path."""

    __tablename__ = "preapprovals"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("village_campaigns.id"), index=True)
    household_survey_id: Mapped[int] = mapped_column(ForeignKey("household_surveys.id"), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    proposed_limit: Mapped[Decimal] = mapped_column(Money)
    approved_limit: Mapped[Decimal | None] = mapped_column(Money)
    # proposed → approved | refused; approved → used (an application took it) | expired
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")

    campaign: Mapped[VillageCampaign] = relationship()
    borrower: Mapped[Borrower] = relationship()
