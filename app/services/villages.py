"""Whole-village pre-credit (整村授信): villages, campaigns, household surveys, the white list, the
light path and the village map. The rules are in app/domain/village.py; this module reads and
writes, audits, and scopes every lookup.

- **Villages** belong to an office. A director reaches his offices' villages, headquarters every
  village, an officer his own office's (the phone's campaigns).
- **Campaigns** (a village, a product): started by a director of the village's office or by HQ;
  officers of the office survey each household on their phones (``receive_household``, idempotent
  by the client's UUID like visits and field collections). The household head is registered or
  linked as a borrower by his ID number; the answers are checked against the product's current
  survey version; the scorecard scores them and suggests a limit; the white list's proposal is made
  at once (``village.propose``) and stored as a PreApproval "proposed".
- **White list**: HQ (``approve_whitelist``) approves each proposal or all, may lower a limit, never
  raise it (a clear refusal and nothing written), and sets the validity date.
- **Light path**: a manifest of a pre-approved borrower (matched by ID number) within the approved,
  unexpired limit of the same product needs only the light-path photos and takes the light path
  (``Application.light_path``); the director's approval sends it to disbursement. The director's
  approval and the disbursement check the pre-approval again; the disbursement marks it "used".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.domain import dates, idcard
from app.domain import village as rules
from app.domain.i18n import N_
from app.domain.names import check_name
from app.domain.phone import PhoneError, normalise_mobile
from app.extensions import db
from app.models import Borrower, Device, Loan, Office, Product, User
from app.models.credit import HouseholdSurvey, PreApproval, SurveyVersion, Village, VillageCampaign
from app.services import audit
from app.services.errors import ServiceError
from app.services.light_path import light_rules
from app.services.scope import APPLICATIONS, OutOfScope, can, office_reach

MANAGE = "manage_villages"
APPROVE = "approve_whitelist"


class VillageError(ServiceError):
    """A refusal of a village, campaign, survey or white-list step; ``fields`` names what to correct."""


def _row_id(text: str) -> int | None:
    """A row id typed in a form: digits only, short enough for the database (a longer one names no
    row, and SQLite refuses to bind it), else None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 18 else None


def _invalid(fields: dict, code: str = "invalid_village") -> VillageError:
    return VillageError(code, N_("Some details need correcting."), fields=fields)


# --- reach ----------------------------------------------------------------------------------


def _reach(user: User) -> frozenset[int] | None:
    """The offices whose villages the user reaches (None: every office)."""
    return office_reach(user, APPLICATIONS)


def villages(user: User) -> list[Village]:
    q = select(Village).options(selectinload(Village.office)).order_by(Village.office_id, Village.name)
    reach = _reach(user)
    if reach is not None:
        q = q.where(Village.office_id.in_(sorted(reach)))
    return list(db.session.scalars(q))


def village(user: User, village_id: int) -> Village:
    v = db.session.get(Village, village_id)
    reach = _reach(user)
    if v is None or (reach is not None and v.office_id not in reach):
        raise OutOfScope(Village.__name__, village_id)
    return v


def campaign(user: User, campaign_id: int) -> VillageCampaign:
    c = db.session.get(VillageCampaign, campaign_id)
    if c is None:
        raise OutOfScope(VillageCampaign.__name__, campaign_id)
    village(user, c.village_id)  # the village's reach is the campaign's
    return c


def offices_for(user: User) -> list[Office]:
    """The offices a user may create a village in."""
    reach = _reach(user)
    q = select(Office).order_by(Office.id)
    if reach is not None:
        q = q.where(Office.id.in_(sorted(reach)))
    return list(db.session.scalars(q))


# --- villages -------------------------------------------------------------------------------


@dataclass
class VillageForm:
    office_id: str = ""
    name: str = ""
    township: str = ""
    county: str = ""
    committee: str = ""
    households: str = "0"
    main_crops: str = ""
    lat: str = ""
    lon: str = ""


