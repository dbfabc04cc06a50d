"""a returned group's new members still to come (liability_groups.members_to_come)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('liability_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members_to_come', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('liability_groups', schema=None) as batch_op:
        batch_op.drop_column('members_to_come')
