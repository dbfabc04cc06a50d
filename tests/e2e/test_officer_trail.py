"""The phone samples its position into a local trail and hands it to the server once confirmed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import TrackPoint
from tests.e2e.officer import enrol_phone, sample_trail_at, wait_opening_position_sent, wait_until

pytestmark = pytest.mark.e2e


def test_positions_are_kept_offline_and_sent_once(app, live_server, officer_phone):
    app.config["TRAIL_HOURS"] = "00:00-24:00"
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    # Opening the app takes a first position; with signal it is sent straight away.
    wait_opening_position_sent(page)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(TrackPoint))
    officer_phone.set_offline(True)
    # Three samples taken with no signal (the interval check set aside by clearing the bookmark).
    sample_trail_at(officer_phone, page, (30.661, 30.662, 30.663))
    assert page.evaluate("Store.getMeta('trail').then(p => p.length)") == 3
    page.evaluate("Store.setMeta('trail_last', new Date().toISOString()).then(() => Sync.sampleTrail())")
    assert page.evaluate("Store.getMeta('trail').then(p => p.length)") == 3  # too soon: no new sample
    officer_phone.set_offline(False)
    page.click("#send-now")
    wait_until(page, "Store.getMeta('trail').then(p => p.length === 0)")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrackPoint)) == before + 3
        lats = db.session.scalars(select(TrackPoint.lat).order_by(TrackPoint.at.desc()).limit(3)).all()
    assert sorted(lats) == [30.661, 30.662, 30.663]
