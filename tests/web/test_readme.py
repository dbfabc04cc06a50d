"""Issue 12 item 11: the README says how to choose the port and how to run the app's commands."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_says_port_and_venv_flask_and_the_makefile_honours_port():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=" in readme
    assert ".venv/bin/flask " in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PORT \?= \d+$", makefile, re.M) and "--bind 127.0.0.1:$(PORT)" in makefile


def test_every_flask_command_the_readme_names_exists(app):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = sorted({tuple(m.group(1).split()[:2]) for m in re.finditer(r"`(?:\.venv/bin/)?flask ([a-z][a-z-]*(?: [a-z][a-z-]*[a-z])?)", readme)})
    assert ("jobs", "daily") in commands
    runner = app.test_cli_runner()
    for words in commands:
        result = runner.invoke(args=[*words, "--help"])
        assert result.exit_code == 0, (words, result.output)
