"""PIPL on the rural credit model (issue 18): a trace of who saw a credit-bureau report's figures
and a group's members' application data, as of every other such view; and a household head's
phone from a village campaign checked as a mobile number before anything is written."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import Application, Borrower, User
from app.models.audit import IdentityView
from app.models.credit import BureauQuery, HouseholdSurvey, LiabilityGroup, VillageCampaign
from app.services.groups import DEMO_GROUP
from app.services.village_demo import _demo_answers
from tests.conftest import Auth
from tests.support.bureau_report import report_text, text_pdf
from tests.sync_helpers import enrol, valid_id_number


def _views(app, **where) -> list[IdentityView]:
    with app.app_context():
        q = select(IdentityView)
        for key, value in where.items():
            q = q.where(getattr(IdentityView, key) == value)
        rows = list(db.session.scalars(q.order_by(IdentityView.id)))
        db.session.expunge_all()
        return rows


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_the_bureau_reports_figures_shown_on_the_application_are_traced(app, client, auth, demo):
    with app.app_context():
        app_id = db.session.scalar(select(Application.id).join(Borrower, Application.borrower_id == Borrower.id)
                                   .where(Borrower.name == "李四"))
    auth.login("reviewer1")
    pdf = text_pdf(report_text(open_loans=2, overdue_count=1, overdue_months=3, worst="关注", balance=Decimal("35000")))
    r = Auth(client).post(f"/applications/{app_id}/bureau", {"purpose": "loan_approval", "result_ref": "",
                                                              "report": (io.BytesIO(pdf), "report.pdf")},
                          content_type="multipart/form-data")
    assert r.status_code == 303
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        query_id, borrower_id = q.id, q.borrower_id
        db.session.execute(delete(IdentityView))
        db.session.commit()
    auth.post("/logout")
    auth.login("reviewer2")  # reads reports, did not make the query
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert "关注" in box and "35,000.00" in box  # the report's content, on screen
    views = _views(app, object_type="bureau_report")
    assert [(v.viewer_id, v.borrower_id, v.what, v.object_id) for v in views] == [
        (_user_id(app, "reviewer2"), borrower_id, "bureau_report", query_id)]


def test_the_auditor_sees_the_bureau_figures_traced_but_never_opens_the_report(app, client, auth, demo):
    """The report file carries the person's full ID number and every debt: it goes to the credit
    reviewers deciding on it. The internal auditor, who sees no photo and no full ID number anywhere,
    sees the query and the figures read from it (traced), not the file."""
    with app.app_context():
        app_id = db.session.scalar(select(Application.id).join(Borrower, Application.borrower_id == Borrower.id)
                                   .where(Borrower.name == "李四"))
    auth.login("reviewer1")
    pdf = text_pdf(report_text(worst="次级", balance=Decimal("12000")))
    assert Auth(client).post(f"/applications/{app_id}/bureau", {"purpose": "loan_approval", "result_ref": "",
                                                                 "report": (io.BytesIO(pdf), "report.pdf")},
                             content_type="multipart/form-data").status_code == 303
    with app.app_context():
        query_id = db.session.scalar(select(BureauQuery.id))
        db.session.execute(delete(IdentityView))
        db.session.commit()
    report = f"/applications/{app_id}/bureau/{query_id}/report"
    auth.post("/logout")
    auth.login("auditor1")
    box = client.get(f"/applications/{app_id}/bureau").get_data(as_text=True)
    assert "次级" in box and "12,000.00" in box and report not in box
    r = client.get(report)
    assert r.status_code in (403, 404) and pdf not in r.data
    auditor = _user_id(app, "auditor1")
    assert [(v.what, v.object_id) for v in _views(app, viewer_id=auditor)] == [("bureau_report", query_id)]


def test_the_group_page_traces_each_members_application_as_shown(app, client, auth, demo):
    with app.app_context():
        g = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        members = {a.id: a.borrower_id for a in db.session.scalars(select(Application).where(Application.group_id == g.id))}
        group_uuid = g.uuid
        db.session.execute(delete(IdentityView))
        db.session.commit()
    assert len(members) >= 3
    auth.login("director1")
    html = client.get(f"/groups/{group_uuid}").get_data(as_text=True)
    assert "陈大山" in html
    director = _user_id(app, "director1")
    views = _views(app, viewer_id=director)
    assert {(v.object_type, v.object_id, v.borrower_id, v.what) for v in views} == {
        ("application", app_id, borrower_id, "application") for app_id, borrower_id in members.items()}
    # Outside his reach: 404, nothing shown, nothing traced.
    auth.post("/logout")
    auth.login("director2")
    assert client.get(f"/groups/{group_uuid}").status_code == 404
    assert _views(app, viewer_id=_user_id(app, "director2")) == []


def _household(phone: str | None, serial: int) -> dict:
    return {"uuid": str(uuid.uuid4()), "surveyed_at": datetime.now(timezone.utc).isoformat(),
            "household_no": f"9组{serial}号", "rating": "good",
            "head": {"name": "试户主", "id_number": valid_id_number(serial, "19800101"), "phone": phone},
            "answers": _demo_answers(20000, 0, 1), "gps": None}


def _campaign_uuid(app) -> str:
    with app.app_context():
        return db.session.scalar(select(VillageCampaign.uuid))


def _surveyed(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(HouseholdSurvey.id))),
                db.session.scalar(select(func.count(Borrower.id))))


def test_a_household_heads_phone_is_checked_as_a_mobile_number(app, client, demo):
    headers = enrol(app, "officer1")
    url = f"/api/v1/campaigns/{_campaign_uuid(app)}/households"
    before = _surveyed(app)
    # Too long for the borrower's phone column (MariaDB refused it with a 500), and not a number.
    for serial, phone in ((701, "1" * 30), (702, "请打村委电话<b>")):
        r = client.post(url, json=_household(phone, serial), headers=headers)
        assert r.status_code == 422, r.get_data(as_text=True)
        body = r.get_json()
        assert body["error"] == "invalid_survey" and "手机号码应为11位" in body["fields"]["head.phone"], body
        assert _surveyed(app) == before
    # Written as a mobile number is kept: spaces and the +86 prefix dropped.
    r = client.post(url, json=_household("+86 139 0812 3456", 703), headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Borrower, r.get_json()["borrower_id"]).phone == "13908123456"
    # No phone at all is still fine.
    assert client.post(url, json=_household(None, 704), headers=headers).status_code == 200


def test_a_white_list_limit_past_28_digits_is_refused_in_chinese_not_a_500(app, client, auth, demo):
    from sqlalchemy import update

    from app.models.credit import PreApproval

    with app.app_context():
        pa = db.session.scalar(select(PreApproval).order_by(PreApproval.id))
        db.session.execute(update(PreApproval).where(PreApproval.id == pa.id)
                           .values(status="proposed", approved_limit=None, decided_by_id=None, decided_at=None))
        db.session.commit()
        pa_id, campaign_id = pa.id, pa.campaign_id
    auth.login("reviewer2")
    for limit in ("1e30", "1" * 40):
        r = auth.post(f"/villages/campaigns/{campaign_id}/decide",
                      {f"decision_{pa_id}": "approve", f"limit_{pa_id}": limit, "valid_until": ""},
                      follow_redirects=True)
        assert r.status_code == 200 and "请输入额度（元）" in r.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(PreApproval, pa_id).status == "proposed"


def test_the_village_maps_households_are_never_kept_in_the_browsers_cache(app, client, auth, demo):
    from app.models.credit import Village

    with app.app_context():
        village_id = db.session.scalar(select(Village.id))
    auth.login("director1")
    response = client.get(f"/villages/{village_id}/map.json")
    assert response.status_code == 200 and response.get_json()["h"]  # names and homes of households
    assert response.headers["Cache-Control"] == "no-store"


def test_a_retired_phone_is_told_of_no_returned_group(app, client, demo):
    """A retired phone only hands in what it holds: it captures no new member for a returned group,
    so it is not given the group's members, as it gets no customer list."""
    from app import clock
    from app.domain.workflow import Event
    from app.models.org import Device
    from app.services import devices, groups

    headers = enrol(app, "officer2")
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        director = db.session.scalar(select(User).where(User.username == "director1"))
        groups.decide(director, group.id, Event.DIRECTOR_RETURN, now=clock.now(), comment="请补充成员")
    assert [g["name"] for g in client.get("/api/v1/returned", headers=headers).get_json()["groups"]] == [DEMO_GROUP]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        devices.set_status(device, "retired", admin=admin, now=datetime.now(timezone.utc))
    r = client.get("/api/v1/returned", headers=headers)
    assert r.status_code == 200 and r.get_json()["groups"] == []
