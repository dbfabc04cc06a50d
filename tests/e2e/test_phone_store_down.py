"""The officer's phone in real Chromium while the photo store is down: the server answers 503
(store_unavailable), the phone keeps every photo queued for its next try, and sends them once the
store is back — the real SeaweedFS behind a real proxy that is cut (tests/support/store_proxy.py)."""
from __future__ import annotations

import pytest

from tests.e2e.officer import blob_count, capture, drafts, enrol_phone, phone_photos, server_application, wait_until
from tests.support.store_proxy import app_behind_proxy_fixture, needs_s3, proxy_fixture  # noqa: F401 (fixtures app, proxy)

pytestmark = [pytest.mark.e2e, needs_s3]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"))


def test_photos_stay_queued_while_the_store_is_down_and_go_when_it_is_back(app, live_server, officer_phone, photos,
                                                                           proxy):
    answers: list[tuple[int, str]] = []
    officer_phone.on("response", lambda r: answers.append((r.status, r.request.method))
                     if "/api/v1/uploads/" in r.url else None)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos)
    [draft] = drafts(page)

    proxy.down()
    officer_phone.set_offline(False)  # the queue runs: the manifest goes, the photos are refused
    wait_until(page, "Store.allDrafts().then(d => !!(d[0].server && d[0].next_attempt_at))")
    [waiting] = drafts(page)
    assert waiting["status"] == "uploading" and not waiting.get("error")  # waiting to try again, not failed
    assert blob_count(page) == 5  # every photo still on the phone
    assert (503, "PATCH") in answers or (503, "HEAD") in answers
    assert server_application(app, draft["uuid"])["state"] == "uploading"

    proxy.up()
    page.click("#send-now")
    page.wait_for_selector("#list-sent .row", timeout=60000)
    server = server_application(app, draft["uuid"])
    assert server["state"] == "awaiting_director"
    assert all(p["stored_sha256"] == p["sha256"] for p in server["photos"])
    assert blob_count(page) == 0
