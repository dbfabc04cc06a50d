"""What the admin's editors of a product's versioned definitions (the household survey,
app/web/surveys.py; the scorecard, app/web/scorecards.py) read alike from their forms: how many
rows of a kind the form holds, the version it was loaded on, and the button pressed."""
from __future__ import annotations

from flask import request


def count(value: str | None, cap: int) -> int:
    """A row count from a hidden field, 0 to ``cap``; 0 for anything not a number (a tampered form)."""
    try:
        return max(0, min(int(value or "0"), cap))
    except ValueError:
        return 0


def base_version() -> int | None:
    """The version the editor was loaded on (a later one published meanwhile is a conflict)."""
    return count(request.form.get("base_version"), 10**9) or None


def action() -> str:
    """The button pressed: "publish" (also Enter in a field), or a row added or removed."""
    return request.form.get("action", "publish")
