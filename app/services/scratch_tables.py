"""Temporary tables the daily job fills with a pass's per-row results, so that the next statements
read those rows instead of repeating the pass. A temporary table belongs to this connection only and
is dropped before the job commits; creating and dropping one never ends the transaction (on MariaDB
a plain ``DROP TABLE`` would commit it, hence ``DROP TEMPORARY TABLE``)."""
from __future__ import annotations

from sqlalchemy import Table, text
from sqlalchemy.schema import CreateTable

from app.extensions import db


def drop(table: Table) -> None:
    sql = (f"DROP TABLE IF EXISTS temp.{table.name}" if db.session.get_bind().dialect.name == "sqlite"
           else f"DROP TEMPORARY TABLE IF EXISTS {table.name}")
    db.session.execute(text(sql))


def create(table: Table) -> None:
    """``table`` (declared with ``prefixes=["TEMPORARY"]``), empty: one left by an earlier failed run
    of this connection is dropped first."""
    drop(table)
    db.session.execute(CreateTable(table))
