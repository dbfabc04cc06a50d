"""Version strings of the phone app ("0.3.0"): read strictly, compared as numbers."""
from __future__ import annotations

import re

from app.domain.i18n import N_

_VERSION = re.compile(r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$", re.ASCII)


def parse(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "0.3.0"; None for anything else ("0.3", "v0.3.0", "0.3.0-beta", "")."""
    match = _VERSION.match(text.strip())
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def check_minimum(text: str, *, current: str) -> tuple[str, dict] | None:
    """Why ``text`` cannot be the minimum phone-app version (an N_ message and its parameters), or
    None. It must be a version like 0.3.0 and not above the app the server ships (``current``): a
    minimum above it would lock every phone out, with no update to install."""
    version = parse(text)
    if version is None:
        return N_("Enter a version as three numbers separated by dots, such as %(example)s."), {"example": current}
    ceiling = parse(current)
    if ceiling is not None and version > ceiling:
        return (N_("The minimum version cannot be above the current app version %(current)s: no phone could "
                   "update to it."), {"current": current})
    return None
