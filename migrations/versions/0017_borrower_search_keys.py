"""borrowers: the search box's keys — the ID number's last six digits (a virtual generated column)
and indexes on name, phone, village, (office, name) and (officer, name)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 23:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # Added without a table copy: SQLite adds a VIRTUAL generated column in place, MariaDB too
    # (which refuses NOT NULL on a generated column: it is never null, id_number being NOT NULL).
    op.add_column('borrowers', sa.Column('id_last6', sa.String(length=6),
                                         sa.Computed('substr(id_number, 13, 6)', persisted=False), nullable=True))
    op.create_index('ix_borrowers_id_last6', 'borrowers', ['id_last6'], unique=False)
    op.create_index('ix_borrowers_name', 'borrowers', ['name'], unique=False)
    op.create_index('ix_borrowers_phone', 'borrowers', ['phone'], unique=False)
    op.create_index('ix_borrowers_village', 'borrowers', ['village'], unique=False)
    op.create_index('ix_borrowers_office_name', 'borrowers', ['office_id', 'name'], unique=False)
    op.create_index('ix_borrowers_officer_name', 'borrowers', ['officer_id', 'name'], unique=False)


def downgrade():
    for name in ('ix_borrowers_officer_name', 'ix_borrowers_office_name', 'ix_borrowers_village',
                 'ix_borrowers_phone', 'ix_borrowers_name', 'ix_borrowers_id_last6'):
        op.drop_index(name, table_name='borrowers')
    op.drop_column('borrowers', 'id_last6')
