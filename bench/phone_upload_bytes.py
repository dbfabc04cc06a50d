"""Bytes the officer's phone sends per application, against the camera's raw photo bytes.

Run from the repository root:

    .venv/bin/python bench/phone_upload_bytes.py [--photos 5] [--seed N]

Goal: an application costs at most 15 % of the raw photo bytes on the wire, and OCR reads
the uploaded photos at least as well as the camera originals.

What it does, with the real code end to end:

1. Renders K (default 5, one per document of the demo credit product 农户小额信用贷款:
   借款调查表, 借款借据, 身份证正面, 身份证反面, 房屋照片) seeded 12 MP camera photos with
   tests/support/form_images.py, JPEG quality 92 as a phone camera writes them. Survey forms
   (A4) are shot upright at 3024x4032, IOUs (A5 landscape) at 4032x3024, as in
   bench/photo_downscale_ocr.py. That module draws only these two forms, so the ID card and
   house photos are stand-ins: more survey / IOU renders (text-heavy, so also OCR-scored).
   Photos beyond five go to the documents that accept more, in the product's item order.
2. Serves the app in this process (werkzeug, threaded) on a free 127.0.0.1 port with a
   temporary SQLite database and photo store, migrated and loaded with the demo data.
3. Drives Debian's Chromium with Playwright like tests/e2e/officer.py: enrols a phone for
   officer1, captures the application offline (static/js/photos.js downscales and re-encodes
   each photo with canvas, using photo_long_edge / photo_jpeg_quality from /api/v1/bootstrap),
   then goes online and waits until the application is listed as sent.
4. Counts what leaves the phone with ``context.route("**/api/v1/**")``: request bodies of the
   manifest POST and the tus PATCHes, plus request line + header bytes (approximate: as
   Chromium reports them to Playwright, HTTP/1.1 framing, no TLS).
5. OCRs every original and every stored upload (read back from the server's photo store) with
   RapidOCR, scoring name, ID number, amount, amount in capitals and date with the functions
   of bench/photo_downscale_ocr.py, so both benches judge OCR the same way.

Takes about 2-3 minutes on 2 cores (rendering and OCR dominate). Temporary files are removed.
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a plain script from the repo root: make app, tests.support and bench importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from flask import Flask  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import BrowserContext, Page, Request, Route, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Application, Product  # noqa: E402
from app.storage import make_store  # noqa: E402
from bench.photo_downscale_ocr import field_hits, load_engine, run_ocr  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402
from tests.e2e.officer import GPS, drafts, enrol_phone  # noqa: E402
from tests.support.form_images import FormFields, random_fields, render_form, to_camera_jpeg  # noqa: E402

BYTE_BUDGET_PCT = 15.0
FIELDS: tuple[str, ...] = ("name", "id_number", "amount", "amount_in_capitals", "date")
# Documents that are forms form_images.py can draw (item code == form kind); the rest get stand-ins.
DRAWN_FORMS: tuple[str, ...] = ("survey", "iou")
SIZE = {"survey": (3024, 4032), "iou": (4032, 3024)}  # 12 MP; A4 upright, A5 landscape


@dataclass
class CameraPhoto:
    """One generated camera photo and where it goes in the application."""

    index: int
    item_code: str
    kind: str
    fields: FormFields
    path: Path
    raw: bytes
    size: tuple[int, int]
    # Filled in after the upload:
    sha256: str = ""
    uploaded: bytes = b""
    uploaded_size: tuple[int, int] = (0, 0)
    hits_original: dict[str, bool] = field(default_factory=dict)
    hits_uploaded: dict[str, bool] = field(default_factory=dict)


@dataclass
class Wire:
    """Request bytes that left the phone for /api/v1, by kind of request."""

    bodies: Counter[str] = field(default_factory=Counter)
    headers: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, body: int, header: int) -> None:
        self.bodies[kind] += body
        self.headers[kind] += header
        self.counts[kind] += 1


# --- photos ------------------------------------------------------------------------


def assign_items(items: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """One photo per document first, then extras where the product allows more, in item order."""
    if count < len(items):
        raise SystemExit(f"--photos must be at least {len(items)}: every document needs one photo")
    capacity = sum(int(i["max"]) for i in items)
    if count > capacity:
        raise SystemExit(f"--photos must be at most {capacity}: the product takes no more")
    plan = list(items)
    taken = Counter(i["code"] for i in items)
    while len(plan) < count:
        for item in items:
            if len(plan) < count and taken[item["code"]] < int(item["max"]):
                plan.append(item)
                taken[item["code"]] += 1
    # Keep a document's photos together, as the officer takes them.
    order = {i["code"]: n for n, i in enumerate(items)}
    return sorted(plan, key=lambda i: order[i["code"]])


def make_photos(plan: list[dict[str, Any]], rng: random.Random, folder: Path) -> list[CameraPhoto]:
    photos: list[CameraPhoto] = []
    stand_in = 0
    for n, item in enumerate(plan):
        kind = item["code"]
        if kind not in DRAWN_FORMS:  # ID card / house: alternate the two forms as text-bearing stand-ins
            kind = DRAWN_FORMS[stand_in % 2]
            stand_in += 1
        fields = random_fields(rng)
        size = SIZE[kind]
        raw = to_camera_jpeg(render_form(fields, kind=kind, size=size, rng=rng))
        path = folder / f"IMG_{n + 1:04d}.jpg"
        path.write_bytes(raw)
        photos.append(CameraPhoto(n, item["code"], kind, fields, path, raw, size))
        print(f"  rendered photo {n + 1}/{len(plan)} ({item['code']}, {kind})", file=sys.stderr, flush=True)
    return photos


# --- server --------------------------------------------------------------------------


def build_app(workdir: Path) -> tuple[Flask, list[dict[str, Any]]]:
    """Migrated demo app; also the photo list of the product the phone's new draft starts with."""
    from flask_migrate import upgrade

    from app.services import demo

    app = create_app(TestConfig(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir / "photos"))
    with app.app_context():
        upgrade()
        demo.load(app.config["PASSWORD_HASH_METHOD"])
        # newDraft() takes the first product of /api/v1/bootstrap, which lists active ones by id.
        product = db.session.scalars(
            select(Product).where(Product.is_active.is_(True)).order_by(Product.id)).first()
        assert product is not None
        items = [{"id": i.id, "code": i.code, "name": i.name, "required": i.required_count,
                  "max": i.max_count} for i in product.items]
    return app, items


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    # One access-log line per tus chunk would bury the report.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


