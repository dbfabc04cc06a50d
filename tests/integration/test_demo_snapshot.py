"""The tests' demo fixture replays a first load (tests/support/demo_snapshot.py): what it replays must be
what a load through the real workflow writes at that moment, in the database and in the photo store."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from app import clock, create_app
from app import config
from app.extensions import db
from app.models import Application
from app.services import demo as demo_service
from app.storage import make_store
from tests.conftest import _empty_all_tables
from tests.support import demo_snapshot

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
# Differ between any two loads: generated keys, random UUIDs and salts, and the moments.
VARYING = {"id", "uuid", "password_hash"}


def _masked(value):
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str) and ISO.fullmatch(value):
        return "(moment)"
    if isinstance(value, datetime):
        return "(moment)"
    return value


def _contents(app):
    """Every table's rows (keys and moments masked; ids in JSON too on MariaDB, whose keys go on
    counting) and the photos the store holds; the newest moment in applications."""
    with app.app_context():
        db.session.remove()
        tables = {}
        with db.engine.connect() as conn:
            mysql = conn.dialect.name == "mysql"
            for table in db.metadata.sorted_tables:
                rows = [{k: ("(key)" if k in VARYING or k.endswith("_id") or (mysql and isinstance(v, (dict, list)))
                             else re.sub(r"/\d+", "/(key)", v) if mysql and isinstance(v, str)  # links
                             else _masked(v)) for k, v in r.items()} for r in conn.execute(table.select()).mappings()]
                tables[table.name] = sorted(repr(sorted(r.items())) for r in rows)
            shas = [s for (s,) in conn.execute(text("SELECT DISTINCT sha256 FROM photos WHERE received_at IS NOT NULL"))]
            newest = conn.execute(select(func.max(Application.created_at))).scalar()
        store = make_store(app.config)
        photos = {}
        for sha in sorted(shas):
            with store.open(sha) as f:
                photos[sha] = f.read()
        return tables, photos, newest


def _fresh_app(migrated, folder):
    return create_app(config.TestConfig(migrated, folder / "photos"))


def _empty(app):
    with app.app_context():
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def test_a_replayed_demo_is_what_a_real_load_writes(migrated, tmp_path):
    real = _fresh_app(migrated, tmp_path / "real")
    with real.app_context():
        demo_service.load(real.config["PASSWORD_HASH_METHOD"], make_store(real.config), history=False)
    expected_tables, expected_photos, _ = _contents(real)
    _empty(real)

    demo_snapshot._templates.clear()
    first = _fresh_app(migrated, tmp_path / "first")
    ids = demo_snapshot.load(first, history=False)  # a real load, kept as the template
    _empty(first)
    # As if that load had been two hours ago (the replay moves every moment to its own time).
    for template in demo_snapshot._templates.values():
        template.loaded_at -= timedelta(hours=2)
        template.rows = [(table, [{k: (v - timedelta(hours=2) if isinstance(v, datetime) else v) for k, v in row.items()}
                                  for row in rows]) for table, rows in template.rows]
    replayed = _fresh_app(migrated, tmp_path / "replayed")
    before = clock.now()
    assert demo_snapshot.load(replayed, history=False) == ids
    tables, photos, newest = _contents(replayed)
    try:
        assert tables == expected_tables
        assert photos == expected_photos and len(photos) > 10
        # Moments moved to the replay's time: the newest application is a day old now, as a load now writes it.
        newest = newest.replace(tzinfo=None) if newest.tzinfo else newest
        assert abs(newest - (before.replace(tzinfo=None) - timedelta(days=1))) < timedelta(seconds=30)
    finally:
        _empty(replayed)
