"""How many bytes does the director's phone download to open a village map of 2,000 households?

Run from the repository root:

    .venv/bin/python bench/village_map_bytes.py [--households 2000]

It migrates a temporary SQLite database with the demo data, adds 2,000 surveyed households (names
of two or three Chinese characters, homes spread over about 2 km, one in three pre-approved) to the
demo's village 红星村, serves the app and drives Debian's Chromium at 360 x 740 px, logged in as
director1. With the browser cache cleared it opens /villages/<id>/map, waits until every household
is drawn, and counts every byte on the wire (Chrome DevTools Protocol ``encodedDataLength``:
headers and bodies as transferred), by resource type; then the same page again with the warm
cache. Twice: as the development server sends it (no compression), and behind gzip as the
production recipe's nginx serves it (deploy/nginx-app.conf: gzip level 5 for HTML, CSS,
JavaScript and JSON of 1 KB or more — imitated here by a WSGI middleware). No tiles are configured
(no TIANDITU_KEY), so tile bytes are not counted: they are the tile server's, and the map draws
without them. The goal: under 150 KB for the first view.
"""
from __future__ import annotations

import argparse
import gzip
import logging
import random
import sys
import tempfile
import threading
import uuid
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.domain import idcard  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Borrower, User  # noqa: E402
from app.models.credit import HouseholdSurvey, PreApproval, SurveyVersion, Village, VillageCampaign  # noqa: E402

GOAL_BYTES = 150 * 1024
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文红梅玉珍德福长青春生有田山林水金银海波"
COMPRESSIBLE = ("text/html", "text/css", "application/javascript", "text/javascript", "application/json")


class Gzip:
    """What nginx's ``gzip on`` does for these types (level 5, 1 KB and more), for the bench only."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return self.app(environ, start_response)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        headers = captured["headers"]
        kind = next((v for k, v in headers if k.lower() == "content-type"), "").split(";")[0].strip()
        if kind in COMPRESSIBLE and len(body) >= 1024 and not any(k.lower() == "content-encoding" for k, _ in headers):
            body = gzip.compress(body, compresslevel=5)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body))), ("Vary", "Accept-Encoding")]
        start_response(captured["status"], headers)
        return [body]


def _prepare(workdir: Path, households: int):
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(TestConfig(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir / "photos"))
    app.config["MAP_TILE_URL"] = ""
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], None, history=False)
        village = db.session.scalar(select(Village).where(Village.name == "红星村"))
        campaign = db.session.scalar(select(VillageCampaign).where(VillageCampaign.village_id == village.id))
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        sv = db.session.scalar(select(SurveyVersion.id).where(SurveyVersion.product_id == campaign.product_id))
        rng = random.Random(2000)
        borrowers, seen = [], set()
        for i in range(households):
            first17 = f"513401{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i // 600:01d}{i % 100:02d}"
            number = first17 + idcard.check_digit(first17)
            if number in seen:
                continue
            seen.add(number)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            borrowers.append({"uuid": str(uuid.uuid4()), "name": name, "id_number": number, "sex": "M",
                              "birth_date": idcard.parse(number, __import__("datetime").date(2026, 1, 1)).birth_date,
                              "village": village.name, "office_id": village.office_id, "officer_id": officer.id,
                              "home_lat": village.lat + rng.uniform(-0.009, 0.009),
                              "home_lon": village.lon + rng.uniform(-0.011, 0.011)})
        db.session.execute(insert(Borrower), borrowers)
        ids = dict(db.session.execute(select(Borrower.id_number, Borrower.id).where(Borrower.id_number.in_(seen))).tuples().all())
        surveys = [{"uuid": str(uuid.uuid4()), "campaign_id": campaign.id, "borrower_id": ids[b["id_number"]],
                    "survey_version_id": sv, "answers": {}, "committee_rating": "good", "lat": b["home_lat"],
                    "lon": b["home_lon"], "surveyed_by_id": officer.id} for b in borrowers]
        db.session.execute(insert(HouseholdSurvey), surveys)
        new = set(ids.values())
        rows = db.session.execute(select(HouseholdSurvey.id, HouseholdSurvey.borrower_id)
                                  .where(HouseholdSurvey.campaign_id == campaign.id)).all()
        db.session.execute(insert(PreApproval), [
            {"campaign_id": campaign.id, "household_survey_id": sid, "borrower_id": bid, "proposed_limit": 20000,
             "approved_limit": 20000, "status": "approved"} for sid, bid in rows[::3] if bid in new])
        db.session.commit()
        total = len(rows)
        return app, village.id, total


def _measure(page, cdp, url: str, total: int) -> dict[str, int]:
    sizes: dict[str, int] = {}
    types: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="networkidle")
    page.wait_for_selector(f"#village-map[data-households='{total}']")
    page.wait_for_timeout(500)  # the menu badge's htmx request
    by_type: dict[str, int] = defaultdict(int)
    for request_id, n in sizes.items():
        by_type[types.get(request_id, "Other")] += n
    return dict(by_type)


def _run(app, village_id: int, total: int, *, gzipped: bool) -> tuple[dict, dict, float]:
    server = make_server("127.0.0.1", 0, Gzip(app) if gzipped else app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="block")
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "director1")
            page.fill("input[name=password]", "demo1234")
            page.click("button[type=submit].primary")
            page.wait_for_url(f"{base}/")
            url = f"{base}/villages/{village_id}/map"
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.clearBrowserCache")
            first = _measure(page, cdp, url, total)
            draw_ms = page.evaluate("performance.getEntriesByType('navigation')[0].duration")
            cdp2 = context.new_cdp_session(page)
            cdp2.send("Network.enable")
            repeat = _measure(page, cdp2, url, total)
            browser.close()
    finally:
        server.shutdown()
    return first, repeat, draw_ms


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=2000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("daidaitong").setLevel(logging.WARNING)
    kb = lambda n: f"{n / 1024:8.1f} KB"  # noqa: E731
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        app, village_id, total = _prepare(Path(tmp), args.households)
        with app.app_context():
            from app.services import villages

            data_bytes = len(__import__("json").dumps(villages.map_data(db.session.get(Village, village_id), "wgs84"),
                                                      ensure_ascii=False, separators=(",", ":")).encode())
        print(f"Village map, 360 px phone, {total} households; map JSON {data_bytes / 1024:.1f} KB uncompressed "
              f"({data_bytes / total:.1f} bytes a household)")
        for gzipped in (False, True):
            first, repeat, _ms = _run(app, village_id, total, gzipped=gzipped)
            print(f"\n{'behind gzip (nginx recipe)' if gzipped else 'development server (no compression)'}")
            print(f"{'resource type':<16}{'first view':>12}{'repeat view':>13}")
            for kind in sorted(set(first) | set(repeat)):
                print(f"{kind:<16}{kb(first.get(kind, 0)):>12}{kb(repeat.get(kind, 0)):>13}")
            first_total, repeat_total = sum(first.values()), sum(repeat.values())
            print(f"{'total':<16}{kb(first_total):>12}{kb(repeat_total):>13}")
            verdict = "PASS" if first_total < GOAL_BYTES else "FAIL"
            verdicts.append(verdict if gzipped else "info")
            print(f"goal: first view under {GOAL_BYTES // 1024} KB -> {verdict}")
    return 0 if verdicts[-1] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
