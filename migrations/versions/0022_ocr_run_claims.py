"""ocr_runs claimed across app hosts: who runs a run (claimed_by) and until when (claimed_until);
a run is taken with a conditional UPDATE pending -> running, and retaken after the lease

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ocr_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
    # claimed_by keeps its server default: a host still running the previous version during a
    # rolling upgrade inserts runs without naming it (docs/DEPLOY.md, "Upgrading").


def downgrade():
    with op.batch_alter_table('ocr_runs', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
