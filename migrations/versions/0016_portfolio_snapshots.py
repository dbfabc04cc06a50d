"""portfolio_snapshots (per day × office × officer × product × class × days-past-due bucket) and
loan_snapshots (one row per active loan on the first of each month), for reports as of a past day

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 23:27:14.294145

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portfolio_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('dpd_bucket', sa.SmallInteger(), nullable=False),
    sa.Column('loans', sa.Integer(), nullable=False),
    sa.Column('outstanding_principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('overdue_principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('overdue_interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('penalty_outstanding_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_portfolio_snapshots_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_portfolio_snapshots_officer_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_portfolio_snapshots_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_snapshots')),
    sa.UniqueConstraint('day', 'office_id', 'officer_id', 'product_id', 'classification', 'dpd_bucket', name='uq_portfolio_snapshots_key')
    )
    op.create_table('loan_snapshots',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('loan_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('outstanding_principal_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_snapshots_loan_id_loans')),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_loan_snapshots_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_loan_snapshots_officer_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_loan_snapshots_product_id_products')),
    sa.PrimaryKeyConstraint('day', 'loan_id', name=op.f('pk_loan_snapshots'))
    )
    with op.batch_alter_table('loan_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_loan_snapshots_day_office', ['day', 'office_id'], unique=False)



def downgrade():
    # A table's indexes go with it (MariaDB refuses to drop first an index a foreign key needs).
    op.drop_table('loan_snapshots')
    op.drop_table('portfolio_snapshots')
