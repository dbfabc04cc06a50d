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


# --- the one version rule (issue 15): the web client and the Android app ---------------------------

CLIENT_OUTDATED = "client_outdated"  # the page's own code is too old: the service worker updates
APP_OUTDATED = "app_outdated"        # the Android app is too old: it installs the published APK

# The Android app appends " DaidaitongAndroid/<versionCode>" to its WebView's user agent
# (android_wrapper/PROTOCOL.md); a plain browser has no such mark.
_APP_MARK = re.compile(r"(?:^|\s)DaidaitongAndroid/([1-9]\d{0,9})(?=\s|$)", re.ASCII)
MAX_VERSION_CODE = 2_100_000_000  # Android's versionCode is a positive 32-bit int


def loose(text: str) -> tuple[int, ...]:
    """The client's version as sent (X-Client-Version), compared as numbers; (0,) when unreadable,
    so a missing or garbled version counts as the oldest."""
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


def app_code_of(user_agent: str) -> int | None:
    """The Android app's versionCode from its user agent; None for a plain browser (or a mark that
    is not a plain positive number)."""
    match = _APP_MARK.search(user_agent or "")
    if match is None:
        return None
    code = int(match[1])
    return code if code <= MAX_VERSION_CODE else None


def outdated(client_version: str, app_code: int | None, min_client: str, min_app: int | None) -> str | None:
    """Which update a phone must make before it may sync, or None.

    The Android app first (``APP_OUTDATED``): below the published minimum it installs the new APK,
    which brings its own page. Then the page (``CLIENT_OUTDATED``) against the minimum web-client
    version. No app mark (a plain browser) or no published minimum: only the page is checked."""
    if app_code is not None and min_app is not None and app_code < min_app:
        return APP_OUTDATED
    if loose(client_version) < loose(min_client):
        return CLIENT_OUTDATED
    return None


def check_app_minimum(code: int, *, latest: int | None) -> tuple[str, dict] | None:
    """Why ``code`` cannot be the minimum Android app version (an N_ message and its parameters), or
    None. A minimum needs a published app at or above it, or no phone could update to it."""
    if latest is None:
        return N_("No app version is published yet: publish one first (flask android publish)."), {}
    if code < 0:
        return N_("The minimum version code cannot be negative."), {}
    if code > latest:
        return (N_("The minimum version code cannot be above the latest published app (%(latest)s): no phone "
                   "could update to it."), {"latest": latest})
    return None
