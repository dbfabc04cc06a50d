"""A joint-liability group reviewed as a whole: the director approves the three members on his
phone (360 px), a first-level reviewer passes them at his desk."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services.demo import demo_entry
from app.services.groups import DEMO_GROUP
from tests.e2e.conftest import FITS, login, screenshot

pytestmark = pytest.mark.e2e


def _states(app) -> list[str]:
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        return list(db.session.scalars(select(Application.state).where(Application.group_id == group.id)
                                       .order_by(Application.id)))


def _enter_all(app) -> None:
    with app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk1"))
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        at = clock.now() + timedelta(minutes=1)
        for a in db.session.scalars(select(Application).where(Application.group_id == group.id)).all():
            a.entry_data = {"values": demo_entry(a), "saved_by": clerk.id, "saved_at": at.isoformat(), "complete": True}
            db.session.commit()
            app_service.act(a.id, Event.ENTRY_COMPLETE, clerk, now=at)


def test_director_approves_a_group_on_his_phone_and_a_reviewer_passes_it_at_his_desk(app, live_server, phone, desktop):
    director = phone.new_page()
    login(director, live_server, "director1")
    # A member's application from his queue: no lone approval, the group box leads to the group.
    director.click("#queue-director a:has-text('陈大山')")
    director.wait_for_selector("#group-box")
    assert director.locator("button[value=director_approve]").count() == 0
    director.click("#group-box a")
    director.wait_for_selector("#group-members")
    assert director.evaluate(FITS)
    assert director.locator(".group-member").count() == 3
    assert "60,000.00" in director.inner_text("#group-exposure")
    screenshot(director, "group-director-360.png")
    director.click("#group-decision button[value=director_approve]")
    director.wait_for_selector(".flash-success")
    assert director.evaluate(FITS)
    assert _states(app) == ["awaiting_entry"] * 3

    _enter_all(app)

    reviewer = desktop.new_page()
    login(reviewer, live_server, "reviewer1")
    reviewer.goto(director.url)  # the same group page
    reviewer.wait_for_selector("#group-decision button[value=l1_pass]")
    reviewer.fill("#group-decision textarea[name=comment]", "联保协议齐全")
    reviewer.click("#group-decision button[value=l1_pass]")
    reviewer.wait_for_selector(".flash-success")
    screenshot(reviewer, "group-reviewer-desktop.png")
    states = _states(app)
    assert "awaiting_l1" not in states and all(s.startswith("awaiting_") for s in states)


def test_director_dissolves_a_group_on_his_phone_after_confirming_with_a_reason(app, live_server, phone):
    director = phone.new_page()
    login(director, live_server, "director1")
    director.click("#queue-director a:has-text('陈大山')")
    director.click("#group-box a")
    director.wait_for_selector("#group-dissolve-open")
    director.click("#group-dissolve-open")  # the confirm step comes in place (htmx), nothing done yet
    director.wait_for_selector("#group-dissolve textarea[name=reason]")
    assert director.evaluate(FITS)
    assert _states(app) == ["awaiting_director"] * 3
    screenshot(director, "group-dissolve-confirm-360.png")
    director.click("#group-dissolve-confirm")  # no reason: the browser holds the form back
    assert director.locator(".flash-success").count() == 0
    director.fill("#group-dissolve textarea[name=reason]", "黄志强外出务工，小组不足三户")
    director.click("#group-dissolve-confirm")
    director.wait_for_selector("#group-dissolved")
    assert "已解散" in director.inner_text("#group-state")
    assert director.locator(".flash-success").count() == 1 and director.locator("#group-dissolve").count() == 0
    assert director.evaluate(FITS)
    with app.app_context():
        assert db.session.scalar(select(LiabilityGroup.state).where(LiabilityGroup.name == DEMO_GROUP)) == "dissolved"
    # Each member is now decided on his own page.
    director.click("#group-members a:has-text('陈大山')")
    director.wait_for_selector("button[value=director_approve]")
    assert _states(app) == ["awaiting_director"] * 3
