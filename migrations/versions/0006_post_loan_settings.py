"""post-loan task thresholds per product; each loan keeps its allocation order; indexes for the daily job

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
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocation_order', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('next_revisit_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_loans_next_revisit_on'), ['next_revisit_on'], unique=False)
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.create_index('ix_installments_loan_unsettled', ['loan_id', 'paid_off_on', 'due_date'], unique=False)
        batch_op.create_index('ix_installments_unsettled_due', ['paid_off_on', 'due_date'], unique=False)
    # Existing loans were made under their product's order as it is now. JSON takes no portable
    # literal default: fill, then require.
    op.execute("UPDATE loans SET allocation_order = (SELECT products.allocation_order FROM products"
               " WHERE products.id = loans.product_id)")
    op.execute("UPDATE loans SET allocation_order = '[]' WHERE allocation_order IS NULL")
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.alter_column('allocation_order', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_index('ix_installments_unsettled_due')
        batch_op.drop_index('ix_installments_loan_unsettled')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_next_revisit_on'))
        batch_op.drop_column('next_revisit_on')
        batch_op.drop_column('allocation_order')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('escalation_days')
        batch_op.drop_column('pre_due_amount')
        batch_op.drop_column('revisit_every_days')
        batch_op.drop_column('first_revisit_days')
