"""The demo data set for the tests, loaded through the real workflow once per test process and
replayed into every later test's empty tables.

Loading the demo drives ten applications through the real services (audits, notifications, a
disbursement, photos drawn and stored): about a second or more of every test that asks for it, and
most tests do. The replay inserts the same rows the load wrote, with every moment (datetime value)
moved forward by the time since that load, so the data is as the load would have written it now,
and puts the same photo bytes into the test's own photo store (local folder or S3 prefix) through
its ``put_file``. A test therefore starts from exactly what a load at that moment writes, except
for the generated primary keys, which are the first load's (the ids the fixture returns are those).

A template is only used when a fresh load would write the same thing: same configuration (apart
from the test's own paths and store prefix), same business day, the real clock (a test that
patches ``clock.now`` gets a real load), and empty tables before it (anything written before the
demo gets a real load after it).
"""
from __future__ import annotations

import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from app import clock
from app.extensions import db

# Configuration that is the test's own (its folders, its store prefix, its database) and does not
# change what the demo load writes.
_OWN_KEYS = {"PHOTO_DIR", "PHOTO_SCRATCH_DIR", "ANDROID_DIR", "PHOTO_STORE", "SQLALCHEMY_DATABASE_URI",
             "SQLALCHEMY_ENGINE_OPTIONS"}
_REAL_NOW = clock.now
_ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")


@dataclass
class _Template:
    loaded_at: datetime
    business_day: date
    rows: list  # [(Table, [row mapping, ...])] in the order the tables are created
    photos: dict[str, bytes]  # sha256 -> bytes of every photo the load stored
    users: dict[str, int]


_templates: dict[tuple, _Template] = {}


def _key(app, history: bool) -> tuple:
    config = tuple(sorted((k, repr(v)) for k, v in app.config.items() if k not in _OWN_KEYS))
    return (history, os.environ.get("TEST_PHOTO_STORE", "local"), config)


def _tables_empty() -> bool:
    with db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        anything = " OR ".join(f"EXISTS (SELECT 1 FROM {quote(t.name)})" for t in db.metadata.sorted_tables)
        return not conn.execute(text(f"SELECT {anything}")).scalar()


def load(app, history: bool) -> dict[str, int]:
    """The demo in this test's database and photo store; returns the demo users' ids by username."""
    from app.services import demo as demo_service
    from app.storage import make_store

    with app.app_context():
        store = make_store(app.config)
        replayable = clock.now is _REAL_NOW and _tables_empty()
        key = _key(app, history)
        template = _templates.get(key) if replayable else None
        if template is not None and template.business_day == clock.business_today():
            _replay(template, store)
            return dict(template.users)
        loaded_at = clock.now()
        users = demo_service.load(app.config["PASSWORD_HASH_METHOD"], store, history=history)
        ids = {name: user.id for name, user in users.items()}
        if replayable and clock.business_today(loaded_at) == clock.business_today():
            _templates[key] = _capture(loaded_at, store, ids)
        return ids


def _capture(loaded_at: datetime, store, users: dict[str, int]) -> _Template:
    db.session.remove()
    rows = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            # Generated columns (computed by the database) are written by it again.
            written = [c for c in table.columns if c.computed is None]
            found = [dict(r) for r in conn.execute(select(*written).order_by(*order)).mappings()]
            if found:
                rows.append((table, found))
        photos = {sha: None for (sha,) in conn.execute(
            text("SELECT DISTINCT sha256 FROM photos WHERE received_at IS NOT NULL"))}
    for sha in photos:
        with store.open(sha) as f:
            photos[sha] = f.read()
    return _Template(loaded_at, clock.business_today(loaded_at), rows, photos, users)


def _shifted(value, shift: timedelta):
    """``value`` with every moment in it ``shift`` later: datetimes, and ISO 8601 moments inside JSON."""
    if isinstance(value, datetime):
        return value + shift
    if isinstance(value, dict):
        return {k: _shifted(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, shift) for v in value]
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        return (datetime.fromisoformat(value) + shift).isoformat()
    return value


def _replay(template: _Template, store) -> None:
    shift = clock.now() - template.loaded_at
    with db.engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        else:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))
        for table, rows in template.rows:
            conn.execute(table.insert(), [{k: _shifted(v, shift) for k, v in row.items()} for row in rows])
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    if hasattr(store, "object_path"):
        # The local store: the file where put_file puts it, without its fsyncs (what a test reads
        # is the same; durability across a power cut is not what the demo data is for).
        for sha, data in template.photos.items():
            path = store.object_path(sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return

    def put(item):
        sha, data = item
        with tempfile.NamedTemporaryFile(dir=store.uploads_dir, delete=False) as f:
            f.write(data)
        store.put_file(sha, Path(f.name))

    # An object store: its requests wait on the network, a few at a time.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, template.photos.items()))
