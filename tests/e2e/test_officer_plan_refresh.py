"""The phone's work plan follows the server during the day (issue 12 item 6): a task created after
the phone loaded its plan appears without "Send now" — when the app comes back to the front, and
by the periodic run while the app stays open with signal; offline no request is made."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Borrower, FollowUpTask, Loan, Product
from app.services import jobs
from tests.e2e.officer import enrol_phone, wait_until

pytestmark = pytest.mark.e2e


def _new_tasks_on_the_server(app) -> list[str]:
    """The daily job opens tasks for the demo's overdue 冯十二 loan (officer1's): new since the phone loaded."""
    with app.app_context():
        loan_id = db.session.scalar(select(Loan.id).join(Borrower).where(Borrower.name == "冯十二"))
        before = set(db.session.scalars(select(FollowUpTask.uuid).where(FollowUpTask.loan_id == loan_id)))
        jobs.run_daily(jobs.business_today())
        after = set(db.session.scalars(select(FollowUpTask.uuid).where(
            FollowUpTask.loan_id == loan_id, FollowUpTask.status == "open")))
    new = sorted(after - before)
    assert new, "the daily job opened no task"
    return new


def _loaded_plan(page) -> list[str]:
    """Waits for the phone's first plan of the session; returns its task UUIDs."""
    wait_until(page, "Store.getMeta('plan').then(p => !!p)")
    page.wait_for_selector("#list-plan li")
    return [t["uuid"] for t in page.evaluate("Store.getMeta('plan')")["tasks"]]


def _plan_requests(context) -> list[str]:
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url) if "/api/v1/plan" in r.url else None)
    return seen


def test_a_task_created_later_appears_when_the_app_comes_back_to_the_front(app, live_server, officer_phone):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    shown = _loaded_plan(page)
    wait_until(page, "Store.getMeta('last_sync').then(t => !!t)")  # the session's first run is over
    new = _new_tasks_on_the_server(app)
    assert not set(new) & set(shown)
    with app.app_context():  # and head office renames a loan type meanwhile
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        product.name = "农户小额信用贷款（新）"
        db.session.commit()
    # The officer switches to another app and back; no "Send now".
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector(f"#list-plan .row[data-task='{new[0]}']")
    assert set(new) <= {t["uuid"] for t in page.evaluate("Store.getMeta('plan')")["tasks"]}
    # Like opening the app, it also renews the bootstrap (loan types, borrowers, settings).
    wait_until(page, "Store.getMeta('bootstrap').then(b => b.products.some(p => p.name === '农户小额信用贷款（新）'))")


def test_a_task_created_later_appears_by_itself_while_online_and_offline_nothing_is_asked(app, live_server, officer_phone):
    page = officer_phone.new_page()
    # The page's clock, so that minutes can pass in the test (it runs on from real time until moved).
    page.clock.install()
    enrol_phone(app, page, live_server)
    _loaded_plan(page)
    wait_until(page, "Store.getMeta('last_sync').then(t => !!t)")
    requests = _plan_requests(officer_phone)

    # No signal: minutes pass and the timer fires, but nothing is asked of the server.
    officer_phone.set_offline(True)
    page.clock.fast_forward("06:00")
    page.clock.fast_forward("06:00")
    assert requests == []
    last = page.evaluate("Store.getMeta('last_sync')")
    officer_phone.set_offline(False)  # regaining signal runs a sync at once
    wait_until(page, f"Store.getMeta('last_sync').then(t => t !== {last!r})")
    before = len(requests)

    # The app stays open with signal; the server opens new tasks meanwhile.
    new = _new_tasks_on_the_server(app)
    assert not set(new) & {t["uuid"] for t in page.evaluate("Store.getMeta('plan')")["tasks"]}
    page.clock.fast_forward("06:00")  # the minute timer's run finds the plan stale and renews it
    page.wait_for_selector(f"#list-plan .row[data-task='{new[0]}']")
    assert len(requests) == before + 1  # one run, one request: no pile of them
