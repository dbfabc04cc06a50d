"""How far can the phone shrink a form photo before OCR reads the fields worse?

Run from the repository root:

    .venv/bin/python bench/photo_downscale_ocr.py [--forms N] [--seed S] [--edges 960,1280]

For N synthetic phone photos of the paper forms (tests/support/form_images.py: half
survey forms 借款调查表 shot in portrait, half IOUs 借款借据 shot in landscape; 12 MP,
JPEG quality 92 like a phone camera) it OCRs the original and every candidate upload
setting: long edge 960/1280/1600/2048 px x JPEG quality 0.6/0.7/0.8/0.9. The downscale
uses Pillow BILINEAR, the closest match found to what Chromium's canvas ``drawImage`` with
``imageSmoothingQuality = "high"`` produces (LANCZOS came out sharper and ~20 % bigger, so it
flattered low qualities; bench/phone_upload_bytes.py measures the real browser); the re-encode uses Pillow JPEG at round(q * 100) with
4:2:0 chroma, mirroring how Chromium maps ``canvas.toBlob("image/jpeg", q)`` onto libjpeg.

Per setting it prints mean upload bytes, bytes as % of the original, field accuracy
(share of name, ID number, amount, amount in capitals and date found verbatim in the
OCR text), mean recognition confidence and mean OCR seconds per image, then the
smallest setting that keeps the original's accuracy within the product's 15 % byte
budget. OCR is RapidOCR with its bundled models and default configuration, i.e. what
the server runs; it needs no network.

``--edges 640,720,800`` swaps in other long edges to locate where accuracy breaks.

Default N is 6 (3 of each form), not 12: on 2 cores each form costs about a minute of
rendering and OCR over its 17 variants, so 6 forms take ~7 minutes (``--forms 12``: ~13).
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

# Run as a plain script from the repo root: make app.domain and tests.support importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from app.domain.money import format_money  # noqa: E402
from tests.support.form_images import (  # noqa: E402
    FormFields,
    date_text,
    random_fields,
    render_form,
    to_camera_jpeg,
)

LONG_EDGES: tuple[int, ...] = (960, 1280, 1600, 2048)
QUALITIES: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
BYTE_BUDGET_PCT = 15.0
ORIGINAL = "original"


@dataclass
class Tally:
    """Accumulated results of one upload setting over all forms."""

    label: str
    long_edge: int | None
    quality: float | None
    sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    found: int = 0
    checked: int = 0
    misses: Counter[str] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.found / self.checked if self.checked else 0.0


def normalise(text: str) -> str:
    """NFKC folds fullwidth digits/punctuation to ASCII; upper() accepts x for the X check digit."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def field_hits(fields: FormFields, ocr_text: str) -> dict[str, bool]:
    """Is each scored field present verbatim in the OCR text (all lines concatenated)?"""
    text = normalise(ocr_text)
    no_commas = text.replace(",", "")
    return {
        "name": normalise(fields.name) in text,
        "id_number": normalise(fields.id_number) in text,
        # Thousands separators are often dropped or misread; the digits and cents must match.
        "amount": format_money(fields.amount).replace(",", "") in no_commas,
        "amount_in_capitals": normalise(fields.amount_in_capitals) in text,
        "date": normalise(date_text(fields.date)) in text,
    }


def downscale(image: Image.Image, long_edge: int) -> Image.Image:
    """Shrink so the long edge is ``long_edge``; never enlarge (the phone would not either)."""
    scale = long_edge / max(image.size)
    if scale >= 1:
        return image
    target = (round(image.width * scale), round(image.height * scale))
    return image.resize(target, Image.Resampling.BILINEAR)


def encode(image: Image.Image, quality: float) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=round(quality * 100), subsampling="4:2:0")
    return buf.getvalue()


def load_engine() -> tuple[object, float]:
    """Build RapidOCR and force its lazily loaded det/cls/rec models in; returns (engine, s)."""
    started = time.perf_counter()
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "warning"})
    # Models load on first use: OCR a small clean form so that the timing rows exclude it.
    warm = render_form(random_fields(random.Random(0)), kind="iou", size=(800, 600),
                       photo_effects=False)
    engine(encode(warm, 0.9))
    return engine, time.perf_counter() - started


def run_ocr(engine: object, jpeg: bytes) -> tuple[str, list[float], float]:
    started = time.perf_counter()
    result = engine(jpeg)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    txts = list(result.txts or ())
    scores = [float(s) for s in (result.scores or ())]
    return "\n".join(txts), scores, elapsed


def record(tally: Tally, fields: FormFields, jpeg: bytes, engine: object) -> None:
    text, scores, elapsed = run_ocr(engine, jpeg)
    hits = field_hits(fields, text)
    tally.sizes.append(len(jpeg))
    tally.seconds.append(elapsed)
    tally.confidences.extend(scores)
    tally.checked += len(hits)
    tally.found += sum(hits.values())
    tally.misses.update(name for name, ok in hits.items() if not ok)