# --- the phone -----------------------------------------------------------------------


def header_bytes(request: Request) -> int:
    """Request line + headers as HTTP/1.1 would frame them (approximate)."""
    path = request.url.split("://", 1)[-1]
    path = path[path.find("/"):] if "/" in path else "/"
    line = f"{request.method} {path} HTTP/1.1\r\n"
    try:
        headers = request.all_headers()
    except Exception:  # noqa: BLE001 — fall back to the headers Playwright knows up front
        headers = request.headers
    return len(line.encode()) + sum(len(f"{k}: {v}\r\n".encode()) for k, v in headers.items()) + 2


def request_kind(request: Request) -> str:
    path = request.url.split("?", 1)[0]
    if request.method == "POST" and path.endswith("/api/v1/applications"):
        return "manifest POST"
    if "/api/v1/uploads/" in path:
        return f"tus {request.method}"
    return f"other {request.method} {path.rsplit('/api/v1/', 1)[-1]}"


def capture(page: Page, photos: list[CameraPhoto], items: list[dict[str, Any]]) -> None:
    """Fill the application as tests/e2e/officer.py capture() does, with our photos per document."""
    applicant = photos[0].fields
    page.click("#new-application")
    page.wait_for_selector("#view-draft:not([hidden])")
    page.fill("#view-draft input[name=name]", applicant.name)
    page.fill("#view-draft input[name=id_number]", applicant.id_number)
    page.fill("#view-draft input[name=phone]", applicant.phone)
    page.fill("#view-draft input[name=village]", applicant.village)
    page.fill("#view-draft input[name=address]", applicant.village)
    position = {item["code"]: n for n, item in enumerate(items)}
    for photo in photos:
        before = page.locator(".thumb").count()
        # The list is re-rendered after every photo; .photo-item keeps the product's item order.
        target = page.locator(".photo-item").nth(position[photo.item_code])
        target.locator("input[type=file]").set_input_files(str(photo.path))
        page.wait_for_function(f"document.querySelectorAll('.thumb').length > {before}", timeout=60000)
    page.click("#take-gps")
    page.wait_for_function("document.querySelector('#gps-info').textContent.includes('104.09')")
    # Form amounts go up to 100 000; the credit product lends at most 50 000.
    page.fill("#view-draft input[name=amount]", str(min(int(applicant.amount), 50000)))
    page.fill("#view-draft input[name=term_months]", "12")
    page.fill("#view-draft input[name=purpose]", "购买化肥种子")
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#view-home:not([hidden])")


