"""Every path through the approval chain over HTTP, as the staff click it: pass at every level
with and without second-level and special review, return at each level, reject at each level."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain.money import to_capitals
from app.extensions import db
from app.models import Application, Borrower, Notification, Product, User, UserRole
from app.services.demo import demo_entry
from tests.conftest import Auth


class Desk:
    """One browser per member of staff, each logged in once."""

    def __init__(self, app):
        self.app = app
        self.clients: dict[str, Auth] = {}

    def __call__(self, username: str) -> Auth:
        if username not in self.clients:
            auth = Auth(self.app.test_client())
            assert auth.login(username).status_code == 302
            self.clients[username] = auth
        return self.clients[username]

    def state(self, app_id: int) -> Application:
        with self.app.app_context():
            a = db.session.get(Application, app_id)
            db.session.expunge(a)
            return a

    def act(self, username: str, app_id: int, event: str, comment: str = "同意", expect: str | None = None):
        a = self.state(app_id)
        r = self(username).post(f"/applications/{app_id}/act", {"event": event, "version": a.version, "comment": comment})
        assert r.status_code == 303
        after = self.state(app_id)
        if expect is not None:
            assert after.state == expect, (event, after.state)
        return after

    def enter(self, app_id: int, amount: str = "8000"):
        with self.app.app_context():
            values = demo_entry(db.session.get(Application, app_id))
        values.update(amount=amount, amount_in_capitals=to_capitals(Decimal(amount)))
        a = self.state(app_id)
        r = self("clerk1").post(f"/applications/{app_id}/entry", {**values, "version": a.version, "action": "complete"})
        assert r.status_code == 303, r.get_data(as_text=True)[:300]
        assert self.state(app_id).state == "awaiting_l1"


@pytest.fixture()
def desk(app, demo):
    return Desk(app)


@pytest.fixture()
def zhang(app, demo) -> int:
    """张三: 8,000 yuan of the credit product, aged 48, waiting for his director (城关)."""
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "张三"))


def _special_for_everyone_over_40(app) -> None:
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        product.routing_rules = {**product.routing_rules, "special_age_max": 40}
        db.session.commit()


@pytest.mark.parametrize("amount,special,levels", [
    ("8000", False, []),
    ("30000", False, ["l2"]),
    ("8000", True, ["special"]),
    ("30000", True, ["l2", "special"]),
])
def test_a_pass_at_every_level_reaches_disbursement(app, desk, zhang, amount, special, levels):
    if special:
        _special_for_everyone_over_40(app)
    desk.act("director1", zhang, "director_approve", expect="awaiting_entry")
    desk.enter(zhang, amount)
    after = desk.act("reviewer1", zhang, "l1_pass")
    expected_next = {"l2": "awaiting_l2", "special": "awaiting_special"}
    assert after.state == (expected_next[levels[0]] if levels else "awaiting_disbursement")
    assert {r["level"] for r in after.routing_reasons} == set(levels)
    if "l2" in levels:
        after = desk.act("reviewer2", zhang, "l2_pass", expect="awaiting_special" if special else "awaiting_disbursement")
    if special:
        after = desk.act("special1", zhang, "special_pass", expect="awaiting_disbursement")
    assert [t.event for t in _timeline(app, zhang)][-1] == ("special_pass" if special else "l2_pass" if levels else "l1_pass")
    # The reasons stay on the page for the later reviewers.
    html = desk("reviewer1").client.get(f"/applications/{zhang}").get_data(as_text=True)
    assert ("超过二级审查起点" in html) == ("l2" in levels)
    assert ("借款人48岁" in html) == special


def _timeline(app, app_id):
    with app.app_context():
        return db.session.get(Application, app_id).transitions


def _to_level(app, desk, zhang, level: str) -> None:
    _special_for_everyone_over_40(app)
    desk.act("director1", zhang, "director_approve")
    desk.enter(zhang, "30000")
    if level == "l1":
        return
    desk.act("reviewer1", zhang, "l1_pass", expect="awaiting_l2")
    if level == "l2":
        return
    desk.act("reviewer2", zhang, "l2_pass", expect="awaiting_special")


RETURNS = [
    ("director", "director1", "director_return", "returned"),
    ("entry", "clerk1", "entry_return", "returned"),
    ("l1", "reviewer1", "l1_return_to_entry", "awaiting_entry"),
    ("l1", "reviewer1", "l1_return_to_officer", "returned"),
    ("l2", "reviewer2", "l2_return_to_entry", "awaiting_entry"),
    ("l2", "reviewer2", "l2_return_to_officer", "returned"),
    ("special", "special1", "special_return_to_entry", "awaiting_entry"),
    ("special", "special1", "special_return_to_officer", "returned"),
]


@pytest.mark.parametrize("level,who,event,target", RETURNS)
def test_a_return_at_each_level_needs_a_reason_and_tells_the_officer(app, desk, zhang, level, who, event, target):
    if level == "entry":
        desk.act("director1", zhang, "director_approve", expect="awaiting_entry")
    elif level != "director":
        _to_level(app, desk, zhang, level)
    # Without a comment it is refused and nothing moves.
    before = desk.state(zhang).state
    desk.act(who, zhang, event, comment="", expect=before)
    desk.act(who, zhang, event, comment="收入证明缺失，请补充", expect=target)
    last = _timeline(app, zhang)[-1]
    assert (last.event, last.comment) == (event, "收入证明缺失，请补充")
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == officer.id)).all()
    assert event in kinds


REJECTS = [
    ("director", "director1", "director_reject"),
    ("l1", "reviewer1", "l1_reject"),
    ("l2", "reviewer2", "l2_reject"),
    ("special", "special1", "special_reject"),
]


@pytest.mark.parametrize("level,who,event", REJECTS)
def test_a_reject_at_each_level_ends_the_application(app, desk, zhang, level, who, event):
    if level != "director":
        _to_level(app, desk, zhang, level)
    desk.act(who, zhang, event, comment="", expect=desk.state(zhang).state)  # a reason is required
    desk.act(who, zhang, event, comment="多头借贷，负债过高", expect="rejected")
    # Nothing further can be done to it, by anyone.
    html = desk(who).client.get(f"/applications/{zhang}").get_data(as_text=True)
    assert 'id="decision"' not in html


def test_nobody_reviews_what_they_already_reviewed_at_another_level(app, desk, zhang):
    with app.app_context():
        reviewer = db.session.scalar(select(User).where(User.username == "reviewer1"))
        db.session.add(UserRole(user_id=reviewer.id, role="reviewer2"))
        db.session.commit()
    _to_level(app, desk, zhang, "l1")
    desk.act("reviewer1", zhang, "l1_pass", expect="awaiting_l2")
    # Holding both roles, reviewer1 is still refused the second level of his own first-level pass.
    r = desk("reviewer1").post(f"/applications/{zhang}/act", {"event": "l2_pass", "version": desk.state(zhang).version, "comment": "同意"})
    assert r.status_code == 303
    assert desk.state(zhang).state == "awaiting_l2"
    assert "二级" in desk("reviewer1").client.get(r.headers["Location"]).get_data(as_text=True)
    desk.act("reviewer2", zhang, "l2_pass", expect="awaiting_special")


def test_the_officer_who_captured_it_cannot_approve_it_as_director(app, desk, zhang):
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        db.session.add(UserRole(user_id=officer.id, role="director"))
        db.session.commit()
    desk.act("officer1", zhang, "director_approve", expect="awaiting_director")
