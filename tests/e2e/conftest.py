"""Real Chromium (Debian's package) driven by Playwright against a live server in this process."""
from __future__ import annotations

import os
import threading
import time

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/lib/chromium/chromium"  # skips the /usr/bin wrapper's shell warning
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 360, "height": 740}
GPS = {"latitude": 30.6612, "longitude": 104.0932, "accuracy": 12}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Every page of every context reports a CSP violation to the console (the browser's own message
# says what was refused; this one adds where and what).
REPORT_CSP = """document.addEventListener('securitypolicyviolation', (e) => console.error(
  'CSP violation: ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' in ' + e.sourceFile
  + ':' + e.lineNumber + (e.sample ? ' sample: ' + e.sample : '')), true);"""


def _is_csp_report(message) -> bool:
    return message.type == "error" and ("CSP violation" in message.text or "Content Security Policy" in message.text)


@pytest.fixture(autouse=True)
def csp_violations(request, monkeypatch):
    """Runs every browser test with the app's Content-Security-Policy in force (no context bypasses
    it) and fails the test at teardown if any page reported a violation. A test that provokes one
    on purpose is marked ``csp_violation_expected``."""
    from playwright.sync_api import Browser

    found: list[str] = []
    new_context = Browser.new_context

    def watched_context(self, *args, **kwargs):
        assert not kwargs.get("bypass_csp"), "browser tests run with the app's CSP in force"
        context = new_context(self, *args, **kwargs)
        context.add_init_script(REPORT_CSP)
        context.on("console", lambda m: found.append(f"{m.page.url if m.page else '(worker)'}: {m.text}")
                   if _is_csp_report(m) else None)
        return context

    monkeypatch.setattr(Browser, "new_context", watched_context)
    yield found
    if found and not request.node.get_closest_marker("csp_violation_expected"):
        pytest.fail("the page reported Content-Security-Policy violations:\n" + "\n".join(found), pytrace=False)


def wait_for_state(page, expression: str, timeout: float = 30.0, poll: float = 0.05):
    """Wait until a JavaScript expression (or ``() => …`` function; a Promise is awaited) is truthy
    in the page, and return its value.

    Playwright's wait_for_function compiles its predicate with ``new Function`` in the page, which the
    app's CSP forbids; ``page.evaluate`` goes through the DevTools protocol and is not subject to it.
    A navigation in between (the page reloads itself) is waited out; any other script error is
    raised at once. ``timeout`` is in seconds."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        try:
            value = page.evaluate(expression)
        except Exception as error:  # the page navigated while evaluating: try again in the new one
            if not any(text in str(error) for text in ("Execution context was destroyed", "navigation")):
                raise
            value = f"(navigating: {str(error).splitlines()[0]})"
        else:
            if value:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {expression!r}; last value: {value!r}")
        page.wait_for_timeout(poll * 1000)


@pytest.fixture()
def live_server(app, demo):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture()
def phone(browser):
    """A phone-sized browser context (360 px wide, touch, service workers allowed)."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow")
    yield context
    context.close()


@pytest.fixture()
def officer_phone(browser):
    """The officer's phone: touch, service workers, and a GPS fix near the office."""
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow",
        permissions=["geolocation"], geolocation=GPS,
    )
    yield context
    context.close()


@pytest.fixture()
def desktop(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, service_workers="allow")
    yield context
    context.close()


# True while the page is no wider than the screen (nothing to scroll sideways).
FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"


def screenshot(page, name: str) -> None:
    """A full-page picture into $SCREENSHOT_DIR, when it is set (to look at a screen by eye)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)
        # The full-page capture leaves an empty style="" on inputs; htmx's settle of a boosted
        # page would then copy it onto the new page's element of the same id (#menu-toggle),
        # which the CSP refuses (style-src-attr) — a violation of the picture's making, not the app's.
        page.evaluate("document.querySelectorAll('[style=\"\"]').forEach((e) => e.removeAttribute('style'))")


def login(page, base: str, username: str, password: str = "demo1234") -> None:
    # Rarely (about 1 run in 30, under load) Chromium never finishes the navigation after the
    # login POST while the service worker installs on the login page; one fresh try settles it.
    # The click must not wait for that navigation itself (Playwright's default: a click that starts
    # a navigation waits up to 30 s for it to commit, and then fails outside this retry); the state
    # awaited is the home page's URL, below.
    for attempt in range(2):
        page.goto(f"{base}/login")
        if page.url.rstrip("/") == base:
            return  # already logged in by the first attempt
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit].primary", no_wait_after=True)
        try:
            page.wait_for_url(f"{base}/", wait_until="domcontentloaded", timeout=15000)
            # DOMContentLoaded may come before the stylesheet is applied (always possible with
            # scripts off): a test that measures the page right after login measures it laid out.
            page.wait_for_load_state("load", timeout=15000)
            return
        except Exception:
            if attempt:
                raise


def ensure_controlled(page) -> None:
    """Wait until the service worker controls this page.

    A page whose navigation started while the worker was still activating stays uncontrolled
    (clients.claim() only claims pages that already existed); one reload settles it.
    """
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
    wait_for_state(page, "navigator.serviceWorker.controller !== null")
