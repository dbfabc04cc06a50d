"""borrowers: township (乡镇) and county (县), as the imported book's borrower sheet gives them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('township', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('county', sa.String(length=100), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('borrowers', schema=None) as batch_op:
        batch_op.drop_column('county')
        batch_op.drop_column('township')