def run_phone(app: Flask, base: str, photos: list[CameraPhoto],
              items: list[dict[str, Any]]) -> tuple[Wire, dict[str, Any], dict[str, Any]]:
    """Enrol, capture offline, go online, wait for "sent"; returns wire bytes, settings, draft."""
    wire = Wire()

    def on_api(route: Route) -> None:
        request = route.request
        body = request.post_data_buffer or b""
        wire.record(request_kind(request), len(body), header_bytes(request))
        route.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context: BrowserContext = browser.new_context(
                viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow",
                permissions=["geolocation"], geolocation=GPS,
            )
            page = context.new_page()
            enrol_phone(app, page, base)
            boot = page.evaluate("Store.getMeta('bootstrap')")
            assert [i["id"] for i in boot["products"][0]["items"]] == [i["id"] for i in items]
            # Offline capture, as in a village: every photo is prepared before anything is sent.
            context.set_offline(True)
            capture(page, photos, items)
            # Count from here on: only what this application costs, not enrolment.
            context.route("**/api/v1/**", on_api)
            started = time.perf_counter()
            context.set_offline(False)  # "online" fires and the queue runs
            page.wait_for_selector("#list-sent .row", timeout=180000)
            print(f"  sent in {time.perf_counter() - started:.1f} s after going online",
                  file=sys.stderr, flush=True)
            [draft] = drafts(page)
            context.close()
        finally:
            browser.close()
    return wire, boot["settings"], draft


def fetch_uploads(app: Flask, photos: list[CameraPhoto], draft: dict[str, Any],
                  items: list[dict[str, Any]]) -> str:
    """Attach each stored upload to its camera photo; returns the application's server state."""
    with app.app_context():
        application = db.session.scalar(select(Application).where(Application.uuid == draft["uuid"]))
        assert application is not None, "the application never reached the server"
        store = make_store(app.config)
        stored = {p.uuid: p.sha256 for p in application.photos}
        # Draft photos carry item and sequence; the camera photos went in in the same order.
        order = [i["id"] for i in items]
        code = {i["id"]: i["code"] for i in items}
        mine = sorted(draft["photos"], key=lambda ph: (order.index(ph["item_id"]), ph["sequence"]))
        for photo, sent in zip(photos, mine, strict=True):
            assert code[sent["item_id"]] == photo.item_code
            photo.sha256 = stored[sent["uuid"]]
            assert photo.sha256 == sent["sha256"], "stored photo differs from what the phone hashed"
            with store.open(photo.sha256) as f:
                photo.uploaded = f.read()
            with Image.open(io.BytesIO(photo.uploaded)) as img:
                photo.uploaded_size = img.size
        return application.state


# --- report --------------------------------------------------------------------------


@dataclass
class Run:
    """Everything the report needs from one run."""

    seed: int
    photos: list[CameraPhoto]
    wire: Wire
    settings: dict[str, Any]
    uuid: str
    state: str
    conf_original: list[float]
    conf_uploaded: list[float]
    seconds: dict[str, float]


def accuracy(hits: list[dict[str, bool]]) -> tuple[float, Counter[str]]:
    found = sum(sum(h.values()) for h in hits)
    checked = sum(len(h) for h in hits)
    misses = Counter(name for h in hits for name, ok in h.items() if not ok)
    return 100.0 * found / checked, misses


def _misses(c: Counter[str]) -> str:
    return ", ".join(f"{k}x{v}" for k, v in sorted(c.items())) or "-"


