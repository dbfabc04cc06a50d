"""Translation marker for user-facing strings produced by the domain layer.

The domain must not depend on Flask-Babel, so messages are only *marked* here
(for extraction with ``pybabel extract -k N_``) and translated later by the web
layer with gettext. Keep messages as %-format strings with named parameters so
translators can reorder them.
"""

from __future__ import annotations

__all__ = ["N_"]


def N_(s: str) -> str:
    """Mark ``s`` for translation without translating it (no-op)."""
    return s
