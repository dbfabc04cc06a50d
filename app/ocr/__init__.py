"""OCR for HQ data entry: engine adapters (``engines``) and field extraction (``fields``).

Nothing here imports Flask; ``cli`` is the only module that does.
"""
from __future__ import annotations

from app.ocr.engines import OcrEngine, OcrLine, OcrResult, OcrUnavailable, make_engine

__all__ = ["OcrEngine", "OcrLine", "OcrResult", "OcrUnavailable", "make_engine"]
