"""Telling officers' phones apart: the model a browser's user agent names, in a few words.

Android browsers and WebViews write ``(Linux; Android 13; 2201123C Build/TKQ1.221114.001; wv)``;
Chrome's reduced user agent replaces the model by ``K`` — then only the Android version is known.
iPhones say ``(iPhone; CPU iPhone OS 17_1 like Mac OS X)``. Anything else is named by its system.
"""
from __future__ import annotations

import re

__all__ = ["model_from_user_agent"]

_ANDROID = re.compile(r"\(Linux;(?: U;)? Android ([\d.]+)(?:;[^;)]*?)*?(?:; ([^;)]+?))?(?: Build/[^;)]*)?(?:; wv)?\)")
_IOS = re.compile(r"\((iPhone|iPad)(?:;[^)]*? OS ([\d_]+))?")
_UNKNOWN_MODELS = {"", "k", "wv", "mobile", "u"}
MAX_LENGTH = 100


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable()).strip()


def model_from_user_agent(user_agent: str) -> str:
    """e.g. "2201123C · Android 13", "Android 10", "iPhone · iOS 17.1", "Windows", or ""."""
    ua = _clean(user_agent or "")
    m = _ANDROID.search(ua)
    if m:
        version, model = m.group(1), _clean(m.group(2) or "")
        if model.lower() in _UNKNOWN_MODELS or model.lower().startswith("android"):
            return f"Android {version}"[:MAX_LENGTH]
        return f"{model} · Android {version}"[:MAX_LENGTH]
    m = _IOS.search(ua)
    if m:
        return (f"{m.group(1)} · iOS {m.group(2).replace('_', '.')}" if m.group(2) else m.group(1))[:MAX_LENGTH]
    for marker, name in (("Windows", "Windows"), ("Macintosh", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux")):
        if marker in ua:
            return name
    return ""
