"""The one shape of a refusal a service raises: what went wrong, in words a person can act on.

``ServiceError(code, message, *, fields=None, **params)``:

- ``code``: a stable word (``"task_closed"``, ``"offset_mismatch"``…) that the phone, the tests and
  the edges act on;
- ``message``: an English source string marked ``N_()`` with ``%(name)s`` parameters ``params``,
  translated at the edge (``app.http_edge.translate_message``), never here;
- ``fields``: a form or JSON field → ``(N_ message, params)``, for refusals of several inputs at once.

Services know no HTTP: the phone's API maps codes to statuses in one table (``app/api/errors.py``)
and the staff's pages flash the message in one handler (``app/web/errors.py``). A view keeps its
own ``except`` only where it does something else than tell (re-render a form with the typing).
"""
from __future__ import annotations

from collections.abc import Mapping

Fields = Mapping[str, tuple[str, Mapping[str, object]]]


class ServiceError(Exception):
    """A refusal: ``code``, N_ ``message`` with ``params``, and per-field messages ``fields``."""

    def __init__(self, code: str, message: str, *, fields: Fields | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.params: dict[str, object] = params
        self.fields: dict[str, tuple[str, Mapping[str, object]]] = dict(fields or {})

    def __str__(self) -> str:
        try:
            return f"{self.code}: {self.message % self.params if self.params else self.message}"
        except (KeyError, TypeError, ValueError):
            return f"{self.code}: {self.message}"


class NotFound(ServiceError):
    """What does not exist, or lies outside what the user may reach: the same answer for both."""

    def __init__(self, *what: object) -> None:
        super().__init__("not_found", NOT_FOUND)
        self.what = what


# Marked for translation where it is used (app/web/errors.py); kept as the one wording.
NOT_FOUND = "This record does not exist or is outside what you may see."
