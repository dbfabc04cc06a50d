"""OCR on photos as officers take them: accuracy per field and time, tuned engine vs its baseline.

Run from the repository root:

    .venv/bin/python bench/ocr_engines.py [--photos N] [--seed S] [--try KEY=VALUE,...] [--tesseract]

It makes N photos (tests/support/form_images.py ``officer_photo``: a third each of resident ID
card fronts, IOUs 借款借据 and survey forms 借款调查表), hand-held — turned up to 6 degrees, a
perspective slant, defocus, light falling off to one side with a shadow band, sensor noise —
rendered at 2400 px, shrunk to the 1600 px the phone app uploads and JPEG-encoded at quality
70-85. The images live only in a temporary directory.

Every page is read, in the same run and interleaved page by page (so a busy moment of the
shared machine hits all alike; the order alternates), by:

- ``baseline``: RapidOCR through the app's adapter with the library's own settings
  (``RapidOcrEngine(params={})``, what the app ran before tuning);
- ``tuned``: the adapter as the app runs it (``make_engine("rapidocr")``, ``TUNED_PARAMS``);
- each ``--try`` set: the tuned settings with these RapidOCR keys changed, e.g.
  ``--try Det.limit_side_len=1280`` (repeatable), to measure an idea before adopting it;
- with ``--tesseract``, Tesseract 5 + Debian's chi_sim as an outside baseline (slow).

Each reading goes through ``extract_fields(lines, kind=…)`` with the page's document kind,
as the app does. Per field (the fields that document holds, app.domain.documents.OCR_FIELDS):
"extracted" = share of the pages holding the field whose extracted value equals the truth;
"wrong" = a different value was extracted (worse than none: it would be proposed). "Foreign"
counts fields proposed that the document cannot hold (must be 0). Time per page is the wall
clock from the JPEG file to the lines (decode, prepare, OCR), as median and p95, and CPU
seconds; the tuned/baseline ratio of medians is the figure to trust on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import random
import re
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
from typing import Any

# Run as a plain script from the repo root: make app, tests.support and bench importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from app.domain.documents import OCR_FIELDS, DocumentKind  # noqa: E402
from app.domain.money import from_capitals  # noqa: E402
from app.ocr.engines import TUNED_PARAMS, OcrLine, RapidOcrEngine, _reading_order, make_engine  # noqa: E402
from app.ocr.fields import extract_fields  # noqa: E402
from tests.support.form_images import FormFields, id_card_address, officer_photo, random_fields  # noqa: E402

KINDS: tuple[str, ...] = ("id_card", "iou", "survey")
ALL_FIELDS: tuple[str, ...] = ("name", "sex", "birth_date", "address", "id_number", "amount",
                               "amount_in_capitals", "date")
TODAY = date(2027, 1, 1)  # after every date random_fields can produce
TESSERACT = shutil.which("tesseract") or "/usr/bin/tesseract"
PSM = 3

Lines = list[tuple[str, float]]


@dataclass(frozen=True)
class Read:
    lines: Lines
    seconds: float  # wall clock, JPEG file in, lines out
    cpu_seconds: float  # CPU of all threads/processes doing the OCR


@dataclass(frozen=True)
class Page:
    kind: str
    fields: FormFields
    path: Path
    nbytes: int


@dataclass
class Tally:
    label: str
    exact: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_FIELDS, 0))
    wrong: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_FIELDS, 0))
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_FIELDS, 0))
    foreign: int = 0
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    def add(self, page: Page, read: Read) -> None:
        kind = DocumentKind(page.kind)
        want = truth(page)
        got = extract_fields(read.lines, today=TODAY, kind=kind)
        for name in OCR_FIELDS[kind]:
            value = got.get(name, {}).get("value")
            self.held[name] += 1
            self.exact[name] += value == want[name]
            self.wrong[name] += value is not None and value != want[name]
        # A field proposed that the document cannot hold (the app's rule: must stay 0).
        self.foreign += len(set(got) - set(OCR_FIELDS[kind]))
        self.seconds.append(read.seconds)
        self.cpu_seconds.append(read.cpu_seconds)

    def pct(self, counts: dict[str, int], name: str | None = None) -> float:
        if name:
            return 100.0 * counts[name] / (self.held[name] or 1)
        return 100.0 * sum(counts.values()) / (sum(self.held.values()) or 1)


def truth(page: Page) -> dict[str, str]:
    """The ground truth in extract_fields' value format."""
    f = page.fields
    amount = f"{f.amount:.2f}"
    number = f.id_number
    return {
        "name": f.name,
        "sex": "男" if int(number[16]) % 2 else "女",
        "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
        "address": id_card_address(f),
        "id_number": number,
        "amount": amount,
        "amount_in_capitals": f"{from_capitals(f.amount_in_capitals):.2f}",
        "date": f.date.isoformat(),
    }


# --- the images ----------------------------------------------------------------------


def make_page(job: tuple[int, int, str]) -> Page:
    seed, i, outdir = job
    rng = random.Random(f"{seed}/{i}")  # one RNG per page: independent of the worker
    kind = KINDS[i % len(KINDS)]
    fields = random_fields(rng)
    data = officer_photo(fields, kind, rng)
    path = Path(outdir) / f"photo{i:03d}-{kind}.jpg"
    path.write_bytes(data)
    return Page(kind, fields, path, len(data))


def make_pages(n: int, seed: int, outdir: str) -> list[Page]:
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        return list(pool.imap(make_page, [(seed, i, outdir) for i in range(n)]))


