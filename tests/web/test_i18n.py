"""Every user-facing string is translatable and translated; placeholders survive translation."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app/translations/zh/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def test_every_extracted_string_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    extracted = {m.id for m in _catalog(pot) if m.id}
    assert len(extracted) > 100
    catalog = _catalog(PO)
    missing = []
    for msgid in extracted:
        message = catalog.get(msgid)
        text = message.string if message else ""
        if not (text[0] if isinstance(text, tuple) else text) or (message and message.fuzzy):
            missing.append(msgid)
    assert missing == [], "run `flask translate update` and translate these"


def test_translations_keep_every_placeholder():
    for message in _catalog(PO):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, (message.id, text)


# --- Chinese punctuation (issue 12 item 11) --------------------------------------------------------
# A label or heading in Chinese takes the full-width colon "：". The ASCII one crept in two ways: in a
# translation, and glued by a template after a translated word ("{{ _('Loan') }}: 冯十二").
ASCII_COLON_BY_CHINESE = re.compile(r"[^\x00-\x7f][^\S\n]?:|:[^\S\n]?[^\x00-\x7f]|[^\x00-\x7f]:$|:\s*$")
COLON_AFTER_TRANSLATION = re.compile(r"""\)\s*\}\}\s*:(?!//)|\{\{\s*heading\s*\}\}:|%\}\s*:\s*\{\{""")


def test_no_chinese_translation_uses_an_ascii_colon():
    offenders = []
    for message in _catalog(PO):
        if not message.id:
            continue
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            if ASCII_COLON_BY_CHINESE.search(text or ""):
                offenders.append((message.id, text))
    assert offenders == []


def test_no_template_glues_an_ascii_colon_after_a_translated_label():
    offenders = [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
                 for path in sorted((ROOT / "templates").rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if COLON_AFTER_TRANSLATION.search(line)]
    assert offenders == [], "put the colon inside the message, e.g. _('Loan: %(name)s', name=…)"


def test_the_pages_in_chinese_show_no_ascii_colon_beside_chinese_text(app, demo):
    from html import unescape

    from sqlalchemy import select

    from app.extensions import db
    from app.models import Application, Borrower, Loan, User
    from tests.conftest import Auth

    with app.app_context():
        def app_of(name):
            return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == name))

        loan = db.session.scalar(select(Loan.id))
        officer = db.session.scalar(select(User.id).where(User.username == "officer1"))
        product = db.session.scalar(select(Application.product_id).where(Application.id == app_of("王五")))
        pages = {
            "director1": ["/", "/tasks/", "/tasks/?status=done", f"/tasks/trail/{officer}", "/applications/",
                          f"/applications/{app_of('张三')}", "/borrowers/", f"/loans/{loan}", "/loans", "/calculator",
                          "/notifications"],
            "clerk1": ["/", f"/applications/{app_of('王五')}/entry"],
            "cashier1": [f"/loans/{loan}", f"/applications/{app_of('钱七')}"],
            "reviewer1": [f"/applications/{app_of('李四')}"],
            "admin": ["/admin/users", "/admin/devices", "/admin/products", f"/admin/products/{product}/rules",
                      f"/admin/products/{product}/post-loan", "/admin/users/new", f"/admin/users/{officer}",
                      f"/admin/users/{officer}/transfer", f"/admin/users/{officer}/portfolio"],
        }
    found = []
    for user, paths in pages.items():
        auth = Auth(app.test_client())
        auth.login(user)
        for path in paths:
            r = auth.client.get(path)
            assert r.status_code == 200, (user, path, r.status_code)
            html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", r.get_data(as_text=True))
            for line in unescape(re.sub(r"<[^>]+>", "\n", html)).splitlines():
                if ASCII_COLON_BY_CHINESE.search(line.strip()) and not re.fullmatch(r"[\d:\-\s]+", line.strip()):
                    found.append(f"{user} {path}: {line.strip()[:80]}")
    assert found == []
