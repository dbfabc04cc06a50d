"""field_collections and field_deposits: repayments an officer took in the field on his phone, and
the cashier's count of what he handed over at the branch

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('field_deposits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('expected', sa.BigInteger(), nullable=False),
    sa.Column('handed', sa.BigInteger(), nullable=False),
    sa.Column('shortfall', sa.BigInteger(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_field_deposits_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_field_deposits_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_field_deposits_officer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_deposits'))
    )
    with op.batch_alter_table('field_deposits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_deposits_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_deposits_officer_id'), ['officer_id'], unique=False)

    op.create_table('field_collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.Column('confirmation', sa.String(length=10), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('accuracy_m', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('repayment_id', sa.Integer(), nullable=True),
    sa.Column('receipt_sms_id', sa.Integer(), nullable=True),
    sa.Column('deposit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['deposit_id'], ['field_deposits.id'], name=op.f('fk_field_collections_deposit_id_field_deposits')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_field_collections_loan_id_loans')),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_field_collections_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_field_collections_officer_id_users')),
    sa.ForeignKeyConstraint(['receipt_sms_id'], ['sms_messages.id'], name=op.f('fk_field_collections_receipt_sms_id_sms_messages')),
    sa.ForeignKeyConstraint(['repayment_id'], ['repayments.id'], name=op.f('fk_field_collections_repayment_id_repayments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_collections')),
    sa.UniqueConstraint('uuid', name=op.f('uq_field_collections_uuid'))
    )
    with op.batch_alter_table('field_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_collections_collected_on'), ['collected_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_collections_deposit_id'), ['deposit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_collections_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_collections_officer_id'), ['officer_id'], unique=False)


def downgrade():
    op.drop_table('field_collections')
    op.drop_table('field_deposits')