def choose(baseline: Tally, candidates: list[Tally], original_bytes: float) -> str:
    """The smallest setting that reads as well as the original, preferring the byte budget."""
    def pct(t: Tally) -> float:
        return 100.0 * statistics.fmean(t.sizes) / original_bytes

    as_good = sorted((t for t in candidates if t.accuracy >= baseline.accuracy),
                     key=lambda t: statistics.fmean(t.sizes))
    within = [t for t in as_good if pct(t) <= BYTE_BUDGET_PCT]
    if within:
        best = within[0]
        return (f"Recommendation: long edge {best.long_edge} px, JPEG quality {best.quality} "
                f"({pct(best):.1f} % of original bytes, accuracy {best.accuracy:.1f} % "
                f"vs original {baseline.accuracy:.1f} %).")
    if as_good:
        best = as_good[0]
        return (f"Recommendation: none fits the {BYTE_BUDGET_PCT:.0f} % budget at full accuracy; "
                f"smallest as-accurate is long edge {best.long_edge} px, quality {best.quality} "
                f"({pct(best):.1f} %).")
    return "Recommendation: no candidate setting matches the original's accuracy; keep originals."


def _edge_list(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(part) for part in text.split(",") if part.strip()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=6, help="number of forms (default 6)")
    parser.add_argument("--seed", type=int, default=2026, help="RNG seed (default 2026)")
    parser.add_argument(
        "--edges", type=_edge_list, default=LONG_EDGES,
        help="comma-separated long edges to try instead of 960,1280,1600,2048, "
             "e.g. 640,720,800 to find where accuracy starts to drop",
    )
    args = parser.parse_args(argv)

    engine, load_s = load_engine()
    cfg = engine.cfg  # type: ignore[attr-defined]
    print(f"RapidOCR {version('rapidocr')}, onnxruntime {version('onnxruntime')}, "
          f"Pillow {version('pillow')}; det {cfg.Det.ocr_version}/{cfg.Det.model_type}, "
          f"rec {cfg.Rec.ocr_version}/{cfg.Rec.model_type}")
    print(f"Engine load (import + det/cls/rec models + first small inference): {load_s:.2f} s")
    print(f"Note: RapidOCR shrinks any input to a long edge of {cfg.Global.max_side_len} px "
          "before detection, so larger uploads give the server no extra detail.")
    print("Downscale: Pillow BILINEAR, the closest match to Chromium's canvas drawImage with "
          "high-quality smoothing; re-encode: Pillow JPEG quality round(q*100), 4:2:0.")

    rng = random.Random(args.seed)
    baseline = Tally(ORIGINAL, None, None)
    grid = [Tally(f"{edge}/q{q}", edge, q) for edge in args.edges for q in QUALITIES]
    render_s = 0.0
    for i in range(args.forms):
        kind = "survey" if i % 2 == 0 else "iou"
        # Survey forms are A4 portrait and get shot upright; IOUs are A5 landscape.
        size = (3024, 4032) if kind == "survey" else (4032, 3024)
        fields = random_fields(rng)
        started = time.perf_counter()
        original = to_camera_jpeg(render_form(fields, kind=kind, size=size, rng=rng))
        render_s += time.perf_counter() - started
        record(baseline, fields, original, engine)
        # Decode once, as the browser does before drawing the photo onto a canvas.
        decoded = Image.open(io.BytesIO(original))
        decoded.load()
        for edge in args.edges:
            small = downscale(decoded, edge)
            for tally in (t for t in grid if t.long_edge == edge):
                record(tally, fields, encode(small, tally.quality or 0.9), engine)
        print(f"  form {i + 1}/{args.forms} ({kind}) done", file=sys.stderr, flush=True)

    original_bytes = statistics.fmean(baseline.sizes)
    print(f"\n{args.forms} forms ({(args.forms + 1) // 2} survey 3024x4032, "
          f"{args.forms // 2} IOU 4032x3024), seed {args.seed}; "
          f"rendering took {render_s / args.forms:.1f} s per form.")
    header = (f"{'setting':<12}{'mean bytes':>12}{'% orig':>8}{'field acc %':>13}"
              f"{'mean conf':>11}{'OCR s/img':>11}  misses")
    print(header)
    print("-" * len(header))
    for t in [baseline, *grid]:
        misses = ", ".join(f"{name}x{n}" for name, n in sorted(t.misses.items())) or "-"
        mean_bytes = statistics.fmean(t.sizes)
        print(f"{t.label:<12}{mean_bytes:>12,.0f}{100 * mean_bytes / original_bytes:>8.1f}"
              f"{t.accuracy:>13.1f}{statistics.fmean(t.confidences or [0.0]):>11.3f}"
              f"{statistics.fmean(t.seconds):>11.2f}  {misses}")
    print()
    print(choose(baseline, grid, original_bytes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
