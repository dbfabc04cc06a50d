"""settings and job_locks: admin settings stored in the database (the phone app's minimum version), the daily job's run lease

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings',
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('job_locks',
    sa.Column('job', sa.String(length=30), nullable=False),
    sa.Column('held_by', sa.String(length=60), nullable=False),
    sa.Column('held_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_locks'))
    )


def downgrade():
    op.drop_table('job_locks')
    op.drop_table('settings')