def form_of(v: Village) -> VillageForm:
    return VillageForm(str(v.office_id), v.name, v.township, v.county, v.committee, str(v.households), v.main_crops,
                       "" if v.lat is None else f"{v.lat:.6f}", "" if v.lon is None else f"{v.lon:.6f}")


def _text(form: VillageForm, key: str, limit: int, errors: dict, *, required: bool = False) -> str:
    value = (getattr(form, key) or "").strip()
    if required and not value:
        errors[key] = (N_("This is required."), {})
    elif len(value) > limit:
        errors[key] = (N_("At most %(limit)s characters."), {"limit": limit})
    return value


def _coordinate(text: str, key: str, low: float, high: float, errors: dict) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        errors[key] = (N_("Enter a number from %(low)s to %(high)s."), {"low": low, "high": high})
        return None
    return round(value, 6)


def save_village(user: User, form: VillageForm, existing: Village | None = None, *, ip: str = "") -> Village:
    """Create a village (``existing`` None) or change one; every problem at once, nothing written."""
    errors: dict = {}
    reach = _reach(user)
    office_id = (_row_id(form.office_id) or -1) if existing is None else existing.office_id
    if existing is None and (db.session.get(Office, office_id) is None or (reach is not None and office_id not in reach)):
        errors["office_id"] = (N_("Choose one of your offices."), {})
    name = _text(form, "name", 100, errors, required=True)
    values = {k: _text(form, k, n, errors) for k, n in (("township", 100), ("county", 100), ("committee", 200), ("main_crops", 200))}
    try:
        households = int((form.households or "0").strip() or "0")
        if not 0 <= households <= 100000:
            raise ValueError
    except ValueError:
        households = 0
        errors["households"] = (N_("Enter a whole number from %(low)s to %(high)s."), {"low": 0, "high": 100000})
    lat = _coordinate(form.lat, "lat", -90, 90, errors)
    lon = _coordinate(form.lon, "lon", -180, 180, errors)
    if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
        errors["lat"] = (N_("Enter both the latitude and the longitude, or neither."), {})
    if not errors and name:
        clash = db.session.scalar(select(Village.id).where(Village.office_id == office_id, Village.name == name))
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = (N_("This office already has a village of this name."), {})
    if errors:
        raise _invalid(errors)
    v = existing or Village(office_id=office_id)
    before = None if existing is None else form_of(existing).__dict__
    v.name, v.households, v.lat, v.lon = name, households, lat, lon
    for k, value in values.items():
        setattr(v, k, value)
    if existing is None:
        db.session.add(v)
    db.session.flush()
    audit.record("village_created" if existing is None else "village_changed", actor_id=user.id, object_type="village",
                 object_id=v.id, ip=ip, before=before, after=form_of(v).__dict__)
    db.session.commit()
    return v


# --- campaigns --------------------------------------------------------------------------------


def current_survey(product_id: int) -> SurveyVersion:
    """The product's current survey version (app/services/surveys.py: version 1, the default, is
    made on the way for a product that has none; the caller commits)."""
    from app.services import surveys

    return surveys.current_version(product_id)


def products_for_campaigns() -> list[Product]:
    return list(db.session.scalars(select(Product).where(Product.is_active.is_(True)).order_by(Product.id)))


def start_campaign(user: User, v: Village, product_id: str, name: str, *, ip: str = "") -> VillageCampaign:
    errors: dict = {}
    pid = _row_id(product_id)
    product = db.session.get(Product, pid) if pid is not None else None
    if product is None or not product.is_active:
        errors["product_id"] = (N_("Choose a loan product."), {})
    name = (name or "").strip() or (f"{v.name}整村授信" if v else "")
    if len(name) > 100:
        errors["name"] = (N_("At most %(limit)s characters."), {"limit": 100})
    if not errors and db.session.scalar(select(VillageCampaign.id).where(
            VillageCampaign.village_id == v.id, VillageCampaign.product_id == product.id,
            VillageCampaign.state == "surveying")) is not None:
        errors["product_id"] = (N_("A campaign for this village and product is already under way."), {})
    if errors:
        raise _invalid(errors, "invalid_campaign")
    c = VillageCampaign(village_id=v.id, product_id=product.id, name=name, state="surveying", started_by_id=user.id)
    db.session.add(c)
    db.session.flush()
    audit.record("campaign_started", actor_id=user.id, object_type="village", object_id=v.id, ip=ip,
                 campaign_id=c.id, product=product.code, name=name)
    db.session.commit()
    return c


