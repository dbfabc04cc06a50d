"""``flask ocr extract IMAGE`` and ``flask ocr batch FOLDER``: try the OCR on real photos.

The output is JSON on stdout (JSONL for batch), so it can be piped into jq or a file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from PIL import Image, UnidentifiedImageError

from app.clock import business_today
from app.domain.documents import DocumentKind
from app.ocr.engines import OcrEngine, OcrUnavailable, make_engine
from app.ocr.fields import extract_fields

__all__ = ["IMAGE_SUFFIXES", "register"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
EXIT_UNUSABLE = 2


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    click.get_current_context().exit(EXIT_UNUSABLE)


def _engine(name: str | None) -> OcrEngine:
    name = name or current_app.config.get("OCR_ENGINE", "rapidocr")
    try:
        engine = make_engine(name, model_dir=current_app.config.get("OCR_MODEL_DIR"))
    except ValueError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits
    except OcrUnavailable as exc:
        _fail(f"OCR engine {name!r} is unavailable: {exc}")
        raise
    if engine is None:
        _fail("OCR is switched off (engine 'none'); choose one with --engine")
    assert engine is not None
    return engine


def _read_image(path: Path) -> Image.Image:
    """Fully decoded image; raises OSError/UnidentifiedImageError for anything unreadable."""
    with Image.open(path) as image:
        image.load()  # decode now, so a truncated file fails here and not inside the engine
        # A copy outlives the closed file; it keeps ``info`` and so the EXIF orientation.
        return image.copy()


def _result(engine: OcrEngine, image: Image.Image, kind: str | None = None) -> dict[str, Any]:
    result = engine.read(image)
    # ID numbers are checked against the business date (China Standard Time), not the host's.
    today = business_today()
    fields = extract_fields([(ln.text, ln.confidence) for ln in result.lines], today=today, kind=kind)
    return {
        "engine": result.engine,
        "seconds": result.seconds,
        "lines": [{"text": ln.text, "confidence": round(ln.confidence, 4)} for ln in result.lines],
        "fields": fields,
    }


def register(app: Flask) -> None:
    ocr = AppGroup("ocr", help="Read the paper forms' fields from photos (offline OCR).")
    kind_option = click.option(
        "--kind", type=click.Choice([k.value for k in DocumentKind]), default=None,
        help="What the photos show (id_card, iou, survey …): only that document's fields are "
             "extracted. Default: the generic name, ID number, amounts and date.")

    @ocr.command("extract")
    @click.argument("image", type=click.Path(path_type=Path))
    @click.option("--engine", "engine_name", default=None,
                  help="rapidocr, easyocr or none (default: OCR_ENGINE setting).")
    @kind_option
    def extract(image: Path, engine_name: str | None, kind: str | None) -> None:
        """OCR one IMAGE and print the lines and fields as JSON."""
        engine = _engine(engine_name)
        try:
            picture = _read_image(image)
        except (OSError, UnidentifiedImageError) as exc:
            _fail(f"cannot read image {image}: {exc}")
            return
        click.echo(json.dumps(_result(engine, picture, kind), ensure_ascii=False, indent=2))

    @ocr.command("batch")
    @click.argument("folder", type=click.Path(path_type=Path))
    @click.option("--engine", "engine_name", default=None,
                  help="rapidocr, easyocr or none (default: OCR_ENGINE setting).")
    @kind_option
    def batch(folder: Path, engine_name: str | None, kind: str | None) -> None:
        """OCR every image in FOLDER; one JSON object per line, unreadable files as "error".

        Exits with 1 when any image could not be read, so scripts notice.
        """
        if not folder.is_dir():
            _fail(f"{folder} is not a folder")
        engine = _engine(engine_name)
        failed = 0
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                record: dict[str, Any] = {"file": path.name, **_result(engine, _read_image(path), kind)}
            except (OSError, UnidentifiedImageError) as exc:
                record = {"file": path.name, "error": f"cannot read image: {exc}"}
                failed += 1
            click.echo(json.dumps(record, ensure_ascii=False))
        if failed:
            click.get_current_context().exit(1)

    app.cli.add_command(ocr)
