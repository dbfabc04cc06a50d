"""offices: kind (head office, branch, office) and closed_at; existing rows: the head office is "head_office", the rest "office"

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE (no table copy): on SQLite a batch copy of offices, which users, loans and
    # offices themselves reference, fails its DROP TABLE under foreign keys once rows exist.
    op.add_column('offices', sa.Column('kind', sa.String(length=20), nullable=False, server_default='office'))
    op.add_column('offices', sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE offices SET kind = 'head_office' WHERE is_hq")


def downgrade():
    op.drop_column('offices', 'closed_at')
    op.drop_column('offices', 'kind')