def campaigns_of(v: Village) -> list[VillageCampaign]:
    return list(db.session.scalars(select(VillageCampaign).where(VillageCampaign.village_id == v.id)
                                   .options(selectinload(VillageCampaign.product)).order_by(VillageCampaign.id.desc())))


def close_campaign(user: User, c: VillageCampaign, *, now: datetime, ip: str = "") -> None:
    if c.state != "surveying":
        raise VillageError("campaign_closed", N_("This campaign is already closed."))
    c.state, c.closed_at = "closed", now
    audit.record("campaign_closed", actor_id=user.id, object_type="village", object_id=c.village_id, ip=ip, campaign_id=c.id)
    db.session.commit()


def counts(c: VillageCampaign) -> dict[str, int]:
    surveyed = db.session.scalar(select(func.count()).select_from(HouseholdSurvey).where(HouseholdSurvey.campaign_id == c.id)) or 0
    by_status = dict(db.session.execute(select(PreApproval.status, func.count()).where(PreApproval.campaign_id == c.id)
                                        .group_by(PreApproval.status)).tuples().all())
    return {"surveyed": surveyed, **{k: by_status.get(k, 0) for k in ("proposed", "approved", "refused", "used")}}


# --- the phone: open campaigns and a surveyed household ------------------------------------


def phone_campaigns(officer: User, today: date) -> list[dict]:
    """The open campaigns of the officer's office, each with its product's current survey and the
    households he already surveyed (so a replacement phone does not survey them twice)."""
    rows = db.session.scalars(
        select(VillageCampaign).join(Village, Village.id == VillageCampaign.village_id)
        .where(Village.office_id == officer.office_id, VillageCampaign.state == "surveying")
        .options(selectinload(VillageCampaign.village), selectinload(VillageCampaign.product))
        .order_by(VillageCampaign.id))
    out = []
    for c in rows:
        sv = current_survey(c.product_id)
        # His own households' approved, unexpired pre-approvals, by survey UUID: an application he
        # starts from one asks only for the light path's photos while the amount is within the limit.
        approved = db.session.execute(
            select(HouseholdSurvey.uuid, PreApproval.approved_limit, PreApproval.valid_until)
            .join(PreApproval, PreApproval.household_survey_id == HouseholdSurvey.id)
            .where(HouseholdSurvey.campaign_id == c.id, HouseholdSurvey.surveyed_by_id == officer.id,
                   PreApproval.status == "approved", PreApproval.valid_until >= today)).all()
        out.append({"uuid": c.uuid, "name": c.name, "village": c.village.name, "township": c.village.township,
                    "preapproved": {u: {"limit": f"{limit:.2f}", "valid_until": until.isoformat()} for u, limit, until in approved},
                    "light_items": list(light_rules(c.product).required_items) if light_rules(c.product).enabled else None,
                    "households": c.village.households, "product": {"id": c.product_id, "name": c.product.name},
                    "survey": {"version": sv.version, "definition": sv.definition},
                    "ratings": [{"value": r, "label": rules.RATING_LABELS[r]} for r in rules.RATINGS],
                    "surveyed": db.session.scalar(select(func.count()).select_from(HouseholdSurvey)
                                                  .where(HouseholdSurvey.campaign_id == c.id)) or 0})
    db.session.commit()  # a product's first survey version, made on the way
    return out


def household_answer(s: HouseholdSurvey, pa: PreApproval | None = None) -> dict:
    return {"uuid": s.uuid, "status": "received", "borrower_id": s.borrower_id, "score": s.score,
            "suggested_limit": None if s.suggested_limit is None else f"{s.suggested_limit:.2f}",
            "proposed_limit": None if pa is None else f"{pa.proposed_limit:.2f}"}


