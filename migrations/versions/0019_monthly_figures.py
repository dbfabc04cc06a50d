"""monthly_figures: each closed month's collection and disbursements per office × officer ×
product, kept when the month closes so the monthly series do not recompute history

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 00:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('monthly_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('installments_due', sa.Integer(), nullable=False),
    sa.Column('due_fen', sa.BigInteger(), nullable=False),
    sa.Column('collected_on_time_fen', sa.BigInteger(), nullable=False),
    sa.Column('collected_late_fen', sa.BigInteger(), nullable=False),
    sa.Column('disbursed_loans', sa.Integer(), nullable=False),
    sa.Column('disbursed_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_monthly_figures_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_monthly_figures_officer_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_monthly_figures_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_figures')),
    sa.UniqueConstraint('month', 'office_id', 'officer_id', 'product_id', name='uq_monthly_figures_key')
    )


def downgrade():
    op.drop_table('monthly_figures')
