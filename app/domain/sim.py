"""The SIM card a phone is bound to: the compact identity the page sends, read strictly, and the
fingerprint the server keeps of it (never the IMSI itself).

The Android app's bridge reports the SIM (android_wrapper/PROTOCOL.md, "What the page sends to the
server"); the page sends it as ``sim`` in the enrolment body and as the ``X-Device-Sim`` header of
every /api/v1 call, the compact ASCII JSON
``{"v":1,"present":…,"imsi":…,"serial":…,"subscription_id":…,"operator":…,"installation_id":…}``.

The fingerprint is an HMAC-SHA256 of the canonical key under a server secret: the IMSI space is
small (a few hundred million numbers per operator), so a plain hash in a leaked database would be
reversed by trying them all; without the key it cannot be. The canonical key is the most stable
identity Android gave: the IMSI, else the SIM serial (ICCID), else the subscription slot and
operator (Android 10 and later refuse IMSI and serial to ordinary apps), else ``absent``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from app.domain.i18n import N_

__all__ = ["SimError", "SimIdentity", "parse", "parse_header", "canonical_key", "fingerprint", "label",
           "MAX_HEADER_BYTES", "ABSENT_LABEL", "UNREADABLE_LABEL"]

MAX_HEADER_BYTES = 512
KEYS = frozenset({"v", "present", "imsi", "serial", "subscription_id", "operator", "installation_id"})
_IMSI = re.compile(r"\d{5,15}")       # MCC + MNC + MSIN, at most 15 digits
_SERIAL = re.compile(r"\d{10,22}")    # the ICCID, 19-20 digits on Chinese SIMs
_OPERATOR = re.compile(r"\d{5,6}")    # MCC (3) + MNC (2-3)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
MAX_SUBSCRIPTION_ID = 2**31 - 1

# What a label says when there is no SIM to name; the pages show these in words (translated).
ABSENT_LABEL = "absent"
UNREADABLE_LABEL = "unreadable"

# Mainland China's operators by MCC+MNC, to name a SIM on the admin's page.
OPERATORS = {
    "46000": "中国移动", "46002": "中国移动", "46004": "中国移动", "46007": "中国移动", "46008": "中国移动",
    "46001": "中国联通", "46006": "中国联通", "46009": "中国联通",
    "46003": "中国电信", "46005": "中国电信", "46011": "中国电信",
    "46015": "中国广电",
}

INVALID = N_("The phone's SIM card information could not be read. Update the app and try again.")
# A SIM is in the phone but Android gave nothing that tells it from another (READ_PHONE_STATE denied).
UNIDENTIFIED = N_("The app may not read the SIM card. Allow it the phone permission (电话) in the system"
                  " settings, then try again.")


class SimError(ValueError):
    """The SIM identity is not in the protocol's shape; ``message`` is N_-marked."""

    def __init__(self, message: str = INVALID, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail  # for the log: which part was wrong
        self.params: dict[str, object] = {}


@dataclass(frozen=True)
class SimIdentity:
    present: bool
    imsi: str | None
    serial: str | None
    subscription_id: int | None
    operator: str | None
    installation_id: str


def _digits(data: dict, key: str, pattern: re.Pattern[str]) -> str | None:
    value = data[key]
    if value is None:
        return None
    if not isinstance(value, str) or not value.isascii() or not pattern.fullmatch(value):
        raise SimError(detail=f"{key}: not {pattern.pattern}")
    return value


def parse(data: object) -> SimIdentity:
    """The compact identity object, checked strictly: exactly the protocol's keys, ``v`` 1, digits
    where digits belong, a UUID installation id; a SIM that is present names itself by at least one
    of IMSI, serial or subscription id, an absent one by none. Raises SimError."""
    if not isinstance(data, dict):
        raise SimError(detail="not an object")
    if set(data) != KEYS:
        raise SimError(detail=f"keys: {sorted(map(str, data))}")
    if type(data["v"]) is not int or data["v"] != 1:
        raise SimError(detail="v: not 1")
    present = data["present"]
    if not isinstance(present, bool):
        raise SimError(detail="present: not a boolean")
    imsi = _digits(data, "imsi", _IMSI)
    serial = _digits(data, "serial", _SERIAL)
    operator = _digits(data, "operator", _OPERATOR)
    sub = data["subscription_id"]
    if sub is not None and (type(sub) is not int or not 0 <= sub <= MAX_SUBSCRIPTION_ID):
        raise SimError(detail="subscription_id: not a small non-negative integer")
    installation_id = data["installation_id"]
    if not isinstance(installation_id, str) or not _UUID.fullmatch(installation_id):
        raise SimError(detail="installation_id: not a UUID")
    installation_id = installation_id.lower()
    if present and imsi is None and serial is None and sub is None:
        raise SimError(UNIDENTIFIED, detail="a present SIM without imsi, serial or subscription_id")
    if not present and (imsi, serial, sub, operator) != (None, None, None, None):
        raise SimError(detail="an absent SIM with SIM fields")
    return SimIdentity(present, imsi, serial, sub, operator, installation_id)


def parse_header(raw: str | bytes) -> SimIdentity:
    """The ``X-Device-Sim`` header (or the enrolment body's ``sim``, serialised): ASCII JSON of at
    most MAX_HEADER_BYTES, one object, no duplicate keys, no NaN. Raises SimError."""
    if isinstance(raw, str):
        if not raw.isascii():
            raise SimError(detail="not ASCII")
        raw = raw.encode("ascii")
    if len(raw) > MAX_HEADER_BYTES:
        raise SimError(detail="too long")
    if not raw.isascii():
        raise SimError(detail="not ASCII")

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict:
        keys = [k for k, _v in pairs]
        if len(set(keys)) != len(keys):
            raise SimError(detail="duplicate keys")
        return dict(pairs)

    def no_constant(name: str) -> object:
        raise SimError(detail=f"{name} is not JSON")

    try:
        data = json.loads(raw.decode("ascii"), object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except (ValueError, RecursionError) as e:
        if isinstance(e, SimError):
            raise
        raise SimError(detail="not JSON") from None
    return parse(data)


def canonical_key(sim: SimIdentity) -> str:
    """What the fingerprint is taken of: the IMSI, else the SIM serial, else the subscription and
    operator, else ``absent`` (no SIM in the phone). Prefixed, so an IMSI never equals a serial."""
    if not sim.present:
        return "absent"
    if sim.imsi is not None:
        return f"imsi:{sim.imsi}"
    if sim.serial is not None:
        return f"serial:{sim.serial}"
    return f"sub:{sim.subscription_id}:{sim.operator or ''}"


def fingerprint(sim: SimIdentity, key: bytes) -> str:
    """HMAC-SHA256 (hex, 64 characters) of the canonical key under the server's secret ``key``."""
    if not key:
        raise ValueError("a fingerprint needs a secret key")
    return hmac.new(key, canonical_key(sim).encode("ascii"), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Two fingerprints compared in constant time."""
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def label(sim: SimIdentity) -> str:
    """A SIM in words safe to show (never the IMSI): the operator's name (or code) and the last four
    digits of the serial, else the subscription slot (``SIM 2``); ABSENT_LABEL for no SIM."""
    if not sim.present:
        return ABSENT_LABEL
    parts = []
    if sim.operator is not None:
        parts.append(OPERATORS.get(sim.operator, sim.operator))
    if sim.serial is not None:
        parts.append(f"…{sim.serial[-4:]}")
    elif sim.subscription_id is not None:
        parts.append(f"SIM {sim.subscription_id}")
    return " ".join(parts) or "SIM"