def report(run: Run) -> bool:
    """Print the figures; True when the goal is met."""
    photos, wire = run.photos, run.wire
    raw_total = sum(len(p.raw) for p in photos)
    upload_total = sum(len(p.uploaded) for p in photos)
    manifest, patches = wire.bodies["manifest POST"], wire.bodies["tus PATCH"]
    sent = manifest + patches
    # Headers of this application's own requests; version/status checks happen once per sync run.
    own = [k for k in wire.counts if not k.startswith("other")]
    own_headers = sum(wire.headers[k] for k in own)
    others = sorted(k for k in wire.counts if k.startswith("other"))
    pct = 100.0 * sent / raw_total
    s = run.settings

    print(f"Phone: Chromium {CHROMIUM} via Playwright; settings from /api/v1/bootstrap: "
          f"photo_long_edge={s['photo_long_edge']}, photo_jpeg_quality={s['photo_jpeg_quality']}, "
          f"upload_chunk_bytes={s['upload_chunk_bytes']}")
    print(f"{len(photos)} camera photos, seed {run.seed}; application {run.uuid} is {run.state} on the server; "
          + ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items()) + ".")
    print()
    header = (f"{'#':>2}  {'document':<10}{'drawn as':<9}{'raw bytes':>11}{'raw px':>11}"
              f"{'uploaded':>10}{'upl px':>11}{'% raw':>7}{'OCR orig':>10}{'OCR upl':>9}  upload misses")
    print(header)
    print("-" * len(header))
    for p in photos:
        missed = ", ".join(k for k, ok in p.hits_uploaded.items() if not ok) or "-"
        print(f"{p.index + 1:>2}  {p.item_code:<10}{p.kind:<9}{len(p.raw):>11,}"
              f"{p.size[0]:>6}x{p.size[1]:<4}{len(p.uploaded):>10,}"
              f"{p.uploaded_size[0]:>6}x{p.uploaded_size[1]:<4}{100 * len(p.uploaded) / len(p.raw):>7.1f}"
              f"{sum(p.hits_original.values()):>8}/{len(FIELDS)}{sum(p.hits_uploaded.values()):>7}/{len(FIELDS)}"
              f"  {missed}")
    print("-" * len(header))
    print(f"{'':>2}  {'total':<19}{raw_total:>11,}{'':>11}{upload_total:>10,}{'':>11}"
          f"{100 * upload_total / raw_total:>7.1f}")
    print()
    print("Requests from the phone after it went online (headers ~: HTTP/1.1 framing as Chromium reports them):")
    for kind in sorted(wire.counts):
        print(f"  {kind:<32}{wire.counts[kind]:>3} req   body {wire.bodies[kind]:>9,}   headers ~{wire.headers[kind]:>6,}")
    print()
    print(f"  raw photo bytes (camera JPEGs)            {raw_total:>11,}")
    print(f"  bytes sent: manifest + tus PATCH bodies   {sent:>11,}  = {pct:.1f} % of raw"
          f"  (manifest {manifest:,}, photos {patches:,})")
    print(f"  same + headers of manifest/HEAD/PATCH     {sent + own_headers:>11,}  = "
          f"{100.0 * (sent + own_headers) / raw_total:.1f} % of raw")
    if patches != upload_total:
        print(f"  note: PATCH bodies {patches:,} differ from stored photo bytes {upload_total:,} (chunks resent)")
    if others:
        extra = sum(wire.bodies[k] + wire.headers[k] for k in others)
        print(f"  not counted: {', '.join(others)} (~{extra:,} bytes; once per sync run, not per application)")
    print()
    acc_o, miss_o = accuracy([p.hits_original for p in photos])
    acc_u, miss_u = accuracy([p.hits_uploaded for p in photos])
    print(f"OCR field accuracy ({', '.join(FIELDS)}; RapidOCR, scoring of bench/photo_downscale_ocr.py):")
    print(f"  original  {acc_o:5.1f} %   mean conf {statistics.fmean(run.conf_original or [0.0]):.3f}"
          f"   misses: {_misses(miss_o)}")
    print(f"  uploaded  {acc_u:5.1f} %   mean conf {statistics.fmean(run.conf_uploaded or [0.0]):.3f}"
          f"   misses: {_misses(miss_u)}")
    print()
    ok = pct <= BYTE_BUDGET_PCT and acc_u >= acc_o
    print(f"{'PASS' if ok else 'FAIL'}: sent {pct:.1f} % of raw (goal <= {BYTE_BUDGET_PCT:.0f} %); "
          f"OCR uploaded {acc_u:.1f} % vs original {acc_o:.1f} % (goal: not lower)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=5, help="photos in the application (default 5)")
    parser.add_argument("--seed", type=int, default=2026, help="RNG seed (default 2026)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    seconds: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="ddt-upload-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "camera").mkdir()
        app, items = build_app(workdir)
        started = time.perf_counter()
        photos = make_photos(assign_items(items, args.photos), rng, workdir / "camera")
        seconds["rendering"] = time.perf_counter() - started
        started = time.perf_counter()
        with live_server(app) as base:
            wire, settings, draft = run_phone(app, base, photos, items)
        seconds["phone"] = time.perf_counter() - started
        state = fetch_uploads(app, photos, draft, items)
        with app.app_context():
            db.engine.dispose()

    # Originals and uploads OCR'd in the same run, by the same engine: the baseline is this run's.
    started = time.perf_counter()
    engine, _ = load_engine()
    conf_original: list[float] = []
    conf_uploaded: list[float] = []
    for photo in photos:
        text, scores, _ = run_ocr(engine, photo.raw)
        photo.hits_original = field_hits(photo.fields, text)
        conf_original.extend(scores)
        text, scores, _ = run_ocr(engine, photo.uploaded)
        photo.hits_uploaded = field_hits(photo.fields, text)
        conf_uploaded.extend(scores)
        print(f"  OCR photo {photo.index + 1}/{len(photos)} done", file=sys.stderr, flush=True)
    seconds["OCR"] = time.perf_counter() - started

    run = Run(args.seed, photos, wire, settings, draft["uuid"], state, conf_original, conf_uploaded, seconds)
    return 0 if report(run) else 1


if __name__ == "__main__":
    raise SystemExit(main())
