"""post-loan task thresholds per product

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 06:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Empty for every existing product: they keep the institution's defaults.
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_revisit_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revisit_every_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pre_due_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('escalation_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('escalation_days')
        batch_op.drop_column('pre_due_amount')
        batch_op.drop_column('revisit_every_days')
        batch_op.drop_column('first_revisit_days')
