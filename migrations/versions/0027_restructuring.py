"""restructuring and extension: the requests, the loan's current schedule start and classification
floor, the products' restructuring rules

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('loan_restructurings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('grace_months', sa.Integer(), nullable=False),
    sa.Column('capitalise', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('decisions', sa.JSON(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('carried', sa.JSON(), nullable=False),
    sa.Column('old_schedule', sa.JSON(), nullable=False),
    sa.Column('first_new_seq', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_loan_restructurings_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_restructurings_loan_id_loans')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_loan_restructurings_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_restructurings'))
    )
    with op.batch_alter_table('loan_restructurings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_restructurings_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_restructurings_status'), ['status'], unique=False)
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_from_seq', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('class_floor', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('class_floor_until', sa.Date(), nullable=True))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restructure_rules', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('restructure_rules')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('class_floor_until')
        batch_op.drop_column('class_floor')
        batch_op.drop_column('schedule_from_seq')
    # A table's indexes go with it (MariaDB refuses to drop one a foreign key still needs).
    op.drop_table('loan_restructurings')
