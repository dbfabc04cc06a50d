"""Template and response helpers for htmx: a full page normally, only the partial for an htmx request."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request


def wants_partial() -> bool:
    # Boosted links and history restores replace the whole body: they need the full page.
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Boosted") != "true"
        and h.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_partial(page: str, partial: str, **context):
    # The page includes the partial; htmx requests (search-as-you-type) get the partial alone.
    return render_template(partial if wants_partial() else page, **context)


def go_to(target: str):
    """After a POST that succeeded: htmx follows ``HX-Redirect`` (a 204, so nothing is swapped in);
    a plain form gets a 303."""
    if wants_partial():
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
