"""What each photographed document is, and which facts OCR may propose from it.

A photo belongs to a collection item of its product (采集项目: 借款调查表, 借款借据, 身份证正面 …).
The item says what the paper is, and the paper says which fields can be read off it: an ID
card has no IOU date, a house photo has no amount. Both are data here, in one place, so that
neither the OCR extractor nor the entry screen guesses a document from its text.

To give a new collection item OCR proposals, add its code (or its exact name) to
``ITEM_KINDS``. An item that is not listed is ``OTHER``: its photos are still read and their
lines shown, but nothing is proposed.
"""
from __future__ import annotations

from enum import Enum

__all__ = [
    "DocumentKind",
    "ITEM_KINDS",
    "IDENTITY_DOCUMENTS",
    "OCR_FIELDS",
    "kind_of_item",
    "may_propose",
]


class DocumentKind(str, Enum):
    ID_CARD = "id_card"  # front of the resident ID card (居民身份证, the side with the holder's data)
    ID_CARD_BACK = "id_card_back"  # the issuing authority and validity: nothing the entry needs
    IOU = "iou"  # 借款借据, the loan note the borrower signs
    SURVEY = "survey"  # 借款调查表, the officer's application survey form
    OTHER = "other"  # house photos and anything else: read, never proposed from


# Collection item code or name -> the document it is. Codes first (they do not change when an
# item is renamed); names as the seed and the paper forms spell them.
ITEM_KINDS: dict[str, DocumentKind] = {
    "id_front": DocumentKind.ID_CARD,
    "身份证正面": DocumentKind.ID_CARD,
    "身份证": DocumentKind.ID_CARD,
    "id_back": DocumentKind.ID_CARD_BACK,
    "身份证反面": DocumentKind.ID_CARD_BACK,
    "iou": DocumentKind.IOU,
    "借款借据": DocumentKind.IOU,
    "借据": DocumentKind.IOU,
    "survey": DocumentKind.SURVEY,
    "借款调查表": DocumentKind.SURVEY,
    "house": DocumentKind.OTHER,
    "房屋照片": DocumentKind.OTHER,
}

# Photos of these are identity documents: each view of one is recorded as an ID-card view.
IDENTITY_DOCUMENTS = frozenset({DocumentKind.ID_CARD, DocumentKind.ID_CARD_BACK})

# The facts OCR may propose from each document (keys of app.ocr.fields.extract_fields).
# "date" is the IOU's date: only the IOU carries it (the survey form's date is the day it was
# filled in, the card's dates are the birth date and its validity).
OCR_FIELDS: dict[DocumentKind, tuple[str, ...]] = {
    DocumentKind.ID_CARD: ("name", "sex", "birth_date", "address", "id_number"),
    DocumentKind.ID_CARD_BACK: (),
    # The IOU prints the borrower's ID number too; the amount is the one lent.
    DocumentKind.IOU: ("name", "id_number", "amount", "amount_in_capitals", "date"),
    # The survey's amount is the amount asked for, not the one on the IOU the form keys in.
    DocumentKind.SURVEY: ("name", "id_number"),
    DocumentKind.OTHER: (),
}


def kind_of_item(code: str | None, name: str | None = None) -> DocumentKind:
    """The document a collection item holds; ``OTHER`` when neither its code nor name is known."""
    for key in (code, name):
        if key:
            kind = ITEM_KINDS.get(key.strip())
            if kind is not None:
                return kind
    return DocumentKind.OTHER


def may_propose(kind: DocumentKind | None, field: str) -> bool:
    """Whether OCR may propose ``field`` from a document of ``kind`` (None: not known, anything)."""
    return kind is None or field in OCR_FIELDS[kind]
