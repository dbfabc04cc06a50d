"""OCR engine adapters: one small interface over RapidOCR (default) and EasyOCR (optional).

Both run fully offline: RapidOCR's Chinese PP-OCR models ship inside its wheel, and EasyOCR is
only used when its weights were installed beforehand (it is never allowed to download).
"""
from __future__ import annotations

import importlib.util
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps

from app.domain.i18n import N_

__all__ = [
    "ENGINE_NAMES",
    "MAX_LONG_EDGE",
    "EASYOCR_WEIGHTS",
    "EasyOcrEngine",
    "OcrEngine",
    "OcrLine",
    "OcrResult",
    "OcrUnavailable",
    "RapidOcrEngine",
    "TUNED_PARAMS",
    "make_engine",
    "prepare_image",
]

ENGINE_NAMES: tuple[str, ...] = ("rapidocr", "easyocr", "none")
# RapidOCR shrinks to 2000 px itself; doing it first saves the memory of a 12 MP RGB array.
MAX_LONG_EDGE = 2000
EASYOCR_WEIGHTS: tuple[str, ...] = ("craft_mlt_25k.pth", "zh_sim_g2.pth")

Box = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class OcrLine:
    """One recognised text line; ``box`` is its polygon in the prepared image's pixels."""

    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class OcrResult:
    engine: str
    seconds: float
    lines: tuple[OcrLine, ...]


class OcrUnavailable(RuntimeError):
    """The configured engine cannot run here; ``message`` is an untranslated N_ string."""

    def __init__(self, message: str, params: Mapping[str, object] | None = None) -> None:
        self.message: str = message
        self.params: dict[str, object] = dict(params or {})
        super().__init__(message % self.params if self.params else message)


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> OcrResult: ...


