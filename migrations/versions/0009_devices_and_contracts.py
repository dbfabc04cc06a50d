"""contract numbers on loans; phones told apart by model, at most the allowed number active per officer; a product rule for entry findings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contract_counters',
    sa.Column('office_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_contract_counters_office_id_offices')),
    sa.PrimaryKeyConstraint('office_id', 'year', name=op.f('pk_contract_counters'))
    )
    op.create_table('device_allowances',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('max_active', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_device_allowances_set_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_device_allowances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_device_allowances'))
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_no', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_loans_contract_no'), ['contract_no'])
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=False, server_default=''))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.alter_column('model', existing_type=sa.String(length=100), server_default=None)
        batch_op.alter_column('user_agent', existing_type=sa.String(length=300), server_default=None)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_mismatch_blocks', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('entry_mismatch_blocks', existing_type=sa.Boolean(), server_default=None)

    # Loans made before numbers existed get theirs now, in the order they were made, with the same
    # rule as a disbursement: office code - year disbursed - sequence of that office and year.
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT loans.id, loans.office_id, loans.disbursed_on, offices.code FROM loans"
        " JOIN offices ON offices.id = loans.office_id ORDER BY loans.id")).all()
    counters: dict[tuple[int, int], int] = {}
    for loan_id, office_id, disbursed_on, code in rows:
        year = int(str(disbursed_on)[:4])
        counters[(office_id, year)] = n = counters.get((office_id, year), 0) + 1
        conn.execute(sa.text("UPDATE loans SET contract_no = :no WHERE id = :id"),
                     {"no": f"{code}-{year}-{n:05d}", "id": loan_id})
    for (office_id, year), n in counters.items():
        conn.execute(sa.text("INSERT INTO contract_counters (office_id, year, last_no) VALUES (:o, :y, :n)"),
                     {"o": office_id, "y": year, "n": n})


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('entry_mismatch_blocks')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('model')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_loans_contract_no'), type_='unique')
        batch_op.drop_column('contract_no')
    op.drop_table('device_allowances')
    op.drop_table('contract_counters')
