"""the loans in the books: each installment's interest period start and interest recognised, and
whether a loan's balances are in the books yet (loans made before the books get an opening entry)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accrues_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('interest_recognised', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.create_index('ix_installments_unsettled_accrues', ['paid_off_on', 'accrues_from'], unique=False)
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_books', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Each installment's period starts at the previous due date (the first at the disbursement);
    # what was paid is recognised, the rest accrues from the next daily job.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("""UPDATE installments SET accrues_from = COALESCE(
                        (SELECT p.due_date FROM installments p WHERE p.loan_id = installments.loan_id
                          AND p.seq = installments.seq - 1),
                        (SELECT l.disbursed_on FROM loans l WHERE l.id = installments.loan_id))""")
    else:
        op.execute("""UPDATE installments i JOIN installments p ON p.loan_id = i.loan_id AND p.seq = i.seq - 1
                         SET i.accrues_from = p.due_date""")
        op.execute("""UPDATE installments i JOIN loans l ON l.id = i.loan_id
                         SET i.accrues_from = l.disbursed_on WHERE i.accrues_from IS NULL""")
    op.execute("UPDATE installments SET interest_recognised = interest_paid")

    # The role loans taken over from earlier books open against (app/domain/ledger.py).
    op.execute("""INSERT INTO account_mappings (role, product_id, account_id)
                  SELECT 'opening_balance', NULL, id FROM accounts WHERE code = '4104'""")


def downgrade():
    op.execute("DELETE FROM account_mappings WHERE role = 'opening_balance'")
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('in_books')
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_index('ix_installments_unsettled_accrues')
        batch_op.drop_column('interest_recognised')
        batch_op.drop_column('accrues_from')