def prepare_image(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied), RGB, long edge at most MAX_LONG_EDGE."""
    # Phones store portrait shots as landscape pixels plus an orientation tag.
    image = ImageOps.exif_transpose(image) or image
    if image.mode != "RGB":
        image = image.convert("RGB")
    long_edge = max(image.size)
    if long_edge > MAX_LONG_EDGE:
        scale = MAX_LONG_EDGE / long_edge
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def _reading_order(lines: list[OcrLine]) -> tuple[OcrLine, ...]:
    """Sort top to bottom, then left to right within a visual row.

    A plain sort on the top y would interleave a table's label and value cells whenever
    their boxes start a pixel or two apart, so lines whose vertical centres are within
    half a line height of each other count as one row. A photo taken a few degrees askew
    lifts a row's right end: a value cell far right of its label would sort above it, so
    the coordinates are first turned back by the text's own slant (the median angle of the
    lines' top edges).
    """
    if not lines:
        return ()
    slants = sorted(
        math.atan2(ln.box[1][1] - ln.box[0][1], ln.box[1][0] - ln.box[0][0])
        for ln in lines
        if len(ln.box) >= 2 and ln.box[1][0] - ln.box[0][0] > 0
    )
    angle = slants[len(slants) // 2] if slants else 0.0
    if abs(angle) > math.radians(20):  # not a slant but a turned photo: leave it to the engine
        angle = 0.0
    cos, sin = math.cos(angle), math.sin(angle)

    def level(point: tuple[float, float]) -> tuple[float, float]:
        x, y = point
        return x * cos + y * sin, -x * sin + y * cos

    def top(line: OcrLine) -> float:
        return min(level(p)[1] for p in line.box)

    def bottom(line: OcrLine) -> float:
        return max(level(p)[1] for p in line.box)

    def left(line: OcrLine) -> float:
        return min(level(p)[0] for p in line.box)

    heights = sorted(bottom(ln) - top(ln) for ln in lines)
    tolerance = max(1.0, heights[len(heights) // 2] / 2)
    by_centre = sorted(lines, key=lambda ln: ((top(ln) + bottom(ln)) / 2, left(ln)))
    rows: list[list[OcrLine]] = []
    row_centre = 0.0
    for line in by_centre:
        centre = (top(line) + bottom(line)) / 2
        if rows and centre - row_centre <= tolerance:
            rows[-1].append(line)
        else:
            rows.append([line])
            row_centre = centre
    return tuple(line for row in rows for line in sorted(row, key=left))


def _box(points: Any) -> Box:
    return tuple((float(x), float(y)) for x, y in points)


# --- RapidOCR ---------------------------------------------------------------------

# RapidOCR's settings for our photos, chosen by measuring (bench/ocr_engines.py, figures in
# docs/MEASUREMENTS.md) on officers' photos, not assumed:
# - detection on the photo shrunk so its long side is 736 px ("max" limit) instead of the
#   library's "min 736", which keeps a 1600x1200 photo at full size: the detector's cost grows
#   with the pixels, and our smallest print (9-10.5 pt, the sheet filling 70-85 % of the frame)
#   is still found; recognition still reads each line from the full-resolution photo, so it
#   loses nothing (measured: 960 px read the same fields, 736 px one name more, both faster);
# - no direction classifier: photos arrive upright (EXIF applied, the clerk turns a region in
#   quarter turns before OCR), and a 180-degree line is not something officers send;
# - onnxruntime with one intra-op pool of 2 threads (the machine's cores), no inter-op pool.
TUNED_PARAMS: dict[str, Any] = {
    "Det.limit_type": "max",
    "Det.limit_side_len": 736,
    "Global.use_cls": False,
    # One line per recognition run: a batch pads every line to the widest one's width.
    "Rec.rec_batch_num": 1,
    "EngineConfig.onnxruntime.intra_op_num_threads": 2,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}

_rapid_lock = threading.Lock()
_rapid_instances: dict[tuple[tuple[str, Any], ...], Any] = {}


def _rapidocr(params: Mapping[str, Any]) -> Any:
    """The process-wide RapidOCR object for ``params``: building one loads its ONNX models (1-2 s)."""
    key = tuple(sorted(params.items()))
    with _rapid_lock:
        instance = _rapid_instances.get(key)
        if instance is None:
            from rapidocr import RapidOCR

            # Its INFO lines (one per model file) would drown a CLI's stderr.
            instance = RapidOCR(params={"Global.log_level": "warning", **params})
            _rapid_instances[key] = instance
        return instance


class RapidOcrEngine:
    """RapidOCR with ``params`` (RapidOCR's dotted config keys); default: ``TUNED_PARAMS``.

    ``RapidOcrEngine(params={})`` is the library's own defaults, the benchmark's baseline.
    """

    name = "rapidocr"

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = dict(TUNED_PARAMS if params is None else params)

    def read(self, image: Image.Image) -> OcrResult:
        prepared = prepare_image(image)
        ocr = _rapidocr(self.params)
        started = time.perf_counter()
        output = ocr(np.asarray(prepared))
        seconds = time.perf_counter() - started
        lines: list[OcrLine] = []
        # boxes/txts/scores are None when the image holds no text.
        if output.boxes is not None and output.txts is not None:
            for points, text, score in zip(output.boxes, output.txts, output.scores or (), strict=False):
                if text.strip():
                    lines.append(OcrLine(text=text, confidence=float(score), box=_box(points)))
        return OcrResult(engine=self.name, seconds=round(seconds, 3), lines=_reading_order(lines))


# --- EasyOCR ------------------------------------------------------------------------

_easy_lock = threading.Lock()
_easy_readers: dict[str, Any] = {}


def _easyocr_installed() -> bool:
    return importlib.util.find_spec("easyocr") is not None


class EasyOcrEngine:
    name = "easyocr"

    def __init__(self, model_dir: str | None) -> None:
        if not _easyocr_installed():
            raise OcrUnavailable(N_("EasyOCR is not installed"))
        if not model_dir or not all((Path(model_dir) / f).is_file() for f in EASYOCR_WEIGHTS):
            raise OcrUnavailable(
                N_("EasyOCR weights are not installed at %(path)s"), {"path": model_dir}
            )
        self.model_dir = model_dir

    def _reader(self) -> Any:
        with _easy_lock:
            reader = _easy_readers.get(self.model_dir)
            if reader is None:
                import easyocr  # type: ignore[import-not-found]

                reader = easyocr.Reader(
                    ["ch_sim", "en"],
                    model_storage_directory=self.model_dir,
                    download_enabled=False,  # weights were checked above; never fetch
                    gpu=False,
                )
                _easy_readers[self.model_dir] = reader
            return reader

    def read(self, image: Image.Image) -> OcrResult:
        prepared = prepare_image(image)
        reader = self._reader()
        started = time.perf_counter()
        raw = reader.readtext(np.asarray(prepared))  # [(points, text, confidence), ...]
        seconds = time.perf_counter() - started
        lines = [
            OcrLine(text=text, confidence=float(conf), box=_box(points))
            for points, text, conf in raw
            if text.strip()
        ]
        return OcrResult(engine=self.name, seconds=round(seconds, 3), lines=_reading_order(lines))


# --- factory ------------------------------------------------------------------------


def make_engine(name: str = "rapidocr", *, model_dir: str | None = None) -> OcrEngine | None:
    """The engine called ``name``; None for "none" (OCR switched off).

    Raises ValueError for an unknown name and OcrUnavailable when the engine cannot run here.
    Cheap: the models are loaded on the first ``read``.
    """
    key = (name or "rapidocr").strip().lower()
    if key == "none":
        return None
    if key == "rapidocr":
        if importlib.util.find_spec("rapidocr") is None:
            raise OcrUnavailable(N_("RapidOCR is not installed"))
        return RapidOcrEngine()
    if key == "easyocr":
        return EasyOcrEngine(model_dir)
    raise ValueError(f"unknown OCR engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
