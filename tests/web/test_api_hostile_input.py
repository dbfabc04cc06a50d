"""Hostile JSON at every /api/v1 endpoint that reads a body: refused with 400/413/422 and the
field, never a 500, and nothing written. Python's json module reads NaN, Infinity and 1e999
(as inf) and recurses on nesting; the API reads its bodies strictly and checks them against a
schema (app/api/schemas.py) before any service sees them."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, Borrower, FollowUpTask, Loan, Photo, TrackPoint
from app.services import jobs
from tests.sync_helpers import enrol, jpeg_bytes, manifest

ENDPOINTS = ["manifest", "resubmit", "report", "track"]


def _counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Application, Photo, Borrower, TrackPoint))


def _open_task(app) -> str:
    """An open task of officer1 (the demo's overdue 冯十二 loan, after the daily job)."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan.borrower.home_lat, loan.borrower.home_lon = 30.68, 104.10
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        return db.session.scalar(select(FollowUpTask.uuid).where(FollowUpTask.loan_id == loan.id,
                                                                 FollowUpTask.status == "open"))


def _now_iso(minutes: int = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def _valid(app, endpoint: str) -> tuple[str, dict]:
    """(url, a body that passes the schema) for each endpoint."""
    if endpoint == "manifest":
        body, _ = manifest(app, [jpeg_bytes()])
        return "/api/v1/applications", body
    if endpoint == "resubmit":
        body, _ = manifest(app, [jpeg_bytes()])
        return f"/api/v1/applications/{uuid.uuid4()}/resubmit", {"note": "补拍", "photos": body["photos"]}
    if endpoint == "report":
        return f"/api/v1/tasks/{_open_task(app)}/report", {
            "report_uuid": str(uuid.uuid4()), "completed_at": _now_iso(),
            "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                        "loan_use_verified": True, "notes": ""},
            "gps": {"lat": 30.6801, "lon": 104.1001, "accuracy_m": 20, "at": _now_iso(), "is_mock": False},
            "photos": []}
    return "/api/v1/track", {"points": [{"uuid": str(uuid.uuid4()), "at": _now_iso(-5), "lat": 30.66,
                                         "lon": 104.09, "accuracy_m": 10, "is_mock": False}]}


def _gps(endpoint: str, body: dict) -> dict:
    """The GPS fix of the body (the manifest's home, the visit, the first trail point)."""
    return body["points"][0] if endpoint == "track" else body.get("gps") or {}


def _post_text(client, url: str, text: str | bytes, headers: dict):
    return client.post(url, data=text, headers={**headers, "Content-Type": "application/json"})


def _assert_refused(r, statuses=(400, 413, 422)):
    assert r.status_code in statuses, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["error"] and body["message"], body
    # In the user's language (Chinese by default), with the field it concerns.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    assert body.get("fields"), body
    return body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_non_finite_numbers_are_refused_not_a_crash(app, client, demo, endpoint):
    headers = enrol(app, "officer1")
    url, body = _valid(app, endpoint)
    if endpoint == "resubmit":  # no GPS there: the photo's size instead
        body["photos"][0]["size"] = "__HOSTILE__"
    else:
        _gps(endpoint, body)["accuracy_m"] = "__HOSTILE__"
    before = _counts(app)
    for literal in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 400):
        text = json.dumps(body).replace('"__HOSTILE__"', literal)
        data = _assert_refused(_post_text(client, url, text, headers), (400,))
        assert data["error"] == "invalid_json", literal
    assert _counts(app) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_deep_or_huge_bodies_are_refused(app, client, demo, endpoint):
    headers = enrol(app, "officer1")
    url, body = _valid(app, endpoint)
    before = _counts(app)
    for depth in (11, 1000, 100_000):
        for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            _assert_refused(_post_text(client, url, text, headers), (400,))
    for text in ("", "not json", "{", '{"a": 1, "a": 2}', b"\xff\xfe{}"):
        assert _assert_refused(_post_text(client, url, text, headers), (400,))["error"] == "invalid_json"
    for text in ("[]", "null", '"text"', "12"):
        _assert_refused(_post_text(client, url, text, headers), (422,))
    limit = 1024 * 1024 if endpoint != "report" else 32 * 1024 * 1024
    r = _post_text(client, url, json.dumps(dict(body, padding="x" * (limit + 1))), headers)
    assert r.status_code == 413
    assert _counts(app) == before


# A wrong type or shape in each body: (endpoint, change, field reported).
SHAPES = [
    ("manifest", lambda b: b.update(amount=12000.5), "amount"),  # money never as a float
    ("manifest", lambda b: b.update(term_months="12"), "term_months"),
    ("manifest", lambda b: b.update(term_months=True), "term_months"),
    ("manifest", lambda b: b["gps"].update(accuracy_m="12"), "gps"),
    ("manifest", lambda b: b["gps"].update(lat=91), "gps"),
    ("manifest", lambda b: b["borrower"].update(name=["陈", "小春"]), "borrower.name"),
    ("manifest", lambda b: b.update(is_admin=True), "is_admin"),
    ("manifest", lambda b: b["photos"][0].update(size=2**40), "photos.0"),
    ("manifest", lambda b: b.update(photos={"0": {}}), "photos"),
    ("manifest", lambda b: b.update(purpose="x" * 201), "purpose"),
    ("resubmit", lambda b: b.update(note=5), "note"),
    ("resubmit", lambda b: b["photos"][0].update(sha256="0" * 63), "photos.0"),
    ("report", lambda b: b["gps"].update(lon=None), "gps"),
    ("report", lambda b: b["outcome"].update(met_borrower="yes"), "outcome.met_borrower"),
    ("report", lambda b: b["outcome"].update(paid_amount=100), "outcome.paid_amount"),
    ("report", lambda b: b.update(photos=[{}] * 4), "photos"),
    ("report", lambda b: b.update(report_uuid="x"), "report_uuid"),
    ("track", lambda b: b.update(points=[{}] * 501), "points"),
    ("track", lambda b: b.update(points="x"), "points"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_wrong_shape_is_refused_with_the_field(app, client, demo, endpoint):
    headers = enrol(app, "officer1")
    url, valid = _valid(app, endpoint)
    before = _counts(app)
    for name, change, field in SHAPES:
        if name != endpoint:
            continue
        body = json.loads(json.dumps(valid))
        change(body)
        data = _assert_refused(client.post(url, json=body, headers=headers), (422,))
        assert field in data["fields"], (field, data["fields"])
    assert _counts(app) == before


def test_valid_bodies_still_pass(app, client, demo):
    headers = enrol(app, "officer1")
    url, body = _valid(app, "manifest")
    assert client.post(url, json=body, headers=headers).status_code == 201
    url, body = _valid(app, "report")
    r = client.post(url, json=body, headers=headers)
    assert r.status_code == 200 and r.get_json()["on_site"] is True
    url, body = _valid(app, "track")
    assert client.post(url, json=body, headers=headers).get_json()["confirmed"] == [body["points"][0]["uuid"]]


def test_a_bad_trail_point_is_listed_and_the_good_ones_kept(app, client, demo):
    headers = enrol(app, "officer1")
    url, body = _valid(app, "track")
    good = body["points"][0]
    body["points"] += [dict(good, uuid=str(uuid.uuid4()), accuracy_m="10"),
                       dict(good, uuid=str(uuid.uuid4()), at=_now_iso(60)),            # ahead of the clock
                       dict(good, uuid=str(uuid.uuid4()), at="1900-01-01T00:00:00Z")]   # long before
    data = client.post(url, json=body, headers=headers).get_json()
    assert data["confirmed"] == [good["uuid"]]
    assert [(r["index"], r["field"]) for r in data["rejected"]] == [(1, "accuracy_m"), (2, "at"), (3, "at")]
    assert "时钟" in data["rejected"][1]["reason"]


def test_visit_report_times_out_of_the_window_are_refused(app, client, demo):
    headers = enrol(app, "officer1")
    url, body = _valid(app, "report")
    body["completed_at"] = "1900-01-01T00:00:00+08:00"
    body["gps"]["at"] = _now_iso(60 * 24)
    body["outcome"]["promise_date"] = "2999-01-01"
    r = client.post(url, json=body, headers=headers)
    fields = _assert_refused(r, (422,))["fields"]
    assert set(fields) >= {"completed_at", "gps", "promise_date"}, fields


# Any JSON at all, at every endpoint: an answer the phone can show, never a crash.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_any_json_gets_an_answer_never_a_500(app, client, demo, endpoint):
    headers = enrol(app, "officer1")
    url, valid = _valid(app, endpoint)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(patch=st.dictionaries(st.sampled_from(sorted(valid) + ["x"]), json_values, max_size=3))
    def check(patch):
        body = {**valid, **patch}
        r = _post_text(client, url, json.dumps(body, allow_nan=True), headers)
        assert r.status_code < 500, r.get_data(as_text=True)[:300]
        if r.status_code >= 400:
            assert r.get_json()["message"]

    check()