def receive_household(campaign_uuid: str, data: dict, user: User, *, now: datetime, device_id: int | None = None,
                      device: Device | None = None, ip: str = "") -> dict:
    """A household surveyed on the phone (``schemas.CampaignHousehold``, dumped). Once per UUID:
    a resend answers the same and records nothing twice. A retired ``device`` hands in what it
    surveyed before its retirement, nothing newer (as its applications, app/services/sync.py)."""
    known = db.session.scalar(select(HouseholdSurvey).where(HouseholdSurvey.uuid == data["uuid"]))
    if known is not None:
        if known.surveyed_by_id != user.id:
            raise VillageError("not_yours", N_("This survey was sent by another officer."))
        return household_answer(known, db.session.scalar(select(PreApproval).where(PreApproval.household_survey_id == known.id)))
    if device is not None and device.status == "retired":
        surveyed_at = datetime.fromisoformat(str(data["surveyed_at"]).replace("Z", "+00:00"))
        if device.status_changed_at is None or surveyed_at > device.status_changed_at:
            raise VillageError("device_retired", N_("This phone has been retired: it can send the surveys it already "
                                                    "holds but cannot survey new households."))
    c = db.session.scalar(select(VillageCampaign).where(VillageCampaign.uuid == campaign_uuid)
                          .options(selectinload(VillageCampaign.village), selectinload(VillageCampaign.product)))
    if c is None or c.village.office_id != user.office_id:
        raise VillageError("unknown_campaign", N_("This campaign is not one of your office's."))
    if c.state != "surveying":
        raise VillageError("campaign_closed", N_("This campaign is closed: no more households can be surveyed in it."))
    sv = current_survey(c.product_id)
    fields: dict = {}
    head = data["head"]
    name, problem = check_name(head["name"])
    if problem:
        fields["head.name"] = problem
        name = ""
    info = None
    try:
        info = idcard.parse(head["id_number"], dates.business_date_of(now))
    except idcard.IdNumberError as e:
        fields["head.id_number"] = (e.message, dict(e.params))
    phone = (head.get("phone") or "").strip()
    if phone:  # checked as on an application's manifest (app/domain/manifest.py): never stored as sent
        try:
            phone = normalise_mobile(phone)
        except PhoneError as e:
            fields["head.phone"] = (e.message, dict(e.params))
    household_no = data["household_no"].strip()
    if not household_no:
        fields["household_no"] = (N_("Enter the household number (户号)."), {})
    rating = data["rating"]
    if rating not in rules.RATINGS:
        fields["rating"] = (N_("Choose the village committee's rating."), {})
    from app.domain import survey

    answers = dict(data["answers"])
    definition = survey.SurveyDefinition.from_dict(sv.definition)
    keys = {q.key for q in definition.questions()}
    if "committee_rating" in keys and rating in rules.RATINGS:
        answers["committee_rating"] = rating  # the one rating, asked once on the phone
    normalised, problems = survey.check_answers(definition, answers, complete=True)
    for key, problem in problems.items():
        fields[f"answers.{key}"] = problem
    for q in definition.questions():
        if q.type == "photo" and q.key in answers:  # a campaign takes no photos: no application holds them
            fields[f"answers.{q.key}"] = (N_("Photos are not taken in a village survey."), {})
    borrower = None
    if info is not None:
        borrower = db.session.scalar(select(Borrower).where(Borrower.id_number == info.number))
        if borrower is not None and borrower.office_id != user.office_id:
            fields["head.id_number"] = (N_("This ID number belongs to another office's customer."), {})
        elif borrower is not None and borrower.officer_id != user.id:
            # As on the phone's applications (sync.py): never attach to, or write on, another officer's
            # customer, nor tell his registered name.
            fields["head.id_number"] = (N_("This ID number belongs to another loan officer's customer. Ask your director "
                                           "to transfer the customer first."), {})
        elif borrower is not None and name and borrower.name != name:
            fields["head.name"] = (N_("This ID number is registered under the name %(name)s. Check the ID card."), {"name": borrower.name})
        elif borrower is not None and db.session.scalar(select(HouseholdSurvey.id).where(
                HouseholdSurvey.campaign_id == c.id, HouseholdSurvey.borrower_id == borrower.id)) is not None:
            fields["head.id_number"] = (N_("This household head was already surveyed in this campaign."), {})
    if fields:
        raise VillageError("invalid_survey", N_("Some details of the survey need correcting."), fields=fields)
    assert info is not None
    gps = data.get("gps")
    v = c.village
    if borrower is None:
        borrower = Borrower(name=name, id_number=info.number, sex=info.sex, birth_date=info.birth_date,
                            phone=phone, village=v.name, township=v.township, county=v.county,
                            address=f"{v.name} {household_no}"[:200], office_id=v.office_id, officer_id=user.id, created_at=now)
        db.session.add(borrower)
    if not borrower.household_key:
        borrower.household_key = f"{v.name}-{household_no}"[:50]
    if gps and borrower.home_lat is None:
        borrower.home_lat, borrower.home_lon, borrower.home_gps_accuracy_m = gps["lat"], gps["lon"], round(gps["accuracy_m"])
    age = info.age_on(dates.business_date_of(now))
    s = HouseholdSurvey(uuid=data["uuid"], campaign=c, borrower=borrower, survey_version_id=sv.id, answers=normalised,
                        committee_rating=rating, lat=gps["lat"] if gps else None, lon=gps["lon"] if gps else None,
                        gps_accuracy_m=round(gps["accuracy_m"]) if gps else None, surveyed_by_id=user.id,
                        device_id=device_id, surveyed_at=now)
    from app.services import scoring

    scored = scoring.score_answers(c.product_id, normalised, age)
    if scored is not None:
        result, limit = scored
        s.score, s.score_detail, s.suggested_limit = result.score, result.to_detail(), limit.amount
    db.session.add(s)
    try:
        db.session.flush()
        pa = _propose(s, c)
        audit.record("household_surveyed", actor_id=user.id, object_type="borrower", object_id=borrower.id, ip=ip,
                     campaign_id=c.id, uuid=s.uuid, household_no=household_no, rating=rating, score=s.score,
                     suggested_limit=None if s.suggested_limit is None else str(s.suggested_limit),
                     proposed_limit=None if pa is None else str(pa.proposed_limit), gps=bool(gps))
        answer = household_answer(s, pa)
        db.session.commit()
    except IntegrityError:
        # The same survey sent twice at once: the other request recorded it; answer as a resend.
        db.session.rollback()
        again = db.session.scalar(select(HouseholdSurvey).where(HouseholdSurvey.uuid == data["uuid"]))
        if again is not None and again.surveyed_by_id == user.id:
            return household_answer(again, db.session.scalar(select(PreApproval).where(PreApproval.household_survey_id == again.id)))
        raise VillageError("changed_meanwhile", N_("This household was recorded meanwhile; the survey will be sent again.")) from None
    return answer


