"""Does RapidOCR read the form photos better than a Tesseract 5 baseline?

Run from the repository root:

    .venv/bin/python bench/ocr_engines.py [--forms N] [--seed S] [--psm-trial K]

It makes N synthetic phone photos of the paper forms (tests/support/form_images.py: half
survey forms 借款调查表 in portrait, half IOUs 借款借据 in landscape, rendered at 12 MP with
photo effects) and shrinks each to what the server receives from the phone app: long edge
1600 px with Pillow BILINEAR, JPEG quality 80, 4:2:0 (as bench/photo_downscale_ocr.py
mimics Chromium). The images live only in a temporary directory. Each engine installed reads
the same JPEGs in the same run:

- RapidOCR through the app's adapter, ``app.ocr.engines.make_engine("rapidocr")``;
- Tesseract 5 with Debian's ``chi_sim`` model (``/usr/bin/tesseract``, TSV output). Page
  segmentation modes 3 (automatic) and 6 (one uniform block) are both run on the first K
  forms and the one that extracts more fields is kept for the rest (mode 6 reads the form as
  one block and loses the table cells, so 3 wins). Missing Tesseract is reported and skipped.

Each engine's lines go through the app's field extractor ``app.ocr.fields.extract_fields``.
To give Tesseract a fair baseline its output is shaped like an adapter would shape it: the
words of a TSV line are joined, whitespace between two CJK characters is removed (Tesseract
splits Chinese into one- or two-character "words"), confidences are the mean word confidence
/ 100, a "Y" or "Y#" right before digits becomes ¥ (chi_sim reads the printed ¥ so on
nearly every form, and the extractor keys on ¥), and lines are put in reading order with the
geometric sort the adapter applies to every engine (Tesseract's block order lists a table's
label column before its values). Real misreadings are left alone; fullwidth forms and O/I
for 0/1 the extractor handles itself. The share extracted without these steps is printed too.

Per engine it prints, for name, ID number, amount, amount in capitals and date:
"extracted" = share of images whose extracted value equals the truth exactly, in the
extractor's output format (name and ID as text, amounts as Decimal strings like 39800.00 —
capitals compared by the amount they spell, as the app's figures/capitals check does —
date as ISO); "wrong" = share where a value was extracted but differs (worse than none:
it would prefill the form); "any-text" = share of images whose OCR text contains the
printed truth at all, by the same rule as bench/photo_downscale_ocr.py. Then seconds per
page (mean, p95; JPEG file in, lines out, so Tesseract's includes its process start and model
load, printed separately), CPU seconds per page (all threads; steadier than wall time on a
shared machine), mean line confidence and peak RSS (RapidOCR: this Python process, as
rendering runs in child processes; Tesseract: the largest tesseract process, by GNU time).
Last comes a one-line verdict.

Default N is 50 (25 of each form), K is 6. On the 2-core development machine the default
run took 10 minutes while other jobs used about half of the CPUs: 2.5 minutes rendering (two
processes), ~5 minutes RapidOCR (~6 s per page), ~2.5 minutes Tesseract (~3 s per page).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

# Run as a plain script from the repo root: make app, tests.support and bench importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from app.ocr.engines import OcrLine, _reading_order, make_engine  # noqa: E402
from app.ocr.fields import extract_fields  # noqa: E402
from bench.photo_downscale_ocr import downscale, encode, field_hits  # noqa: E402
from tests.support.form_images import FormFields, random_fields, render_form, to_camera_jpeg  # noqa: E402

FIELDS: tuple[str, ...] = ("name", "id_number", "amount", "amount_in_capitals", "date")
UPLOAD_EDGE = 1600
UPLOAD_QUALITY = 0.8
TESSERACT = shutil.which("tesseract") or "/usr/bin/tesseract"
PSM_CHOICES: tuple[int, ...] = (3, 6)

Lines = list[tuple[str, float]]


@dataclass(frozen=True)
class Read:
    """One engine's reading of one page."""

    lines: Lines  # what extract_fields gets
    seconds: float  # wall clock, JPEG file in, lines out
    cpu_seconds: float  # CPU of all threads/processes doing the OCR: robust to a busy machine
    raw_lines: Lines | None = None  # before the bench's normalisation, when there is one


