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
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='office'))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE offices SET kind = 'head_office' WHERE is_hq")
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=20), server_default=None)


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('kind')