def proposal_of(s: HouseholdSurvey, product: Product) -> rules.Proposal:
    return rules.propose(light_rules(product), score=s.score, rating=s.committee_rating, suggested_limit=s.suggested_limit,
                         product_min=product.min_amount, product_max=product.max_amount)


def _propose(s: HouseholdSurvey, c: VillageCampaign) -> PreApproval | None:
    p = proposal_of(s, c.product)
    if p.amount is None:
        return None
    pa = PreApproval(campaign_id=c.id, household_survey_id=s.id, borrower_id=s.borrower_id, proposed_limit=p.amount,
                     status="proposed")
    db.session.add(pa)
    return pa


# --- the white list -------------------------------------------------------------------------


@dataclass
class WhiteListRow:
    survey: HouseholdSurvey
    preapproval: PreApproval | None
    proposal: rules.Proposal


def white_list(c: VillageCampaign) -> list[WhiteListRow]:
    surveys = db.session.scalars(select(HouseholdSurvey).where(HouseholdSurvey.campaign_id == c.id)
                                 .options(selectinload(HouseholdSurvey.borrower)).order_by(HouseholdSurvey.id))
    pas = {pa.household_survey_id: pa for pa in db.session.scalars(select(PreApproval).where(PreApproval.campaign_id == c.id))}
    return [WhiteListRow(s, pas.get(s.id), proposal_of(s, c.product)) for s in surveys]


