"""Issue 12 item 11: the site has an icon, linked from every page and answered at /favicon.ico."""
from __future__ import annotations

import io
import re

from PIL import Image


def test_favicon_ico_is_served_to_anyone_cached_and_a_real_icon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200  # was a redirect to the login page (every route is closed unless open)
    assert r.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    assert "max-age=604800" in r.headers["Cache-Control"] and "no-store" not in r.headers["Cache-Control"]
    icon = Image.open(io.BytesIO(r.data))
    assert icon.format == "ICO" and (32, 32) in icon.info["sizes"]


def test_every_page_links_the_svg_and_ico_icons_and_they_load(client, auth, demo):
    for page in ("/login", "/"):
        if page == "/":
            auth.login("director1")
        html = client.get(page).get_data(as_text=True)
        links = dict((m.group(2), m.group(1)) for m in re.finditer(r'<link rel="icon" href="([^"]+)"[^>]*?(type="[^"]+"|sizes="[^"]+")', html))
        assert set(links) == {'sizes="32x32"', 'type="image/svg+xml"'}, links
        svg = client.get(links['type="image/svg+xml"'])
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
        assert client.get(links['sizes="32x32"']).status_code == 200
