"""write_off_requests and recoveries: a loan written off (核销) by a second person, money recovered after

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('write_off_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_write_off_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_write_off_requests_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_write_off_requests_loan_id_loans')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_write_off_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_off_requests'))
    )
    with op.batch_alter_table('write_off_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_off_requests_loan_id'), ['loan_id'], unique=False)

    op.create_table('recoveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=50), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_recoveries_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_recoveries_loan_id_loans')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_recoveries_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recoveries')),
    sa.UniqueConstraint('loan_id', 'reference', name=op.f('uq_recoveries_loan_id_reference'))
    )
    with op.batch_alter_table('recoveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recoveries_loan_id'), ['loan_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; MariaDB refuses to drop first an index a foreign key needs.
    op.drop_table('recoveries')
    op.drop_table('write_off_requests')
