"""identity_views: who viewed which borrower's identity data (page, full ID number, photos, contract), when, from where

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('identity_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('viewer_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('what', sa.String(length=80), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], name=op.f('fk_identity_views_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['viewer_id'], ['users.id'], name=op.f('fk_identity_views_viewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_views'))
    )
    with op.batch_alter_table('identity_views', schema=None) as batch_op:
        batch_op.create_index('ix_identity_views_borrower_id_at', ['borrower_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_views_viewer_id'), ['viewer_id'], unique=False)


def downgrade():
    # Its indexes go with the table (MariaDB refuses to drop one a foreign key needs first).
    op.drop_table('identity_views')
