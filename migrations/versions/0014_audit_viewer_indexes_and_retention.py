"""audit viewer indexes (by object, by action; identity views by date) and photos/screenshots purged_at for the retention purge

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_object_type_object_id_id', ['object_type', 'object_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_object_type_id', ['object_type', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_action_id', ['action', 'id'], unique=False)
    with op.batch_alter_table('identity_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_views_at'), ['at'], unique=False)
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('screenshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('screenshots', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('identity_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_views_at'))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_id')
        batch_op.drop_index('ix_audit_log_object_type_id')
        batch_op.drop_index('ix_audit_log_object_type_object_id_id')
