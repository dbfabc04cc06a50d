"""A real TCP proxy in front of the test's S3 server that can break it on purpose.

Faults of the photo store are shown with the real store behind a real socket: the app's S3
client talks to ``proxy.url`` and the proxy forwards to SeaweedFS, except when told to

- ``down()``: drop every connection and every new one at once (the gateway gone; ``up()`` again);
- ``hold(rule)``: keep each request the rule matches unanswered (not forwarded) until ``release()``
  forwards them (or cuts them) — a store slower than any timeout, or a run stuck half way;
- ``drop(rule)``: cut the connection of each request the rule matches (e.g. only the writes of
  originals, while the staged chunks still go through).

A rule is called with (method, path) of each HTTP request; the proxy reads the request's header
and forwards exactly its ``Content-Length`` body, so it knows where each request starts on a
kept-alive connection. ``held`` is set while a request is being held, and ``matched`` counts the
requests a rule matched.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

Rule = Callable[[str, str], bool]

S3_ENDPOINT = os.environ.get("TEST_S3_ENDPOINT_URL", "")
needs_s3 = pytest.mark.skipif(
    not S3_ENDPOINT, reason="needs the test S3 server: TEST_S3_ENDPOINT_URL is unset (scripts/seaweedfs-test-server.sh "
                            "sets it; the MariaDB phase of `make test` always runs with it)")


def s3_config(database_url: str, tmp_path: Path, *, endpoint: str = "", readonly: bool = False,
              prefix: str = ""):
    """A TestConfig whose photos live in the test S3 server under a prefix of their own, reached at
    ``endpoint`` (a StoreProxy's url, or the server itself), failing fast: 1 s to connect, 2 s to
    read, 2 attempts. ``readonly``: the identity that may only read and list."""
    from app.config import TestConfig

    config = TestConfig(database_url, tmp_path / "photos")
    config.PHOTO_STORE = f"s3://{os.environ['TEST_S3_BUCKET']}/{prefix or 'faults-' + secrets.token_hex(6)}"
    config.S3_ENDPOINT_URL = endpoint or S3_ENDPOINT
    config.S3_ADDRESSING_STYLE = "path"
    kind = "READONLY_" if readonly else ""
    config.AWS_ACCESS_KEY_ID = os.environ[f"TEST_S3_{kind}ACCESS_KEY_ID"]
    config.AWS_SECRET_ACCESS_KEY = os.environ[f"TEST_S3_{kind}SECRET_ACCESS_KEY"]
    config.AWS_DEFAULT_REGION = "us-east-1"
    config.S3_CONNECT_TIMEOUT, config.S3_READ_TIMEOUT, config.S3_MAX_ATTEMPTS = 1, 2, 2
    return config


@contextlib.contextmanager
def app_behind(proxy: StoreProxy, database_url: str, tmp_path: Path):
    """An app whose photos are in the test S3 server reached through ``proxy``; its tables emptied
    afterwards, as tests/conftest.py's ``app`` fixture does."""
    from app import create_app
    from app.extensions import db
    from tests.conftest import _empty_all_tables

    app = create_app(s3_config(database_url, tmp_path, endpoint=proxy.url))
    try:
        yield app
    finally:
        proxy.release()
        proxy.drop(None)
        proxy.up()
        with app.app_context():
            db.session.remove()
            _empty_all_tables()
            db.engine.dispose()


# The fixtures of the store-fault tests, imported by name into their modules: a proxy in front of
# the test S3 server, and the test's ``app`` with its photos reached through it.
@pytest.fixture(name="proxy")
def proxy_fixture():
    with StoreProxy(S3_ENDPOINT) as proxy:
        yield proxy


@pytest.fixture(name="app")
def app_behind_proxy_fixture(migrated, tmp_path, proxy):
    """The app with its photos in SeaweedFS, reached through the proxy."""
    with app_behind(proxy, migrated, tmp_path) as app:
        yield app


class StoreProxy:
    def __init__(self, upstream: str) -> None:
        host_port = upstream.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.partition(":")
        self.upstream = (host, int(port or 80))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._down = False
        self._hold: Rule | None = None
        self._drop: Rule | None = None
        self._released = threading.Event()
        self._released.set()
        self._discard_held = False
        self.held = threading.Event()
        self.matched = 0
        self.latency = 0.0  # seconds added before each request is forwarded
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- what the test does --------------------------------------------------------------------

    def down(self) -> None:
        with self._lock:
            self._down = True
            for s in list(self._sockets):
                _close(s)

    def up(self) -> None:
        with self._lock:
            self._down = False

    def hold(self, rule: Rule = lambda method, path: True) -> None:
        self._discard_held = False
        self._released.clear()
        self.held.clear()
        self._hold = rule

    def release(self, *, forward: bool = True) -> None:
        """Let the held requests go on to the store, or (``forward=False``) cut them: a client that
        gave up must not see its request land later."""
        self._discard_held = not forward
        self._hold = None
        self._released.set()

    def drop(self, rule: Rule | None) -> None:
        self._drop = rule

    def close(self) -> None:
        self._closed = True
        self.release()
        _close(self._listener)
        with self._lock:
            for s in list(self._sockets):
                _close(s)

    def __enter__(self) -> StoreProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the proxy -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._down:
                    _close(client)
                    continue
                try:
                    server = socket.create_connection(self.upstream, timeout=10)
                except OSError:
                    _close(client)
                    continue
                server.settimeout(None)
                self._sockets.update((client, server))
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        """Client to server, one HTTP request at a time (header, then Content-Length bytes)."""
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = client.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = (lines[0].split(" ") + ["", ""])[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    raise RuntimeError("the store proxy forwards Content-Length bodies only")
                length = int(headers.get("content-length") or 0)
                if self._drop is not None and self._drop(method, path):
                    self.matched += 1
                    return  # the finally closes both sides: the store "went away" mid-request
                if self.latency:
                    time.sleep(self.latency)  # a store far away: every request waits this long
                hold = self._hold
                if hold is not None and hold(method, path):
                    self.matched += 1
                    self.held.set()
                    self._released.wait()
                    if self._closed or self._discard_held:
                        return
                server.sendall(head + b"\r\n\r\n")
                while length > 0:
                    if not buffer:
                        buffer = client.recv(min(65536, length))
                        if not buffer:
                            return
                    piece, buffer = buffer[:length], buffer[length:]
                    server.sendall(piece)
                    length -= len(piece)
        except OSError:
            return
        finally:
            self._forget(client, server)

    def _pipe(self, source: socket.socket, dest: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                dest.sendall(data)
        except OSError:
            pass
        finally:
            self._forget(source, dest)

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            for s in sockets:
                _close(s)
                self._sockets.discard(s)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
