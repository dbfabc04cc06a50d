"""The SIM identities of the protocol's example replies (android_wrapper/protocol/examples/
reply-identity-*.json), as the page sends them to the server: the compact JSON of PROTOCOL.md
("What the page sends to the server"), the enrolment body's ``sim`` and the ``X-Device-Sim`` header.
The server tests, the web tests and the browser tests build their SIMs from these files only."""
from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "android_wrapper" / "protocol" / "examples"
COMPACT_KEYS = ("v", "present", "imsi", "serial", "subscription_id", "operator", "installation_id")


def identity(name: str) -> dict:
    """The ``result`` of reply-identity-<name>.json (full, other-sim, restricted, no-sim)."""
    return json.loads((EXAMPLES / f"reply-identity-{name}.json").read_text(encoding="utf-8"))["result"]


def compact(name: str) -> dict:
    """The compact SIM object built from an identity result, exactly as PROTOCOL.md says."""
    result = identity(name)
    sim = result["sim"]
    return {"v": 1, "present": sim["present"], "imsi": sim["imsi"], "serial": sim["serial"],
            "subscription_id": sim["subscription_id"], "operator": sim["operator"],
            "installation_id": result["installation_id"]}


def header(name: str) -> str:
    """The ``X-Device-Sim`` header: the compact JSON, ASCII, no spaces."""
    return json.dumps(compact(name), separators=(",", ":"), ensure_ascii=True)


NAMES = ("full", "other-sim", "restricted", "no-sim")