@dataclass(frozen=True)
class Page:
    kind: str
    fields: FormFields
    path: Path  # the uploaded JPEG, in the temporary directory
    nbytes: int


@dataclass
class Tally:
    """One engine's results over all pages."""

    label: str
    exact: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    wrong: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    anywhere: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    raw_exact: int = 0  # all fields, extracted from the lines before any bench normalisation
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    pages: int = 0

    def add(self, page: Page, read: Read) -> None:
        want = truth(page.fields)
        got = extract_fields(read.lines, today=date.today())
        raw = extract_fields(read.raw_lines, today=date.today()) if read.raw_lines else got
        hits = field_hits(page.fields, "\n".join(text for text, _ in read.lines))
        for name in FIELDS:
            value = got.get(name, {}).get("value")
            self.exact[name] += value == want[name]
            self.wrong[name] += value is not None and value != want[name]
            self.anywhere[name] += hits[name]
            self.raw_exact += raw.get(name, {}).get("value") == want[name]
        self.seconds.append(read.seconds)
        self.cpu_seconds.append(read.cpu_seconds)
        self.confidences.extend(conf for _, conf in read.lines)
        self.pages += 1

    def pct(self, counts: dict[str, int] | int, name: str | None = None) -> float:
        if isinstance(counts, int):
            found, of = counts, self.pages * len(FIELDS)
        elif name:
            found, of = counts[name], self.pages
        else:
            found, of = sum(counts.values()), self.pages * len(FIELDS)
        return 100.0 * found / (of or 1)


def truth(fields: FormFields) -> dict[str, str]:
    """The ground truth in extract_fields' value format."""
    amount = f"{fields.amount:.2f}"
    return {
        "name": fields.name,
        "id_number": fields.id_number,
        "amount": amount,
        "amount_in_capitals": amount,
        "date": fields.date.isoformat(),
    }


# --- the images ----------------------------------------------------------------------


def make_page(job: tuple[int, int, str]) -> Page:
    """Render form ``i`` as a 12 MP camera JPEG, then downscale and re-encode like the phone."""
    seed, i, outdir = job
    # One RNG per form, so that pages do not depend on which worker rendered what.
    rng = random.Random(f"{seed}/{i}")
    kind = "survey" if i % 2 == 0 else "iou"
    # Survey forms are A4 portrait and get shot upright; IOUs are A5 landscape.
    size = (3024, 4032) if kind == "survey" else (4032, 3024)
    fields = random_fields(rng)
    camera = to_camera_jpeg(render_form(fields, kind=kind, size=size, rng=rng))
    decoded = Image.open(io.BytesIO(camera))
    decoded.load()
    small = downscale(decoded, UPLOAD_EDGE)
    upload = encode(small, UPLOAD_QUALITY)
    path = Path(outdir) / f"form{i:03d}-{kind}.jpg"
    path.write_bytes(upload)
    return Page(kind, fields, path, len(upload))


def make_pages(n: int, seed: int, outdir: str) -> list[Page]:
    # Rendering is single-threaded numpy/Pillow work: one process per core halves the wait,
    # and keeps the 12 MP arrays out of this process's peak RSS.
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pages = []
        for page in pool.imap(make_page, [(seed, i, outdir) for i in range(n)]):
            pages.append(page)
            print(f"  rendered {len(pages)}/{n}", file=sys.stderr, flush=True)
        return pages


# --- RapidOCR ------------------------------------------------------------------------


def own_cpu(children: bool = False) -> float:
    t = os.times()
    return t.children_user + t.children_system if children else t.user + t.system


