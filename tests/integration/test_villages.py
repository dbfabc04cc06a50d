"""Whole-village pre-credit on the real database: a household surveyed on the phone is recorded once
per UUID (head registered by ID number, answers checked, scored, proposed); the white list refuses
a limit above the proposal with nothing written; a pre-approved application within its limit takes
the light path (fewer photos, the director's approval straight to disbursement, the pre-approval
used at disbursement and refused there once expired); above the limit it takes the normal path."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Loan, Product, User
from app.models.credit import HouseholdSurvey, PreApproval, VillageCampaign
from app.services import applications as app_service
from app.services import light_path
from app.services import loans as loan_service
from app.services import villages
from tests.sync_helpers import enrol, jpeg_bytes, manifest, sha256, valid_id_number


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _campaign() -> VillageCampaign:
    return db.session.scalar(select(VillageCampaign).order_by(VillageCampaign.id))


def _household(*, key: str | None = None, serial: int = 501, name: str = "陆有田", rating: str = "good", **answers) -> dict:
    base = {"members": "4", "labourers": "2", "years_in_village": "30", "land_mu": "8.5", "main_crops": "水稻",
            "livestock_heads": "3", "crop_income": "20000.00", "livestock_income": "5000.00", "wage_income": "36000.00",
            "business_income": "0.00", "living_expenses": "18000.00", "production_expenses": "8000.00",
            "house_type": "brick_concrete", "house_value": "200000.00", "has_vehicle": True, "formal_debt": "0.00",
            "informal_debt": "0.00", "yearly_debt_service": "0.00"}
    base.update(answers)
    return {"uuid": key or str(uuid.uuid4()), "surveyed_at": clock.now().isoformat(), "household_no": "3组07号",
            "head": {"name": name, "id_number": valid_id_number(serial, "19800315"), "phone": "13912340000"},
            "answers": base, "rating": rating,
            "gps": {"lat": 30.681, "lon": 104.102, "accuracy_m": 9.0, "at": None, "is_mock": False}}


def test_a_household_surveyed_on_the_phone_is_recorded_once(app, client, demo):
    headers = enrol(app, "officer1")
    listed = client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"]
    assert [c["village"] for c in listed] == ["红星村"]
    survey_keys = {q["key"] for s in listed[0]["survey"]["definition"]["sections"] for q in s["questions"]}
    assert "members" in survey_keys
    body = _household()
    url = f"/api/v1/campaigns/{listed[0]['uuid']}/households"
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    answer = first.get_json()
    assert answer["status"] == "received" and answer["score"] is not None
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.get_json() == answer
    with app.app_context():
        rows = db.session.scalars(select(HouseholdSurvey).where(HouseholdSurvey.uuid == body["uuid"])).all()
        assert len(rows) == 1
        s = rows[0]
        assert s.borrower.name == "陆有田" and s.borrower.village == "红星村" and s.borrower.household_key == "红星村-3组07号"
        assert s.answers["committee_rating"] == "good" and s.score == answer["score"]
        assert s.suggested_limit is not None and s.score_detail
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "household_surveyed",
                                                                                  AuditLog.object_id == s.borrower_id)) == 1
        pa = db.session.scalar(select(PreApproval).where(PreApproval.household_survey_id == s.id))
        assert (pa is not None) == (answer["proposed_limit"] is not None)
        # The same head surveyed again under another UUID: refused in words.
    other = client.post(url, json=_household(), headers=headers)
    assert other.status_code == 422 and "head.id_number" in other.get_json()["fields"]


@pytest.mark.parametrize("change,field", [
    ({"head": {"name": "陆有田", "id_number": "513401198003155012"}}, "head.id_number"),  # bad check digit
    ({"rating": "great"}, "rating"),
    ({"household_no": "  "}, "household_no"),
])
def test_a_bad_survey_is_refused_with_nothing_written(app, client, demo, change, field):
    headers = enrol(app, "officer1")
    with app.app_context():
        c_uuid = _campaign().uuid
        before = db.session.scalar(select(func.count()).select_from(HouseholdSurvey))
        borrowers = db.session.scalar(select(func.count()).select_from(Borrower))
    body = _household() | change
    response = client.post(f"/api/v1/campaigns/{c_uuid}/households", json=body, headers=headers)
    assert response.status_code == 422 and field in response.get_json()["fields"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HouseholdSurvey)) == before
        assert db.session.scalar(select(func.count()).select_from(Borrower)) == borrowers


def test_an_answer_out_of_range_or_a_number_as_json_is_refused(app, client, demo):
    headers = enrol(app, "officer1")
    with app.app_context():
        c_uuid = _campaign().uuid
    bad = client.post(f"/api/v1/campaigns/{c_uuid}/households", json=_household(members="99"), headers=headers)
    assert bad.status_code == 422 and "answers.members" in bad.get_json()["fields"]
    body = _household()
    body["answers"]["members"] = 4  # a JSON number: strict schema
    assert client.post(f"/api/v1/campaigns/{c_uuid}/households", json=body, headers=headers).status_code == 422


def test_another_offices_officer_cannot_survey_the_campaign(app, client, demo):
    headers = enrol(app, "officer3")
    assert client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"] == []
    with app.app_context():
        c_uuid = _campaign().uuid
    response = client.post(f"/api/v1/campaigns/{c_uuid}/households", json=_household(), headers=headers)
    assert response.status_code == 422 and response.get_json()["error"] == "unknown_campaign"


def test_a_retired_phone_hands_in_its_old_surveys_but_surveys_no_new_household(app, client, demo):
    from datetime import datetime, timezone

    from app.models import Device
    from app.services import devices as device_service

    headers = enrol(app, "officer1")
    with app.app_context():
        c_uuid = _campaign().uuid
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        device_service.set_status(device, "retired", admin=_user("admin"), now=datetime.now(timezone.utc))
        surveys, borrowers = (db.session.scalar(select(func.count()).select_from(m)) for m in (HouseholdSurvey, Borrower))
    url = f"/api/v1/campaigns/{c_uuid}/households"
    old = _household(serial=502) | {"surveyed_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}
    assert client.post(url, json=old, headers=headers).status_code == 200
    new = _household(serial=503) | {"surveyed_at": (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()}
    refused = client.post(url, json=new, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"] == "device_retired"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HouseholdSurvey)) == surveys + 1
        assert db.session.scalar(select(func.count()).select_from(Borrower)) == borrowers + 1


def test_an_officer_cannot_survey_a_colleagues_customer_nor_learn_his_name(app, client, demo):
    headers = enrol(app, "officer2")  # same office as officer1
    with app.app_context():
        c_uuid = _campaign().uuid
        theirs = db.session.scalar(select(Borrower).where(Borrower.name == "张三"))
        assert theirs.officer_id == _user("officer1").id
        number, key, surveys = theirs.id_number, theirs.household_key, db.session.scalar(
            select(func.count()).select_from(HouseholdSurvey))
    body = _household(name="张小三") | {"head": {"name": "张小三", "id_number": number, "phone": "13912340000"}}
    response = client.post(f"/api/v1/campaigns/{c_uuid}/households", json=body, headers=headers)
    assert response.status_code == 422 and "head.id_number" in response.get_json()["fields"]
    assert "张三" not in str(response.get_json()).replace("张小三", "")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(HouseholdSurvey)) == surveys
        assert db.session.scalar(select(Borrower.household_key).where(Borrower.id_number == number)) == key


def _fresh_proposal(app, client) -> int:
    headers = enrol(app, "officer1")
    with app.app_context():
        c_uuid = _campaign().uuid
    answer = client.post(f"/api/v1/campaigns/{c_uuid}/households", json=_household(rating="excellent"), headers=headers).get_json()
    assert answer["proposed_limit"] is not None, answer
    with app.app_context():
        return db.session.scalar(select(PreApproval.id).where(PreApproval.status == "proposed").order_by(PreApproval.id.desc()))


def test_white_list_refuses_a_limit_above_the_proposal_and_writes_nothing(app, client, demo):
    pa_id = _fresh_proposal(app, client)
    with app.app_context():
        pa, c = db.session.get(PreApproval, pa_id), _campaign()
        above = pa.proposed_limit + Decimal("0.01")
        audits = db.session.scalar(select(func.count()).select_from(AuditLog))
        today = clock.business_today()
        with pytest.raises(villages.VillageError) as e:
            villages.decide_white_list(_user("reviewer2"), c, {pa_id: ("approve", f"{above}")},
                                       (today + timedelta(days=90)).isoformat(), today=today, now=clock.now())
        assert e.value.message == villages.rules.ABOVE_LIMIT
        db.session.rollback()
        pa = db.session.get(PreApproval, pa_id)
        assert pa.status == "proposed" and pa.approved_limit is None
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audits
        # A lower limit is fine, audited; the decision cannot be taken twice.
        lower = pa.proposed_limit - Decimal("1000")
        villages.decide_white_list(_user("reviewer2"), _campaign(), {pa_id: ("approve", f"{lower}")},
                                   (today + timedelta(days=90)).isoformat(), today=today, now=clock.now())
        pa = db.session.get(PreApproval, pa_id)
        assert pa.status == "approved" and pa.approved_limit == lower and pa.valid_until == today + timedelta(days=90)
        with pytest.raises(villages.VillageError):
            villages.decide_white_list(_user("reviewer2"), _campaign(), {pa_id: ("approve", "")},
                                       (today + timedelta(days=90)).isoformat(), today=today, now=clock.now())
        # Only the white list's approvers decide.
        with pytest.raises(villages.VillageError):
            villages.decide_white_list(_user("reviewer1"), _campaign(), {pa_id: ("refuse", "")}, "", today=today, now=clock.now())


def test_white_list_refusal_above_the_limit_on_the_page_is_in_chinese(app, client, auth, demo):
    pa_id = _fresh_proposal(app, client)
    with app.app_context():
        pa = db.session.get(PreApproval, pa_id)
        c_id, above = pa.campaign_id, pa.proposed_limit + 5000
    auth.login("reviewer2")
    response = auth.post(f"/villages/campaigns/{c_id}/decide", {f"decision_{pa_id}": "approve", f"limit_{pa_id}": str(above),
                                                                "valid_until": (clock.business_today() + timedelta(days=30)).isoformat()},
                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "预授信金额超过额度" in html, html[:3000]
    with app.app_context():
        assert db.session.get(PreApproval, pa_id).status == "proposed"


def _light_app() -> Application:
    return db.session.scalar(select(Application).where(Application.light_path.is_(True)))


def test_the_demo_light_path_application_goes_from_the_director_to_disbursement_and_uses_the_preapproval(app, demo):
    with app.app_context():
        a = _light_app()
        assert a.state == State.AWAITING_DIRECTOR.value and a.preapproval_id is not None
        app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=clock.now())
        db.session.refresh(a)
        assert a.state == State.AWAITING_DISBURSEMENT.value
        form = loan_service.DisbursementForm(amount=f"{a.amount}", disbursed_on=clock.business_today().isoformat(),
                                             channel="cash", reference="")
        loan = loan_service.disburse(a, form, _user("cashier1"), today=clock.business_today(), now=clock.now(),
                                     settings=loan_service.LoanSettings())
        pa = db.session.get(PreApproval, a.preapproval_id)
        assert loan.id and pa.status == "used"
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "preapproval_used")) == 1


def test_an_undone_disbursement_gives_the_preapproval_back(app, demo):
    from app.models import UserRole

    with app.app_context():
        a = _light_app()
        app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=clock.now())
        form = loan_service.DisbursementForm(amount=f"{a.amount}", disbursed_on=clock.business_today().isoformat(),
                                             channel="cash", reference="")
        loan = loan_service.disburse(a, form, _user("cashier1"), today=clock.business_today(), now=clock.now(),
                                     settings=loan_service.LoanSettings())
        assert db.session.get(PreApproval, a.preapproval_id).status == "used"
        second = User(username="cashier2", full_name="第二出纳", password_hash="x", office_id=_user("cashier1").office_id)
        second.role_rows = [UserRole(role="cashier")]
        db.session.add(second)
        db.session.commit()
        loan_service.undo_disbursement(loan, second, "金额录错", now=clock.now())
        assert db.session.get(PreApproval, a.preapproval_id).status == "approved"
        assert db.session.get(Application, a.id).state == State.AWAITING_DISBURSEMENT.value


def test_disbursement_refuses_a_light_path_application_whose_preapproval_expired(app, demo):
    with app.app_context():
        a = _light_app()
        app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=clock.now())
        pa = db.session.get(PreApproval, a.preapproval_id)
        pa.valid_until = clock.business_today() - timedelta(days=1)
        db.session.commit()
        form = loan_service.DisbursementForm(amount=f"{a.amount}", disbursed_on=clock.business_today().isoformat(),
                                             channel="cash", reference="")
        with pytest.raises(loan_service.LoanError) as e:
            loan_service.disburse(a, form, _user("cashier1"), today=clock.business_today(), now=clock.now(),
                                  settings=loan_service.LoanSettings())
        assert "amount" in e.value.errors
        assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.application_id == a.id)) == 0
        assert db.session.get(PreApproval, a.preapproval_id).status == "approved"


def test_an_expired_preapproval_sends_the_application_the_normal_way_at_the_director(app, demo):
    with app.app_context():
        a = _light_app()
        db.session.get(PreApproval, a.preapproval_id).valid_until = clock.business_today() - timedelta(days=1)
        db.session.commit()
        app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=clock.now())
        db.session.refresh(a)
        assert a.state == State.AWAITING_ENTRY.value and not a.light_path


def _preapproved_borrower() -> tuple[Borrower, PreApproval]:
    pa = db.session.scalar(select(PreApproval).where(PreApproval.status == "approved").order_by(PreApproval.approved_limit))
    return pa.borrower, pa


def test_a_manifest_of_a_preapproved_borrower_needs_only_the_light_path_photos(app, client, demo):
    headers = enrol(app, "officer1")
    with app.app_context():
        b, pa = _preapproved_borrower()
        number, name, limit = b.id_number, b.name, pa.approved_limit
        codes = {i.id: i.code for i in db.session.scalar(select(Product).where(Product.code == "XYD")).items}
    body, blobs = manifest(app, [jpeg_bytes(seed=7)], borrower={"uuid": str(uuid.uuid4()), "name": name, "id_number": number},
                           amount=f"{limit:.2f}")
    keep = [(p, blob) for p, blob in zip(body["photos"], blobs) if codes[p["item_id"]] in ("iou", "id_front", "id_back")]
    assert len(keep) < len(body["photos"])
    body["photos"] = [p for p, _ in keep]
    response = client.post("/api/v1/applications", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert a.light_path and a.preapproval_id == pa.id


def test_above_the_preapproved_limit_the_application_takes_the_normal_path(app, client, demo):
    headers = enrol(app, "officer1")
    with app.app_context():
        b, pa = _preapproved_borrower()
        number, name, limit = b.id_number, b.name, pa.approved_limit
    body, blobs = manifest(app, [jpeg_bytes(seed=8)], borrower={"uuid": str(uuid.uuid4()), "name": name, "id_number": number},
                           amount=f"{limit + 1000:.2f}")
    response = client.post("/api/v1/applications", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    from tests.sync_helpers import upload

    for p, blob in zip(body["photos"], blobs):
        assert upload(client, headers, p["uuid"], blob).status_code == 204
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == body["uuid"]))
        assert not a.light_path and a.preapproval_id == pa.id and a.state == State.AWAITING_DIRECTOR.value, answer
        found = light_path.light_path_of(a, clock.business_today())
        assert found is not None and not found[1].light and "above the pre-approved limit" in found[1].reason
        app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=clock.now())
        db.session.refresh(a)
        assert a.state == State.AWAITING_ENTRY.value
    # Missing the full photo set, the same over-limit manifest would have been refused (normal path's photos).
    assert sha256(blobs[0])