# --- readers ---------------------------------------------------------------------------


def own_cpu(children: bool = False) -> float:
    t = os.times()
    return t.children_user + t.children_system if children else t.user + t.system


def adapter_reader(engine: Any) -> Callable[[Path], Read]:
    def read(path: Path) -> Read:
        cpu, started = own_cpu(), time.perf_counter()
        with Image.open(path) as image:
            result = engine.read(image)
        lines = [(ln.text, ln.confidence) for ln in result.lines]
        return Read(lines, time.perf_counter() - started, own_cpu() - cpu)

    engine.read(Image.new("RGB", (400, 300), "white"))  # models load on the first read: not timed
    return read


def parse_try(text: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in text.split(","):
        key, _, raw = part.partition("=")
        low = raw.strip().lower()
        value: Any = {"true": True, "false": False}.get(low, raw.strip())
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        params[key.strip()] = value
    return params


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
        return Read(lines, elapsed, cpu)


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


def print_tables(tallies: Sequence[Tally]) -> None:
    labels = "".join(f"{t.label[:22]:>24}" for t in tallies)
    print(f"\n{'extracted % (wrong %)':<22}{labels}")
    for name in ALL_FIELDS:
        row = "".join(f"{t.pct(t.exact, name):>15.1f} ({t.pct(t.wrong, name):>4.1f})" for t in tallies)
        print(f"{name:<22}{row}")
    print(f"{'all fields':<22}" + "".join(f"{t.pct(t.exact):>15.1f} ({t.pct(t.wrong):>4.1f})" for t in tallies))
    print(f"{'foreign proposals':<22}" + "".join(f"{t.foreign:>24}" for t in tallies))
    print(f"{'s/page median':<22}" + "".join(f"{statistics.median(t.seconds):>24.2f}" for t in tallies))
    print(f"{'s/page p95':<22}" + "".join(f"{p95(t.seconds):>24.2f}" for t in tallies))
    print(f"{'CPU s/page mean':<22}" + "".join(f"{statistics.fmean(t.cpu_seconds):>24.2f}" for t in tallies))
    base = statistics.median(tallies[0].seconds)
    print(f"{'median / baseline':<22}" + "".join(f"{statistics.median(t.seconds) / base:>24.2f}" for t in tallies))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30, help="number of photos (default 30, a third of each kind)")
    parser.add_argument("--seed", type=int, default=2026, help="RNG seed (default 2026)")
    parser.add_argument("--try", dest="tries", action="append", default=[],
                        help="RapidOCR keys to change on top of the tuned settings, e.g. Det.limit_side_len=1280")
    parser.add_argument("--tesseract", action="store_true", help="also read with Tesseract 5 chi_sim")
    args = parser.parse_args(argv)
    run_started = time.perf_counter()
    print(f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"RapidOCR {version('rapidocr')}, onnxruntime {version('onnxruntime')}, Pillow {version('pillow')}")
    print(f"tuned settings: {TUNED_PARAMS}")

    with tempfile.TemporaryDirectory(prefix="ocr-engines-") as tmp:
        started = time.perf_counter()
        pages = make_pages(args.photos, args.seed, tmp)
        print(f"\n{len(pages)} officer photos ({', '.join(f'{sum(p.kind == k for p in pages)} {k}' for k in KINDS)}), "
              f"seed {args.seed}: 1600 px, JPEG q70-85, mean {statistics.fmean(p.nbytes for p in pages) / 1024:.0f} KB; "
              f"rendered in {time.perf_counter() - started:.0f} s.")

        tuned = make_engine("rapidocr")
        readers: list[tuple[Tally, Callable[[Path], Read]]] = [
            (Tally("baseline (defaults)"), adapter_reader(RapidOcrEngine(params={}))),
            (Tally("tuned (the app)"), adapter_reader(tuned)),
        ]
        for text in args.tries:
            readers.append((Tally(f"tuned+{text}"), adapter_reader(RapidOcrEngine({**TUNED_PARAMS, **parse_try(text)}))))
        if args.tesseract and Path(TESSERACT).exists():
            tess = Tesseract()
            readers.append((Tally(f"Tesseract chi_sim psm{PSM}"), lambda path: tess.read(path, PSM)))
        machine = MachineCpu()
        for n, page in enumerate(pages):
            order = readers if n % 2 == 0 else readers[::-1]
            for tally, read in order:
                tally.add(page, read(page.path))
            print(f"  page {n + 1}/{len(pages)}", file=sys.stderr, flush=True)
        tallies = [t for t, _ in readers]
        print_tables(tallies)
        print(machine.lap())

    base, tuned_t = tallies[0], tallies[1]
    ratio = statistics.median(tuned_t.seconds) / statistics.median(base.seconds)
    print(f"\nVerdict: tuned median {statistics.median(tuned_t.seconds):.2f} s per 1600 px photo = "
          f"{ratio:.2f} x the baseline's {statistics.median(base.seconds):.2f} s in the same run; "
          f"fields extracted {tuned_t.pct(tuned_t.exact):.1f} % vs {base.pct(base.exact):.1f} %, "
          f"wrong {tuned_t.pct(tuned_t.wrong):.1f} % vs {base.pct(base.wrong):.1f} %, "
          f"foreign proposals {tuned_t.foreign} vs {base.foreign}.")
    print(f"Total run time {time.perf_counter() - run_started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