def rapidocr_reader() -> tuple[Callable[[Path], Read], float]:
    """A reader through the app's adapter, models loaded; returns (reader, load seconds)."""
    engine = make_engine("rapidocr")
    assert engine is not None

    def read(path: Path) -> Read:
        cpu, started = own_cpu(), time.perf_counter()
        with Image.open(path) as image:
            result = engine.read(image)
        lines = [(ln.text, ln.confidence) for ln in result.lines]
        return Read(lines, time.perf_counter() - started, own_cpu() - cpu)

    # Models load on the first read; keep that out of the per-page figures.
    started = time.perf_counter()
    engine.read(Image.new("RGB", (400, 300), "white"))
    return read, time.perf_counter() - started


# --- Tesseract ------------------------------------------------------------------------

GNU_TIME = "/usr/bin/time"
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# chi_sim reads the printed ¥ as "Y" (often "Y#") on every form; the extractor keys on ¥.
_YEN_AS_Y = re.compile(r"(?<![0-9A-Za-z])Y#?(?=\d)")


def normalise_line(text: str) -> str:
    """Undo Tesseract's systematic differences: spaces between CJK "words", ¥ read as Y."""
    return _YEN_AS_Y.sub("¥", _SPACE_BETWEEN_CJK.sub("", text))


def parse_tsv(tsv: str) -> tuple[Lines, Lines]:
    """TSV word rows grouped into lines: (normalised in reading order, raw in Tesseract's order)."""
    boxes: dict[tuple[str, ...], tuple[int, int, int, int]] = {}
    words: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12:
            continue
        level, key = cols[0], tuple(cols[1:5])  # page, block, paragraph, line
        if level == "4":
            left, top, width, height = map(int, cols[6:10])
            boxes[key] = (left, top, width, height)
        elif level == "5" and cols[11].strip() and float(cols[10]) >= 0:
            words.setdefault(key, []).append((cols[11].strip(), float(cols[10])))
    raw: Lines = []
    located: list[OcrLine] = []
    for key, ws in words.items():
        text = " ".join(w for w, _ in ws)
        conf = statistics.fmean(c for _, c in ws) / 100
        raw.append((text, conf))
        left, top, width, height = boxes[key]
        box = ((left, top), (left + width, top), (left + width, top + height), (left, top + height))
        located.append(OcrLine(text=normalise_line(text), confidence=conf, box=box))
    return [(ln.text, ln.confidence) for ln in _reading_order(located)], raw


class Tesseract:
    def __init__(self) -> None:
        self.peak_rss_kb = 0
        # A forked child's own ru_maxrss starts at the parent's peak (Linux carries it across
        # exec), so wait4 would report this Python process; GNU time measures tesseract alone.
        self.gnu_time = Path(GNU_TIME).exists()

    def run(self, path: Path, psm: int) -> tuple[str, float, float]:
        """Tesseract's TSV for ``path``, wall seconds and CPU seconds of the whole process."""
        cmd = [TESSERACT, str(path), "stdout", "-l", "chi_sim", "--psm", str(psm), "tsv"]
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
            if self.gnu_time:
                cmd = [GNU_TIME, "-f", "%M", "-o", rss.name, *cmd]
            cpu, started = own_cpu(children=True), time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, check=False)
            elapsed, cpu = time.perf_counter() - started, own_cpu(children=True) - cpu
            if proc.returncode:
                raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.decode(errors='replace')}")
            if self.gnu_time:
                self.peak_rss_kb = max(self.peak_rss_kb, int(rss.read().strip() or 0))
        return proc.stdout.decode("utf-8"), elapsed, cpu

    def read(self, path: Path, psm: int) -> Read:
        tsv, elapsed, cpu = self.run(path, psm)
        lines, raw = parse_tsv(tsv)
        return Read(lines, elapsed, cpu, raw_lines=raw)


