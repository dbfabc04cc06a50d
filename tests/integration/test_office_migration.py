"""Migration 0011 gives existing offices a sensible kind: the head office (is_hq) becomes
"head_office", every other office "office"; none is closed; and it goes down again."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app import config
from app.extensions import db


def test_existing_offices_get_their_kind(tmp_path):
    app = create_app(config.TestConfig(f"sqlite:///{tmp_path / 'm.sqlite3'}", tmp_path / "photos"))
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO offices (id, code, name, parent_id, is_hq, address) VALUES "
                              "(1, 'HQ', '总部', NULL, 1, ''), (2, 'CG', '城关办事处', 1, 0, ''), "
                              "(3, 'HK', '河口办事处', 1, 0, '')"))
        upgrade(revision="0011")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT code, kind, closed_at FROM offices ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("HQ", "head_office", None), ("CG", "office", None), ("HK", "office", None)]
        downgrade(revision="0010")
        assert "kind" not in {c["name"] for c in inspect(db.engine).get_columns("offices")}
        db.engine.dispose()
