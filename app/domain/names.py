"""People's names: one rule for the web forms, the phone and the import.

``normalise_name(text)`` returns the name as it should be stored and the problems with it
(``N_`` messages with parameters); an empty list means the name is acceptable.

Normalisation (always applied, so a stored name never carries hidden characters):

- Unicode NFC, so the same name typed on two keyboards is stored as the same characters;
- control characters, bidirectional marks and overrides (U+200E/F, U+202A–202E, U+2066–2069,
  U+061C), zero-width characters and any other format, private-use or unassigned code point are
  removed — and reported, because a name that needed them is not what the ID card says;
- the look-alikes of the middle dot of minority names (・ ‧ • ･ ． and the like) become U+00B7 ·;
- spaces (any kind, full-width included) are trimmed and runs of them become one space.

Acceptable: 2 to ``MAX_LENGTH`` characters of letters — Chinese characters, or Latin letters for
foreign names — with the middle dot between parts (阿卜杜拉·买买提), and for Latin names spaces,
hyphens, apostrophes and full stops; combining accents only on a letter. Not digits, not
symbols, not only marks or dots.
"""
from __future__ import annotations

import re
import unicodedata

from app.domain.i18n import N_

MAX_LENGTH = 50
MIN_LENGTH = 2
MIDDLE_DOT = "\u00b7"
# What people and input methods type for the middle dot of 阿卜杜拉·买买提.
DOT_LOOKALIKES = "\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u16eb\u2e31\u00b7\uff0e\u318d"
LATIN_PUNCTUATION = " -'.\u2019"
_SPACES = re.compile(r"\s+")

Problem = tuple[str, dict[str, object]]


def _hidden(ch: str) -> bool:
    """Control, format (bidi marks and overrides, zero-width), private-use, surrogate, unassigned."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn")


def normalise_name(text: str, *, max_length: int = MAX_LENGTH) -> tuple[str, list[Problem]]:
    problems: list[Problem] = []
    value = unicodedata.normalize("NFC", text)
    if any(_hidden(ch) and not ch.isspace() for ch in value):
        problems.append((N_("The name contains invisible or control characters; type it again."), {}))
    value = "".join(" " if ch.isspace() else ch for ch in value if ch.isspace() or not _hidden(ch))
    value = "".join(MIDDLE_DOT if ch in DOT_LOOKALIKES else ch for ch in value)
    value = _SPACES.sub(" ", value).strip()
    # Spaces around the dot are typing, not part of the name.
    value = value.replace(" " + MIDDLE_DOT, MIDDLE_DOT).replace(MIDDLE_DOT + " ", MIDDLE_DOT)
    value = unicodedata.normalize("NFC", value)
    if not value:
        return value, problems or [(N_("Enter the name."), {})]

    letters = [ch for ch in value if unicodedata.category(ch).startswith("L")]
    if not letters:
        problems.append((N_("A name must contain letters."), {}))
        return value, problems
    bad = sorted({ch for ch in value if not _allowed(ch)})
    if bad:
        problems.append((N_("A name may hold only letters, the middle dot (·), spaces and hyphens; not %(chars)s."),
                         {"chars": " ".join(bad[:5])}))
    if any(unicodedata.category(ch).startswith("M") and (i == 0 or not _letter_or_mark(value[i - 1]))
           for i, ch in enumerate(value)):
        problems.append((N_("An accent or mark must follow a letter."), {}))
    if value[0] == MIDDLE_DOT or value[-1] == MIDDLE_DOT or MIDDLE_DOT * 2 in value:
        problems.append((N_("The middle dot (·) goes only between the parts of a name."), {}))
    length = sum(1 for ch in value if not unicodedata.category(ch).startswith("M"))
    if length < MIN_LENGTH:
        problems.append((N_("A name has at least %(min)s characters."), {"min": MIN_LENGTH}))
    elif length > max_length:
        problems.append((N_("A name has at most %(limit)s characters."), {"limit": max_length}))
    return value, problems


def _letter_or_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


def _allowed(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category[0] in "LM" or ch == MIDDLE_DOT:
        return True
    return ch in LATIN_PUNCTUATION


def check_name(text: str, *, max_length: int = MAX_LENGTH) -> tuple[str, Problem | None]:
    """(normalised name, the first problem or None): for forms that show one message per field."""
    value, problems = normalise_name(text, max_length=max_length)
    return value, problems[0] if problems else None
