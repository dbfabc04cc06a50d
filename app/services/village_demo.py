"""The demo's whole-village pre-credit (app/services/villages.py): one village, its campaign, the
white list approved, and one pre-approved application waiting for the director on the light path.
Apart from villages.py because it drives the workflow (app/services/applications.py imports
villages.py for the light path: one way only)."""
from __future__ import annotations

import uuid as uuid_mod
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.domain import dates, idcard
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import Application, Product, User
from app.models.credit import HouseholdSurvey, PreApproval, Village, VillageCampaign
from app.services import applications as app_service
from app.services import scoring
from app.services.light_path import attach_preapproval
from app.services.villages import decide_white_list, receive_household

DEMO_HOUSEHOLDS = (  # name, birth, serial, rating, wage income, debt
    ("黄大山", date(1972, 4, 3), 311, "excellent", 36000, 0), ("林春花", date(1980, 9, 18), 322, "good", 24000, 10000),
    ("何建军", date(1968, 1, 25), 333, "good", 48000, 0), ("罗小英", date(1986, 6, 9), 344, "fair", 15000, 30000),
    ("高德明", date(1975, 12, 1), 355, "poor", 0, 30000), ("梁玉兰", date(1978, 3, 14), 366, "excellent", 30000, 0),
    ("宋国庆", date(1965, 10, 1), 377, "good", 15000, 10000), ("谢文华", date(1990, 7, 22), 388, "good", 48000, 0),
    ("韩秀珍", date(1983, 2, 28), 399, "fair", 0, 0), ("唐志刚", date(1970, 8, 15), 411, "excellent", 36000, 0),
    ("冯桂芳", date(1988, 11, 11), 422, "good", 30000, 10000), ("曹永福", date(1962, 5, 5), 433, "good", 24000, 0),
)
DEMO_CENTRE = (30.6801, 104.1012)


def _demo_answers(wage: int, debt: int, i: int) -> dict:
    land = 4 + (i * 7) % 9
    crop = land * 2200
    heads = (0, 2, 5, 12)[i % 4]
    return {"members": str(3 + i % 4), "labourers": str(2 + i % 2), "years_in_village": str(10 + i * 3),
            "land_mu": f"{land:.1f}", "main_crops": ("水稻、油菜", "柑橘", "蔬菜大棚")[i % 3], "livestock_heads": str(heads),
            "crop_income": f"{crop}.00", "livestock_income": f"{heads * 1500}.00", "wage_income": f"{wage}.00",
            "business_income": "0.00", "other_income": "2000.00", "living_expenses": f"{15000 + i * 500}.00",
            "production_expenses": f"{int(crop * 0.4)}.00", "house_type": ("brick_concrete", "brick_wood")[i % 2],
            "house_value": f"{(10 + i * 2) * 10000}.00", "has_vehicle": i % 3 == 0, "formal_debt": f"{debt}.00",
            "informal_debt": "0.00", "yearly_debt_service": f"{int(debt * 0.35)}.00"}


def seed_demo(users: dict[str, User], now: datetime, add_photos=None) -> None:
    """The demo's whole-village pre-credit: 红星村 of 城关办事处 with a campaign for the credit loan,
    twelve households surveyed by officer1 (through the phone's own path), the white list approved
    by reviewer2, and one pre-approved household's application waiting for the director on the
    light path (``add_photos(application)`` gives it its photos)."""
    officer, director, hq = users["officer1"], users["director1"], users["reviewer2"]
    product = db.session.scalar(select(Product).where(Product.code == "XYD"))
    if product is None:
        return
    v = Village(office_id=officer.office_id, name="红星村", township="城关镇", county="示范县",
                committee="村支书 王德福 13908120001", households=len(DEMO_HOUSEHOLDS) + 3, main_crops="水稻、油菜、柑橘",
                lat=DEMO_CENTRE[0], lon=DEMO_CENTRE[1], created_at=now - timedelta(days=30))
    db.session.add(v)
    db.session.flush()
    c = VillageCampaign(village_id=v.id, product_id=product.id, name="红星村整村授信", state="surveying",
                        started_by_id=director.id, started_at=now - timedelta(days=20))
    db.session.add(c)
    db.session.commit()
    for i, (name, birth, serial, rating, wage, debt) in enumerate(DEMO_HOUSEHOLDS):
        first17 = f"513401{birth:%Y%m%d}{serial:03d}"
        data = {"uuid": str(uuid_mod.UUID(int=0x5EED0000 + i)), "surveyed_at": (now - timedelta(days=15 - i)).isoformat(),
                "household_no": f"{1 + i // 4}组{i + 1:02d}号", "rating": rating,
                "head": {"name": name, "id_number": first17 + idcard.check_digit(first17), "phone": f"1390813{i:04d}"},
                "answers": _demo_answers(wage, debt, i),
                "gps": {"lat": DEMO_CENTRE[0] + ((i * 37) % 11 - 5) * 0.0006, "lon": DEMO_CENTRE[1] + ((i * 53) % 13 - 6) * 0.0006,
                        "accuracy_m": 8.0, "at": None, "is_mock": False}}
        receive_household(c.uuid, data, officer, now=now - timedelta(days=15 - i))
    today = dates.business_date_of(now)
    proposed = {pa.id: ("approve", "") for pa in db.session.scalars(select(PreApproval).where(
        PreApproval.campaign_id == c.id, PreApproval.status == "proposed"))}
    if not proposed:
        return
    decide_white_list(hq, c, proposed, (today + timedelta(days=365)).isoformat(), today=today, now=now - timedelta(days=3))
    pa = db.session.scalar(select(PreApproval).where(PreApproval.campaign_id == c.id, PreApproval.status == "approved")
                           .order_by(PreApproval.approved_limit.desc()).limit(1))
    borrower = pa.borrower
    amount = min(pa.approved_limit, Decimal("20000"))
    app = Application(borrower=borrower, product=product, officer_id=officer.id, office_id=officer.office_id, amount=amount,
                      term_months=12, purpose="柑橘园施肥", state=State.UPLOADING.value, home_lat=borrower.home_lat,
                      home_lon=borrower.home_lon, home_gps_accuracy_m=borrower.home_gps_accuracy_m,
                      captured_at=now - timedelta(days=1), created_at=now - timedelta(days=1))
    survey = db.session.scalar(select(HouseholdSurvey).where(HouseholdSurvey.id == pa.household_survey_id))
    # The household's campaign answers are the application's survey (same product, same version), scored.
    app.survey_version_id, app.survey_answers = survey.survey_version_id, dict(survey.answers)
    db.session.add(app)
    db.session.flush()
    scoring.score_application(app)
    attach_preapproval(app, today)
    if add_photos is not None:
        add_photos(app)
    db.session.commit()
    app_service.system_act(app.id, Event.PHOTOS_COMPLETE, now=now - timedelta(hours=20))
