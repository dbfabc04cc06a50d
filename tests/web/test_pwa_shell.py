"""The service worker precaches every script the officer's app needs, so it runs with no signal.

The capture screens are native ES modules: a module the worker does not hold fails to load offline,
and with it every module that imports it. This walks what /m/ loads and what each module imports."""
from __future__ import annotations

import posixpath
import re

from app.config import PROJECT_ROOT

# ``import … from "./x.js"`` and ``import "./x.js"`` (a classic script imported for its side effect).
IMPORT = re.compile(r'^\s*import\s+(?:[^;"]*?\sfrom\s+)?"(\.\.?/[\w./-]+\.js)"', re.MULTILINE)


def _shell(client) -> list[str]:
    source = client.get("/sw.js").get_data(as_text=True)
    block = re.search(r"const SHELL = \[(.*?)\];", source, re.DOTALL).group(1)
    return re.findall(r'"([^"]+)"', block)


def _module_graph(entry: str) -> set[str]:
    """URLs of ``entry`` and every module it imports, transitively (relative imports)."""
    seen, todo = set(), [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        text = (PROJECT_ROOT / url.lstrip("/")).read_text(encoding="utf-8")
        folder = url.rsplit("/", 1)[0]
        todo.extend(posixpath.normpath(f"{folder}/{name}") for name in IMPORT.findall(text))
    return seen


def test_every_script_and_module_of_the_phone_app_is_precached(client):
    page = client.get("/m/").get_data(as_text=True)
    scripts = [src.split("?")[0] for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)]
    modules = [src.split("?")[0] for src in re.findall(r'<script type="module" src="([^"]+)"', page)]
    assert modules == ["/static/js/phone/main.js"]
    needed = set(scripts) | set().union(*(_module_graph(m) for m in modules))
    assert len(needed) > 15 and "/static/js/sync/core.js" in needed
    shell = _shell(client)
    assert not needed - set(shell), "not precached: " + ", ".join(sorted(needed - set(shell)))
    # Nothing listed is missing on the server either (the install would fail and keep the old version).
    for url in shell:
        assert client.get(url).status_code == 200, url


def test_the_old_single_script_is_gone(client):
    assert not (PROJECT_ROOT / "static/js/officer.js").exists()
    assert "officer.js" not in client.get("/sw.js").get_data(as_text=True)
    assert "officer.js" not in client.get("/m/").get_data(as_text=True)


def test_the_worker_runs_the_same_sync_engine_and_holds_what_it_imports(client):
    """The queue drains with the app closed (issue 15): sw.js imports the page's sync engine (one
    implementation) and the classic scripts it needs; every one of them is precached and served."""
    graph = _module_graph("/sw.js") - {"/sw.js"}
    assert {"/static/js/sync/index.js", "/static/js/sync/core.js", "/static/js/sync/applications.js",
            "/static/js/sync/visits.js", "/static/js/sync/trail.js", "/static/js/sync/http.js",
            "/static/js/store.js", "/static/js/bridge.js", "/static/vendor/tus-js-client-4.3.1/tus.min.js"} <= graph
    shell = _shell(client)
    assert not graph - set(shell), "not precached: " + ", ".join(sorted(graph - set(shell)))
    # The worker is registered as a module worker wherever it is registered (one type, or the
    # pages would replace each other's worker).
    for script in ("static/js/phone/main.js", "static/js/app.js"):
        text = (PROJECT_ROOT / script).read_text(encoding="utf-8")
        assert re.search(r'register\("/sw\.js", \{ type: "module", scope: "/" \}\)', text), script