def decide_white_list(user: User, c: VillageCampaign, decisions: dict[int, tuple[str, str]], valid_until_text: str, *,
                      today: date, now: datetime, ip: str = "") -> dict[str, int]:
    """HQ's decision on a campaign's proposals: ``decisions`` {preapproval id: ("approve" | "refuse",
    limit text)}. Every decision is checked before anything is written: one limit above what was
    proposed (or the product's maximum) refuses the whole decision."""
    if not can(user, APPROVE):
        raise VillageError("not_allowed", N_("Only headquarters' senior reviewers approve the white list."))
    product = c.product
    errors: dict = {}
    try:
        valid_until = date.fromisoformat(valid_until_text.strip()) if valid_until_text.strip() else None
    except ValueError:
        valid_until = None
        errors["valid_until"] = (N_("Enter a date as YYYY-MM-DD."), {})
    if "valid_until" not in errors and any(d == "approve" for d, _ in decisions.values()):
        problem = rules.check_valid_until(valid_until, today=today)
        if problem:
            errors["valid_until"] = problem
    # Locked until the commit: two reviewers deciding at once decide in turn (the second finds them decided).
    pas = {pa.id: pa for pa in db.session.scalars(select(PreApproval).where(PreApproval.campaign_id == c.id)
                                                  .options(selectinload(PreApproval.borrower)).with_for_update())}
    plan: list[tuple[PreApproval, str, Decimal | None]] = []
    for pa_id, (decision, limit_text) in sorted(decisions.items()):
        pa = pas.get(pa_id)
        if pa is None or decision not in ("approve", "refuse"):
            continue
        if pa.status != "proposed":
            errors[f"limit_{pa_id}"] = (N_("%(name)s's limit was already decided."), {"name": pa.borrower.name})
            continue
        if decision == "refuse":
            plan.append((pa, "refused", None))
            continue
        amount = rules.parse_limit(limit_text) if limit_text.strip() else pa.proposed_limit
        if amount is None:
            errors[f"limit_{pa_id}"] = (N_("%(name)s: enter the limit in yuan."), {"name": pa.borrower.name})
            continue
        problem = rules.check_approved_limit(amount, proposed=pa.proposed_limit, product_min=product.min_amount,
                                             product_max=product.max_amount)
        if problem:
            message, params = problem
            errors[f"limit_{pa_id}"] = (message, params)
            continue
        plan.append((pa, "approved", amount))
    if errors:
        first = next(iter(errors.values()))
        raise VillageError("invalid_white_list", first[0], fields=errors, **dict(first[1]))
    if not plan:
        raise VillageError("nothing_decided", N_("Choose the households to approve or refuse."))
    for pa, status, amount in plan:
        pa.status, pa.approved_limit, pa.decided_by_id, pa.decided_at = status, amount, user.id, now
        pa.valid_until = valid_until if status == "approved" else None
    if valid_until is not None:
        c.valid_until = valid_until
    audit.record("white_list_decided", actor_id=user.id, object_type="village", object_id=c.village_id, ip=ip,
                 campaign_id=c.id, valid_until=valid_until.isoformat() if valid_until else None,
                 decisions=[{"preapproval_id": pa.id, "borrower_id": pa.borrower_id, "status": status,
                             "proposed": str(pa.proposed_limit), "approved": None if amount is None else str(amount)}
                            for pa, status, amount in plan])
    db.session.commit()
    return {"approved": sum(1 for _, s, _ in plan if s == "approved"), "refused": sum(1 for _, s, _ in plan if s == "refused")}


def default_valid_until(c: VillageCampaign, today: date) -> date:
    return today + timedelta(days=light_rules(c.product).valid_days)


