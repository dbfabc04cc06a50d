"""loans: an index by disbursement day with the columns the period reports group by, so that a
month's disbursements (report, dashboard series) are read from the index alone instead of every loan

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 00:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_loans_disbursed_on_office', 'loans',
                    ['disbursed_on', 'office_id', 'officer_id', 'product_id', 'principal'], unique=False)


def downgrade():
    op.drop_index('ix_loans_disbursed_on_office', table_name='loans')
