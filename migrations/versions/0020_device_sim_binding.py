"""phones bound to their SIM card: a keyed fingerprint and a safe label, and the held state of a
phone whose SIM changed; the never-filled raw IMSI column is dropped (no raw IMSI is kept)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 02:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

TEXT_COLUMNS = (('sim_fingerprint', 64), ('sim_label', 40), ('sim_changed_fingerprint', 64), ('sim_changed_label', 40))


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        for name, length in TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sim_bound_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sim_changed_at', sa.DateTime(), nullable=True))
        batch_op.drop_column('imsi')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        for name, length in TEXT_COLUMNS:
            batch_op.alter_column(name, existing_type=sa.String(length=length), server_default=None)


def downgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imsi', sa.String(length=20), nullable=False, server_default=''))
        batch_op.drop_column('sim_changed_at')
        batch_op.drop_column('sim_bound_at')
        for name, _length in reversed(TEXT_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.alter_column('imsi', existing_type=sa.String(length=20), server_default=None)
