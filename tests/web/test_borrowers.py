"""Registering a borrower: the ID number decoded and checked, bad input explained, nothing half-written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.idcard import check_digit
from app.extensions import db
from app.models import AuditLog, Borrower


def _valid_id(first17="51340119800101123"):
    return first17 + check_digit(first17)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_officer_registers_a_borrower(app, client, auth, demo):
    auth.login("officer1")
    number = _valid_id("51340119800101123")
    r = auth.post("/borrowers/new", data={"name": "刘一", "id_number": number.lower(), "phone": "139 0812 3456", "village": "红星村"})
    assert r.status_code == 303
    with app.app_context():
        b = db.session.scalar(select(Borrower).where(Borrower.name == "刘一"))
        assert b.id_number == number.upper()
        assert b.sex == ("M" if int(number[16]) % 2 else "F")
        assert b.birth_date.isoformat() == "1980-01-01"
        assert b.phone == "13908123456"
        assert b.officer_id == demo["officer1"]
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "borrower_registered"))
        assert audit.object_id == b.id and "*" in audit.detail["id_number"]  # no full ID number in the log
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "刘一" in html and number not in html  # shown masked


@pytest.mark.parametrize(
    "id_number,message",
    [
        ("", "18"),
        ("5134011980010112", "18"),
        ("51340119800101123A", "字符"),
        ("99340119800101123" + "0", "省份"),
        ("51340119801301123" + check_digit("51340119801301123"), "出生日期"),
        ("51340120990101123" + check_digit("51340120990101123"), "出生日期"),
        ("51340119800101123" + ("0" if check_digit("51340119800101123") != "0" else "1"), "校验码"),
    ],
)
def test_malformed_id_number_is_explained_and_nothing_is_written(app, client, auth, demo, id_number, message):
    auth.login("officer1")
    before = (_count(app, Borrower), _count(app, AuditLog))
    r = auth.post("/borrowers/new", data={"name": "刘一", "id_number": id_number})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in html, html
    assert 'aria-invalid="true"' in html
    assert 'value="刘一"' in html  # what was typed is kept for correction
    assert _count(app, Borrower) == before[0]


def test_duplicate_id_number_and_bad_phone(app, client, auth, demo):
    auth.login("officer3")
    with app.app_context():
        existing = db.session.scalar(select(Borrower.id_number).limit(1))
    before = _count(app, Borrower)
    r = auth.post("/borrowers/new", data={"name": "某人", "id_number": existing, "phone": "12345"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "已登记" in html and "11" in html
    assert _count(app, Borrower) == before


def test_hq_roles_cannot_register_borrowers(client, auth, demo):
    auth.login("reviewer1")
    assert auth.post("/borrowers/new", data={"name": "x", "id_number": _valid_id()}).status_code == 403
