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