def white_list_report(c: VillageCampaign, today: date):
    """The white list as a report for the download (CSV/XLSX, app/services/exports.py; audited)."""
    from app.services.exports import _default_translate as translate, list_report
    from app.services.reporting import Column, ReportRequest

    columns = [Column("household", N_("Household number"), personal=True), Column("name", N_("Household head"), personal=True),
               Column("rating", N_("Committee rating")), Column("score", N_("Score"), "int"),
               Column("suggested", N_("Suggested limit"), "money"), Column("proposed", N_("Proposed limit"), "money"),
               Column("approved", N_("Approved limit"), "money"), Column("status", N_("Status")),
               Column("valid_until", N_("Valid until"), "date")]
    rows = []
    for r in white_list(c):
        b, s, pa = r.survey.borrower, r.survey, r.preapproval
        rows.append({"household": b.household_key, "name": b.name,
                     "rating": rules.RATING_LABELS.get(s.committee_rating, s.committee_rating), "score": s.score,
                     "suggested": s.suggested_limit, "proposed": pa.proposed_limit if pa else None,
                     "approved": pa.approved_limit if pa else None,
                     "status": translate(rules.PREAPPROVAL_STATUS_LABELS.get(pa.status, pa.status)) if pa else "",
                     "valid_until": pa.valid_until if pa else None})
    return list_report("white_list", f"{c.village.name} · {c.name}", ReportRequest(name="white_list", as_of=today), columns, rows)


# --- the village map -------------------------------------------------------------------------


def map_data(v: Village, system: str) -> dict:
    """The village's surveyed households for the map, compact: ``s`` the status names, ``c`` the
    centre, ``h`` one array per household ``[lat offset, lon offset (1e-5 degrees from the
    centre), status index, name]`` — a few dozen bytes each, no HTML (2,000 households load on a
    phone in well under 150 KB, bench/village_map_bytes.py)."""
    from app.domain import geo

    rows = db.session.execute(
        select(HouseholdSurvey.borrower_id, HouseholdSurvey.lat, HouseholdSurvey.lon, Borrower.name, Borrower.home_lat, Borrower.home_lon)
        .join(VillageCampaign, VillageCampaign.id == HouseholdSurvey.campaign_id)
        .join(Borrower, Borrower.id == HouseholdSurvey.borrower_id)
        .where(VillageCampaign.village_id == v.id).order_by(HouseholdSurvey.id)).all()
    homes: dict[int, tuple[float, float, str]] = {}
    for bid, lat, lon, name, hlat, hlon in rows:
        lat, lon = (lat, lon) if lat is not None else (hlat, hlon)
        if lat is not None:
            homes[bid] = (lat, lon, name)
    ids = sorted(homes)
    pre, loans = set(), {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        pre |= set(db.session.scalars(select(PreApproval.borrower_id).where(PreApproval.borrower_id.in_(chunk),
                                                                             PreApproval.status.in_(("approved", "used")))))
        for bid, dpd in db.session.execute(select(Loan.borrower_id, func.max(Loan.days_past_due))
                                           .where(Loan.borrower_id.in_(chunk), Loan.status == "active").group_by(Loan.borrower_id)):
            loans[bid] = dpd or 0
    statuses = list(rules.MAP_STATUSES)
    if v.lat is not None:
        clat, clon = v.lat, v.lon
    elif homes:
        clat = sum(h[0] for h in homes.values()) / len(homes)
        clon = sum(h[1] for h in homes.values()) / len(homes)
    else:
        clat, clon = 30.66, 104.07
    if system != geo.WGS84:
        clat, clon = geo.from_wgs84(clat, clon, system)
    counts_ = dict.fromkeys(statuses, 0)
    out = []
    for bid in ids:
        lat, lon, name = homes[bid]
        if system != geo.WGS84:
            lat, lon = geo.from_wgs84(lat, lon, system)
        status = rules.map_status(preapproved=bid in pre, borrowing=bid in loans, days_past_due=loans.get(bid, 0))
        counts_[status] += 1
        out.append([round((lat - clat) * 1e5), round((lon - clon) * 1e5), statuses.index(status), name])
    return {"s": statuses, "c": [round(clat, 6), round(clon, 6)], "n": counts_, "h": out}
