"""How many bytes does the director's phone download to open an application?

Run from the repository root:

    .venv/bin/python bench/director_page_bytes.py

It migrates a temporary SQLite database with the demo data, gives 张三's application (waiting
for the director of 城关办事处) five photos of the weight the phone app really uploads
(generated forms, long edge 1600 px, JPEG quality 80), serves the app and drives Debian's
Chromium at 360 x 740 px, logged in as director1. With the browser cache cleared it opens
the application's page and counts every byte on the wire (Chrome DevTools Protocol
``encodedDataLength``: headers and bodies as transferred), by resource type; then it opens
the same page again with the warm cache (repeat view). The goal is under 150 KB for the
first view, thumbnails only, before any full-size photo is opened.

Baseline, measured in the same run: the same page if it showed the screen-size photos
(the "view" derivative, 1600 px) instead of thumbnails, i.e. the page's own bytes plus every
view image. Service workers are blocked: the director's pages are online pages; the service
worker only precaches the officer's offline shell.
"""
from __future__ import annotations

import logging
import random
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Application, Borrower  # noqa: E402
from app.storage import make_store, sha256_of_file  # noqa: E402
from tests.support.form_images import random_fields, render_form  # noqa: E402

GOAL_BYTES = 150 * 1024
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}


def _prepare(workdir: Path):
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(TestConfig(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir / "photos"))
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"], make_store(app.config))
        application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "张三"))
        store = make_store(app.config)
        rng = random.Random(150)
        # Real-weight uploads in place of the demo's light stand-ins.
        for i, photo in enumerate(application.photos):
            kind = "survey" if i % 2 == 0 else "iou"
            size = (1200, 1600) if kind == "survey" else (1600, 1200)
            image = render_form(random_fields(rng), kind=kind, size=size, rng=rng, photo_effects=True)
            tmp = store.uploads_dir / f"bench-{i}.jpg"
            image.convert("RGB").save(tmp, "JPEG", quality=80)
            photo.sha256, photo.size_bytes = sha256_of_file(tmp), tmp.stat().st_size
            photo.width, photo.height = image.size
            store.put_file(photo.sha256, tmp)
        db.session.commit()
        upload_bytes = sum(p.size_bytes for p in application.photos)
        view_bytes = sum(len(store.derivative(p.sha256, "view")) for p in application.photos)
        return app, application.id, len(application.photos), upload_bytes, view_bytes


def _measure(page, cdp, url: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    types: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(500)  # the menu badge's htmx request
    by_type: dict[str, int] = defaultdict(int)
    for request_id, n in sizes.items():
        by_type[types.get(request_id, "Other")] += n
    return dict(by_type)


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app, app_id, n_photos, upload_bytes, view_bytes = _prepare(Path(tmp))
        server = make_server("127.0.0.1", 0, app, threaded=True)
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
                url = f"{base}/applications/{app_id}"
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.clearBrowserCache")
                first = _measure(page, cdp, url)
                cdp2 = context.new_cdp_session(page)
                cdp2.send("Network.enable")
                repeat = _measure(page, cdp2, url)
                browser.close()
        finally:
            server.shutdown()

    first_total, repeat_total = sum(first.values()), sum(repeat.values())
    page_without_images = first_total - first.get("Image", 0)
    baseline = page_without_images + view_bytes
    kb = lambda n: f"{n / 1024:8.1f} KB"  # noqa: E731
    print(f"Director's application page, 360 px phone, {n_photos} photos of {upload_bytes / 1024:.0f} KB in all as uploaded")
    print(f"{'resource type':<16}{'first view':>12}{'repeat view':>13}")
    for kind in sorted(set(first) | set(repeat)):
        print(f"{kind:<16}{kb(first.get(kind, 0)):>12}{kb(repeat.get(kind, 0)):>13}")
    print(f"{'total':<16}{kb(first_total):>12}{kb(repeat_total):>13}")
    print(f"baseline (same page with the {n_photos} screen-size photos instead of thumbnails): {kb(baseline).strip()}")
    verdict = "PASS" if first_total < GOAL_BYTES else "FAIL"
    print(f"goal: first view under {GOAL_BYTES // 1024} KB -> {verdict} ({first_total / baseline:.0%} of the baseline)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
