"""Several app hosts behind a load balancer with no stickiness (issue 16, "Several app hosts").

Two real gunicorn hosts share one MariaDB and one S3 bucket (SeaweedFS), each with its own
INSTANCE_DIR; Debian's nginx balances them round-robin with the deployment's deploy/nginx-app.conf
(tests/support/hosts.py). A real Chromium phone sends applications through them: its chunks land
on both hosts, an upload cut on host A resumes on host B, a host killed mid-upload loses nothing and
duplicates nothing; a staff session and its CSRF token from one host are good on the other; both
hosts serve the same service worker. Runs in the MariaDB phase of ``make test`` (it needs MariaDB
and SeaweedFS); skipped, saying so, in the SQLite phase.
"""
from __future__ import annotations

import gzip
import http.cookiejar
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Photo
from tests.e2e.officer import capture, drafts, enrol_phone, phone_photos, server_application
from tests.support.hosts import Cluster, unavailable_reason

# xdist may split the module between its workers (`--dist loadgroup` does not keep a group together
# with pytest 9.2 and xdist 3.8: a file of four grouped tests ran on both workers): each worker then
# starts a cluster of its own on its own ports, below.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))]

# This module's loopback ports: two app hosts and the balancer (MULTIHOST_PORTS="a,b,balancer"),
# three further on for each further xdist worker, should the module be split between workers.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
PORTS = tuple(int(p) + 3 * _WORKER for p in os.environ.get("MULTIHOST_PORTS", "5263,5264,5265").split(","))
UPLOADS = "/api/v1/uploads/"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("multihost"), PORTS[:2], PORTS[2],
                      database_name=f"ddt_multihost_{_WORKER}")
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def capp(cluster):
    """The test's own view of the cluster's database and bucket (to enrol phones and count rows)."""
    app = cluster.app()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"))


@pytest.fixture(autouse=True)
def both_hosts_up(cluster):
    """Every test starts with both hosts serving (a test that kills one starts it again)."""
    for host in cluster.hosts:
        if host.proc is None:
            host.start()
    yield


def _photo_uuid(line: str) -> str | None:
    match = re.search(UPLOADS + r"([0-9a-f-]{36})", line)
    return match.group(1) if match else None


def _served(host, method: str) -> dict[str, int]:
    """Photo uuid -> how many ``method`` requests of its upload this host answered."""
    counts: dict[str, int] = {}
    for line in host.requests(f'"{method} {UPLOADS}'):
        uuid = _photo_uuid(line)
        if uuid:
            counts[uuid] = counts.get(uuid, 0) + 1
    return counts


def _offsets(host, method: str, uuid: str) -> list[int]:
    """The Upload-Offset this host answered to each ``method`` of the photo's upload."""
    found = []
    for line in host.requests(f'"{method} {UPLOADS}{uuid}'):
        match = re.search(r"offset=(\d+)", line)
        if match:
            found.append(int(match.group(1)))
    return found


def _assert_stored_once(capp, cluster, draft) -> None:
    """One application, one row per photo, each photo received once (one audit row), its stored
    bytes those the phone hashed, and one object in the bucket for each."""
    server = server_application(capp, draft["uuid"])
    assert server["state"] == "awaiting_director"
    by_uuid = {p["uuid"]: p for p in server["photos"]}
    assert sorted(by_uuid) == sorted(p["uuid"] for p in draft["photos"])
    for p in draft["photos"]:
        assert by_uuid[p["uuid"]]["sha256"] == p["sha256"] == by_uuid[p["uuid"]]["stored_sha256"]
    with capp.app_context():
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).where(Application.uuid == draft["uuid"])) == 1
        ids = db.session.scalars(select(Photo.id).join(Application).where(Application.uuid == draft["uuid"])).all()
        assert len(ids) == len(draft["photos"])
        received = db.session.scalars(select(AuditLog.object_id).where(
            AuditLog.action == "photo_received", AuditLog.object_type == "photo", AuditLog.object_id.in_(ids))).all()
        assert sorted(received) == sorted(ids), "every photo is recorded as received exactly once"
    keys = cluster.s3_keys()
    for p in draft["photos"]:
        assert sum(1 for k in keys if "/objects/" in k and k.endswith("/" + p["sha256"])) == 1, keys
        # Nothing of its upload is left staged in the bucket (chunks, proof note).
        assert not [k for k in keys if f"/uploads/{p['uuid']}" in k], keys


def _send(page, context) -> None:
    """Signal comes back: the queue runs until the application is sent."""
    context.set_offline(False)
    page.wait_for_selector("#list-sent .row", timeout=90000)


def test_a_phone_behind_the_balancer_sends_an_application_whose_chunks_reach_both_hosts(cluster, capp, officer_phone, photos):
    a, b = cluster.hosts
    base = cluster.balancer.url
    page = officer_phone.new_page()
    enrol_phone(capp, page, base, "officer1")
    officer_phone.set_offline(True)
    capture(page, photos, name="钱多多", serial=901)
    [draft] = drafts(page)
    _send(page, officer_phone)

    _assert_stored_once(capp, cluster, draft)
    mine = {p["uuid"] for p in draft["photos"]}
    on_a, on_b = _served(a, "PATCH"), _served(b, "PATCH")
    # Round robin, no stickiness: the application's chunks went to both hosts, and at least one
    # photo was put together from chunks that arrived at different hosts.
    assert mine & set(on_a) and mine & set(on_b), (on_a, on_b)
    assert mine & set(on_a) & set(on_b), "no photo had chunks on both hosts"


