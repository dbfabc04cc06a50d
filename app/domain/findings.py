"""Data-entry findings: where what the clerk keyed in from the documents differs from what the loan
officer captured or from what OCR read on the application's photos.

The clerk keys the amount (figures and capitals), the name, the ID number and the IOU date from the
photographed documents on an empty form; ``compare`` then sets them beside the other two readings.
A difference is a finding the reviewer sees (or, when the loan type says so, a reason to refuse
completion). Values are compared as what they mean, not as text: 18,000 and 18000.00 agree, so do
壹万捌仟元整 and 18000; a name is compared without spaces, in NFC.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from app.domain import idcard
from app.domain.money import AmountError, from_capitals, parse_amount

__all__ = ["COMPARED", "Finding", "OcrReading", "compare"]

# The fields the clerk must read off the documents, compared after completion.
COMPARED = ("name", "id_number", "amount", "amount_in_capitals", "signed_on")


@dataclass(frozen=True)
class OcrReading:
    """What one OCR run proposed for the form's fields, and which image it read."""

    source: str  # e.g. "借款借据 (1)" or a screenshot's label
    proposals: Mapping[str, Mapping[str, object]]  # field -> {"value", "confidence"}


@dataclass(frozen=True)
class Finding:
    field: str
    source: str  # "capture" or "ocr"
    keyed: str
    other: str
    where: str = ""  # for OCR: the image it read
    confidence: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _meaning(field: str, value: str) -> object:
    """The comparable meaning of a value, or its cleaned text when it does not parse."""
    text = "".join(unicodedata.normalize("NFC", value).split())
    try:
        if field == "name":
            return text
        if field == "id_number":
            return idcard.normalise(text).upper()
        if field == "amount":
            return parse_amount(text)
        if field == "amount_in_capitals":
            return from_capitals(text)
        if field == "signed_on":
            return date.fromisoformat(text)
    except (AmountError, ValueError, ArithmeticError):
        pass
    return text


def _agree(field: str, keyed: str, other: str) -> bool:
    a, b = _meaning(field, keyed), _meaning(field, other)
    if isinstance(a, Decimal) != isinstance(b, Decimal):
        return False
    return a == b


def compare(
    keyed: Mapping[str, str],
    capture: Mapping[str, str],
    readings: Iterable[OcrReading] = (),
) -> list[Finding]:
    """Every difference between the keyed values and the capture, then each OCR reading.

    Only fields both sides have are compared: an empty keyed field or a field the other side did not
    read is no finding. The capture has no capitals of its own: the keyed capitals are compared
    with the captured amount.
    """
    found: list[Finding] = []
    for field in COMPARED:
        mine = str(keyed.get(field) or "").strip()
        if not mine:
            continue
        theirs = str(capture.get("amount" if field == "amount_in_capitals" else field) or "").strip()
        if theirs:
            same = (_meaning("amount_in_capitals", mine) == _meaning("amount", theirs)
                    if field == "amount_in_capitals" else _agree(field, mine, theirs))
            if not same:
                found.append(Finding(field, "capture", mine, theirs))
    for reading in readings:
        for field in COMPARED:
            mine = str(keyed.get(field) or "").strip()
            proposal = reading.proposals.get(field)
            if not mine or not proposal or not str(proposal.get("value") or "").strip():
                continue
            theirs = str(proposal["value"]).strip()
            if not _agree(field, mine, theirs):
                confidence = proposal.get("confidence")
                found.append(Finding(field, "ocr", mine, theirs, reading.source,
                                     float(confidence) if isinstance(confidence, (int, float)) else None))
    return found
