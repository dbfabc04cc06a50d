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
