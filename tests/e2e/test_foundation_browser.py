"""A newcomer's first minutes, in a real browser: log in as each role on a phone, see the queue, act."""
from __future__ import annotations

import pytest

from app.services.demo import DEMO_USERS
from tests.e2e.conftest import ensure_controlled, login, wait_for_state

pytestmark = pytest.mark.e2e

# role → a borrower whose application waits in that role's queue in the demo data
QUEUES = {
    "officer3": "孙八",  # returned to him for more material
    "director1": "张三",
    "clerk1": "王五",
    "reviewer1": "李四",
    "reviewer2": "吴十",
    "special1": "赵六",
    "cashier1": "钱七",
}


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("username,borrower", sorted(QUEUES.items()))
def test_each_role_sees_its_queue_on_a_phone(live_server, phone, username, borrower):
    page = phone.new_page()
    login(page, live_server, username)
    assert page.locator("h1").inner_text() == "我的待办"
    queue = page.locator("section.queue").first
    assert borrower in queue.inner_text()
    assert _no_horizontal_scroll(page)
    # The detail page fits the phone too.
    queue.locator("a", has_text=borrower).first.click()
    page.wait_for_selector("#timeline")
    assert borrower in page.locator("h1").inner_text()
    assert _no_horizontal_scroll(page)


def test_director_approves_on_a_phone(live_server, phone):
    page = phone.new_page()
    login(page, live_server, "director1")
    page.click("section.queue a:has-text('张三')")
    page.fill("textarea[name=comment]", "家访属实，同意上报")
    page.click("button[value=director_approve]")
    page.wait_for_selector(".flash-success")
    assert "已完成：同意" in page.locator(".flash-success").inner_text()
    assert "待录入" in page.locator(".state").first.inner_text()
    assert "家访属实，同意上报" in page.locator("#timeline").inner_text()
    page.click("text=我的待办")
    page.wait_for_selector("h1:has-text('我的待办')")
    assert "张三" not in page.locator("section.queue").first.inner_text()


def test_wrong_password_then_english_on_desktop(live_server, desktop):
    page = desktop.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit].primary")
    assert "用户名或密码错误" in page.locator(".flash-error").inner_text()
    page.click("button[value=en]")
    page.wait_for_selector("text=Username")
    login(page, live_server, "admin")
    assert page.locator("h1").inner_text() == "My queue"
    page.click("text=Staff accounts")
    page.wait_for_selector("h1:has-text('Staff accounts')")  # hx-boost swaps the body, no page load
    # One row per demo user, each by its username (first column).
    usernames = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert sorted(u.strip() for u in usernames) == sorted(u[0] for u in DEMO_USERS)


def test_htmx_search_swaps_only_the_rows(live_server, desktop):
    page = desktop.new_page()
    login(page, live_server, "reviewer1")
    page.goto(f"{live_server}/applications/")
    page.evaluate("document.querySelector('h1').dataset.marker = 'kept'")
    with page.expect_response(lambda r: "/applications/?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.fill("input[name=q]", "赵六")
    wait_for_state(page, "document.querySelectorAll('#application-rows li').length === 1")
    assert "赵六" in page.locator("#application-rows").inner_text()
    # The page was not reloaded: only the rows were swapped.
    assert page.evaluate("document.querySelector('h1').dataset.marker") == "kept"
    assert page.url.endswith("q=%E8%B5%B5%E5%85%AD&state=")  # pushed to history, so Back works


def test_service_worker_serves_the_offline_page(live_server, phone):
    page = phone.new_page()
    login(page, live_server, "officer1")
    ensure_controlled(page)
    phone.set_offline(True)
    page.goto(f"{live_server}/applications/")
    assert "没有网络" in page.content()
    phone.set_offline(False)