def tesseract_version() -> str | None:
    if not Path(TESSERACT).exists():
        return None
    out = subprocess.run([TESSERACT, "--version"], capture_output=True, text=True, check=True)
    first = (out.stdout or out.stderr).splitlines()[0]
    # Debian's chi_sim is the small integer LSTM model from tessdata_fast.
    model = Path("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata")
    try:
        pkg = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "tesseract-ocr-chi-sim"],
                             capture_output=True, text=True, check=False).stdout.strip()
    except FileNotFoundError:
        pkg = ""
    size = f", {model.stat().st_size / 1e6:.1f} MB" if model.exists() else ""
    return f"{first}; chi_sim {pkg or 'model'}{size}"


# --- output --------------------------------------------------------------------------


class MachineCpu:
    """CPU that other processes took since the last lap: on a shared box it skews the timings."""

    def __init__(self) -> None:
        self.last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        with open("/proc/stat") as f:
            jiffies = [int(x) for x in f.readline().split()[1:]]
        busy = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")
        return busy, own_cpu() + own_cpu(children=True), time.perf_counter()

    def lap(self) -> str:
        now = self._now()
        others = max(0.0, (now[0] - self.last[0]) - (now[1] - self.last[1]))
        share = 100 * others / ((now[2] - self.last[2]) * (os.cpu_count() or 1))
        self.last = now
        return f"other processes took {share:.0f} % of the CPUs meanwhile"


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def print_table(t: Tally, peak_rss_mb: float | None, notes: Sequence[str]) -> None:
    print(f"\n{t.label}, {t.pages} pages")
    header = f"{'field':<20}{'extracted %':>12}{'wrong %':>9}{'any-text %':>12}"
    print(header)
    print("-" * len(header))
    for name in FIELDS:
        print(f"{name:<20}{t.pct(t.exact, name):>12.1f}{t.pct(t.wrong, name):>9.1f}"
              f"{t.pct(t.anywhere, name):>12.1f}")
    print(f"{'all fields':<20}{t.pct(t.exact):>12.1f}{t.pct(t.wrong):>9.1f}{t.pct(t.anywhere):>12.1f}")
    rss = f"{peak_rss_mb:.0f} MB" if peak_rss_mb is not None else "n/a"
    print(f"s/page mean {statistics.fmean(t.seconds):.2f}, p95 {p95(t.seconds):.2f}; "
          f"CPU s/page {statistics.fmean(t.cpu_seconds):.2f}; "
          f"mean line confidence {statistics.fmean(t.confidences or [0.0]):.3f}; peak RSS {rss}")
    for note in notes:
        print(f"  {note}")