def test_an_upload_cut_on_host_a_resumes_on_host_b(cluster, capp, officer_phone, photos):
    """The phone talks to host A until a chunk's answer is lost (A stored it); from then on every
    request is carried to host B, which resumes the upload from the bytes A staged."""
    a, b = cluster.hosts
    page = officer_phone.new_page()
    enrol_phone(capp, page, a.url, "officer2")
    officer_phone.set_offline(True)
    capture(page, photos, name="孙有田", serial=902)
    [draft] = drafts(page)
    state = {"patches": 0, "cut": None, "offset": 0}

    def to_host_b(route):
        request = route.request
        if state["cut"] is None:
            if request.method == "PATCH" and UPLOADS in request.url:
                state["patches"] += 1
                if state["patches"] == 3:
                    answer = route.fetch()  # host A appends the chunk; the answer never reaches the phone
                    state["offset"] = int(answer.headers["upload-offset"])
                    state["cut"] = _photo_uuid(request.url)
                    return route.abort("internetdisconnected")
            return route.continue_()
        # After the cut: the same request, sent to host B.
        response = route.fetch(url=request.url.replace(a.url, b.url, 1))
        return route.fulfill(response=response)

    officer_phone.route(f"{a.url}/api/**", to_host_b)
    _send(page, officer_phone)
    officer_phone.unroute_all(behavior="ignoreErrors")  # what the phone sends next is not this test's

    cut = state["cut"]
    assert cut in {p["uuid"] for p in draft["photos"]}
    # Host A took the first part of the cut upload (the lost answer's chunk included); host B,
    # asked where it stood, answered the offset A had reached, and took the rest from there.
    assert state["offset"] > 0 and state["offset"] in _offsets(a, "PATCH", cut)
    assert state["offset"] in _offsets(b, "HEAD", cut)
    assert _served(b, "PATCH").get(cut, 0) >= 1
    _assert_stored_once(capp, cluster, draft)


def test_a_host_killed_mid_upload_loses_nothing_and_duplicates_nothing(cluster, capp, officer_phone, photos):
    """Host A appends a chunk and dies (SIGKILL, master and workers) before its answer leaves: the
    phone, through the balancer, finds host B, which resumes from what A had staged."""
    a, b = cluster.hosts
    page = officer_phone.new_page()
    enrol_phone(capp, page, cluster.balancer.url, "officer3")
    officer_phone.set_offline(True)
    capture(page, photos, name="周满仓", serial=903)
    [draft] = drafts(page)
    state = {"patches": 0, "killed": None, "offset": 0}

    def kill_a_mid_upload(route):
        request = route.request
        if state["killed"] is None and request.method == "PATCH" and UPLOADS in request.url:
            state["patches"] += 1
            if state["patches"] == 4:
                answer = route.fetch(url=request.url.replace(cluster.balancer.url, a.url, 1))  # A stores the chunk…
                state["offset"] = int(answer.headers["upload-offset"])
                a.kill()  # …and the machine dies before the phone hears back
                state["killed"] = _photo_uuid(request.url)
                return route.abort("connectionreset")
        return route.continue_()

    officer_phone.route(f"{cluster.balancer.url}/api/**", kill_a_mid_upload)
    _send(page, officer_phone)
    officer_phone.unroute_all(behavior="ignoreErrors")

    killed = state["killed"]
    assert killed and a.proc is None
    # Host B resumed the upload at the bytes the dead host had stored, not from the start.
    assert state["offset"] > 0 and state["offset"] in _offsets(b, "HEAD", killed)
    assert _served(b, "PATCH").get(killed, 0) >= 1
    _assert_stored_once(capp, cluster, draft)


def _client():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    return opener, jar


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _open(opener, url: str, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        response = opener.open(url, data=body, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    return response.status, response.headers, response.read().decode("utf-8", "replace")


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_a_staff_login_on_one_host_works_on_the_other_with_its_csrf_token(cluster):
    a, b = cluster.hosts
    opener, jar = _client()
    status, _, html = _open(opener, f"{a.url}/login")
    token = CSRF.search(html).group(1)
    status, headers, _ = _open(opener, f"{a.url}/login",
                               {"username": "director1", "password": "demo1234", "csrf_token": token})
    assert status == 302 and urllib.parse.urlsplit(headers["Location"]).path == "/" and len(jar) >= 1
    # The same cookie on host B (the cookie is the host's: 127.0.0.1 whatever the port).
    status, _, home = _open(opener, f"{b.url}/")
    assert status == 200 and "陈建国" in home
    # A forged token is refused by host B (the check is real, not switched off)…
    status, _, _ = _open(opener, f"{b.url}/logout", {"csrf_token": "forged"})
    assert status == 400
    assert _open(opener, f"{b.url}/")[0] == 200
    # …and a form token written by host A is accepted by host B: logging out there works.
    token_a = CSRF.search(_open(opener, f"{a.url}/")[2]).group(1)
    status, headers, _ = _open(opener, f"{b.url}/logout", {"csrf_token": token_a})
    assert status == 302 and "/login" in headers["Location"]
    # And the session is gone on both hosts.
    for host in (a, b):
        status, headers, _ = _open(opener, f"{host.url}/")
        assert status == 302 and "/login" in headers["Location"]


def test_every_host_serves_the_same_service_worker_through_the_recipes_balancer(cluster):
    bodies = []
    for host in cluster.hosts:
        with urllib.request.urlopen(f"{host.url}/sw.js", timeout=30) as response:
            bodies.append(response.read())
    assert bodies[0] == bodies[1] and b"__CLIENT_VERSION__" not in bodies[0]
    # Through the balancer: gzip (deploy/nginx-app.conf) for what compresses, the same bytes inside.
    request = urllib.request.Request(f"{cluster.balancer.url}/sw.js", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.read()) == bodies[0]
    # Metrics are scraped from each host, never through the balancer (one random host's numbers).
    try:
        status = urllib.request.urlopen(f"{cluster.balancer.url}/metrics", timeout=30).status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 404
