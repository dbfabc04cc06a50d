"""The Alembic migrations and the models must describe the same schema, on every database."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table

from app.extensions import db


def _diff(app, metadata):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_models_match_migrations(app):
    assert _diff(app, db.metadata) == []


def test_a_model_change_without_a_migration_is_caught(app):
    # The same comparison must notice a column the migrations do not have.
    changed = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    Table("borrowers", changed, Column("shoe_size", Integer), extend_existing=True)
    diff = _diff(app, changed)
    assert any(op[0] == "add_column" and op[3].name == "shoe_size" for op in diff)


def test_every_migration_goes_down_and_up_again(tmp_path):
    """Each revision's downgrade runs, one step at a time from the head to the base, then the head
    again matches the models. MariaDB cannot roll back DDL: a downgrade that fails half way leaves
    the database between two revisions (0023 failed so, dropping an index a foreign key needed)."""
    import os

    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app import create_app
    from app.config import TestConfig
    from tests.conftest import fresh_mariadb_database

    base = os.environ.get("TEST_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = fresh_mariadb_database(base, f"ddt_walk_{worker}") if base else f"sqlite:///{tmp_path / 'walk.sqlite3'}"
    app = create_app(TestConfig(url, tmp_path / "photos"))
    with app.app_context():
        upgrade()
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        walked = []
        while (current := db.session.scalar(text("SELECT version_num FROM alembic_version"))) is not None:
            db.session.remove()
            downgrade(revision="-1")
            walked.append(current)
        db.session.remove()
        assert walked == [r.revision for r in script.walk_revisions()]  # every one, newest first
        assert set(db.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.session.remove()
    assert _diff(app, db.metadata) == []
    with app.app_context():
        db.engine.dispose()