def verdict(rapid: Tally, tess: Tally) -> str:
    gap = rapid.pct(rapid.exact) - tess.pct(tess.exact)
    better = f"{abs(gap):.1f} points better" if gap > 0 else (
        f"{abs(gap):.1f} points worse" if gap < 0 else "the same")

    def cpu(t: Tally) -> float:
        return statistics.fmean(t.cpu_seconds)

    return (f"Verdict: RapidOCR extracts {rapid.pct(rapid.exact):.1f} % of fields exactly vs "
            f"{tess.pct(tess.exact):.1f} % for the {tess.label} baseline ({better}), "
            f"taking {statistics.fmean(rapid.seconds):.2f} vs {statistics.fmean(tess.seconds):.2f} s "
            f"and {cpu(rapid):.2f} vs {cpu(tess):.2f} CPU s per page "
            f"({cpu(rapid) / cpu(tess):.1f}x the baseline's CPU).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=50, help="number of forms (default 50)")
    parser.add_argument("--seed", type=int, default=2026, help="RNG seed (default 2026)")
    parser.add_argument("--psm-trial", type=int, default=6,
                        help="forms on which Tesseract's --psm 3 and 6 are compared (default 6)")
    args = parser.parse_args(argv)
    run_started = time.perf_counter()

    print(f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"RapidOCR {version('rapidocr')}, onnxruntime {version('onnxruntime')}, "
          f"Pillow {version('pillow')}")
    tess_version = tesseract_version()
    if tess_version is None:
        print("tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    else:
        print(tess_version)

    with tempfile.TemporaryDirectory(prefix="ocr-engines-") as tmp:
        started = time.perf_counter()
        pages = make_pages(args.forms, args.seed, tmp)
        render_s = time.perf_counter() - started
        print(f"\n{args.forms} forms ({sum(p.kind == 'survey' for p in pages)} survey, "
              f"{sum(p.kind == 'iou' for p in pages)} IOU), seed {args.seed}: rendered at 12 MP, "
              f"sent as long edge {UPLOAD_EDGE} px JPEG q{round(UPLOAD_QUALITY * 100)} "
              f"(mean {statistics.fmean(p.nbytes for p in pages) / 1024:.0f} KB); "
              f"rendering took {render_s:.0f} s in {os.cpu_count()} processes.")

        # ru_maxrss is in KiB on Linux.
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        machine = MachineCpu()
        rapid_read, load_s = rapidocr_reader()
        rapid = Tally(f"RapidOCR {version('rapidocr')} via make_engine('rapidocr')")
        for n, page in enumerate(pages, 1):
            rapid.add(page, rapid_read(page.path))
            print(f"  rapidocr {n}/{len(pages)}", file=sys.stderr, flush=True)
        rapid_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print_table(rapid, rapid_rss, [
            f"model load + first read {load_s:.2f} s, not counted; peak RSS is the whole "
            f"Python process ({rss_before:.0f} MB before the engine loaded)",
            machine.lap(),
        ])

        tess_tally = None
        if tess_version is not None:
            tess = Tesseract()
            blank = Path(tmp) / "blank.png"
            Image.new("RGB", (400, 300), "white").save(blank)
            tess.run(blank, 3)  # warm the file cache for the model
            overhead = statistics.fmean(tess.run(blank, 3)[1] for _ in range(3))
            trial = pages[: args.psm_trial]
            tries = {psm: Tally(f"Tesseract --psm {psm}") for psm in PSM_CHOICES}
            for page in trial:
                for psm, t in tries.items():
                    t.add(page, tess.read(page.path, psm))
            print(f"\nTesseract page segmentation on the first {len(trial)} forms: " + "; ".join(
                f"--psm {psm} {t.pct(t.exact):.1f} % of fields extracted, "
                f"{statistics.fmean(t.seconds):.2f} s/page" for psm, t in tries.items()))
            psm = max(PSM_CHOICES, key=lambda p: (tries[p].pct(tries[p].exact), -p))
            print(f"Keeping --psm {psm} for all {len(pages)} forms.")
            tess_tally = tries[psm]
            tess_tally.label = f"Tesseract {tess_version.split(';')[0].split()[-1]} chi_sim --psm {psm}"
            for n, page in enumerate(pages[len(trial):], len(trial) + 1):
                tess_tally.add(page, tess.read(page.path, psm))
                print(f"  tesseract {n}/{len(pages)}", file=sys.stderr, flush=True)
            print_table(tess_tally, tess.peak_rss_kb / 1024 if tess.gnu_time else None, [
                f"without the bench's normalisation (CJK spaces, Y for ¥, reading order): "
                f"{tess_tally.pct(tess_tally.raw_exact):.1f} % of fields extracted",
                f"s/page includes {overhead:.2f} s of process start + model load per call",
                machine.lap(),
            ])

    print()
    if tess_tally is not None:
        print(verdict(rapid, tess_tally))
    else:
        print("Verdict: no Tesseract baseline in this run; RapidOCR extracted "
              f"{rapid.pct(rapid.exact):.1f} % of fields exactly.")
    print(f"Total run time {time.perf_counter() - run_started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
