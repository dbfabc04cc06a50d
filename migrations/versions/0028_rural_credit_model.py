"""rural credit model (issue 18): survey and scorecard versions, joint-liability groups, guarantees,
bureau queries, villages, campaigns, household surveys, the white list; the applications' survey,
score, group and light path; products' credit rules

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 06:34:52.980768

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('villages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('township', sa.String(length=100), nullable=False),
    sa.Column('county', sa.String(length=100), nullable=False),
    sa.Column('committee', sa.String(length=200), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('main_crops', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_villages_office_id_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_villages')),
    sa.UniqueConstraint('office_id', 'name', name=op.f('uq_villages_office_id_name'))
    )
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_villages_office_id'), ['office_id'], unique=False)

    op.create_table('liability_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('village', sa.String(length=100), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('expected_size', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('relatives', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_liability_groups_office_id_offices')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_liability_groups_officer_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_liability_groups_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_liability_groups')),
    sa.UniqueConstraint('uuid', name=op.f('uq_liability_groups_uuid'))
    )
    with op.batch_alter_table('liability_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_liability_groups_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_liability_groups_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_liability_groups_state'), ['state'], unique=False)

    op.create_table('scorecard_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_scorecard_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_scorecard_versions_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_versions')),
    sa.UniqueConstraint('product_id', 'version', name=op.f('uq_scorecard_versions_product_id_version'))
    )
    with op.batch_alter_table('scorecard_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_versions_product_id'), ['product_id'], unique=False)

    op.create_table('survey_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_survey_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_survey_versions_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_versions')),
    sa.UniqueConstraint('product_id', 'version', name=op.f('uq_survey_versions_product_id_version'))
    )
    with op.batch_alter_table('survey_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_versions_product_id'), ['product_id'], unique=False)

    op.create_table('village_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_village_campaigns_product_id_products')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_village_campaigns_started_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_village_campaigns_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village_campaigns')),
    sa.UniqueConstraint('uuid', name=op.f('uq_village_campaigns_uuid'))
    )
    with op.batch_alter_table('village_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_village_campaigns_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_village_campaigns_village_id'), ['village_id'], unique=False)

    op.create_table('household_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('committee_rating', sa.String(length=20), nullable=False),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('gps_accuracy_m', sa.Integer(), nullable=True),
    sa.Column('surveyed_by_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('surveyed_at', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('score_detail', sa.JSON(), nullable=True),
    sa.Column('suggested_limit', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], name=op.f('fk_household_surveys_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['campaign_id'], ['village_campaigns.id'], name=op.f('fk_household_surveys_campaign_id_village_campaigns')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_household_surveys_device_id_devices')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_versions.id'], name=op.f('fk_household_surveys_survey_version_id_survey_versions')),
    sa.ForeignKeyConstraint(['surveyed_by_id'], ['users.id'], name=op.f('fk_household_surveys_surveyed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_surveys')),
    sa.UniqueConstraint('campaign_id', 'borrower_id', name=op.f('uq_household_surveys_campaign_id_borrower_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_household_surveys_uuid'))
    )
    with op.batch_alter_table('household_surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_surveys_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_surveys_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_surveys_surveyed_by_id'), ['surveyed_by_id'], unique=False)

    op.create_table('preapprovals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('household_survey_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('proposed_limit', sa.BigInteger(), nullable=False),
    sa.Column('approved_limit', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], name=op.f('fk_preapprovals_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['campaign_id'], ['village_campaigns.id'], name=op.f('fk_preapprovals_campaign_id_village_campaigns')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_preapprovals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['household_survey_id'], ['household_surveys.id'], name=op.f('fk_preapprovals_household_survey_id_household_surveys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preapprovals')),
    sa.UniqueConstraint('household_survey_id', name=op.f('uq_preapprovals_household_survey_id'))
    )
    with op.batch_alter_table('preapprovals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preapprovals_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_preapprovals_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_preapprovals_status'), ['status'], unique=False)

    op.create_table('bureau_queries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('consent_photo_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('queried_by_id', sa.Integer(), nullable=False),
    sa.Column('queried_at', sa.DateTime(), nullable=False),
    sa.Column('result_ref', sa.String(length=100), nullable=False),
    sa.Column('report_sha256', sa.String(length=64), nullable=False),
    sa.Column('report_name', sa.String(length=200), nullable=False),
    sa.Column('report_size', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_bureau_queries_application_id_applications')),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], name=op.f('fk_bureau_queries_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['consent_photo_id'], ['photos.id'], name=op.f('fk_bureau_queries_consent_photo_id_photos')),
    sa.ForeignKeyConstraint(['queried_by_id'], ['users.id'], name=op.f('fk_bureau_queries_queried_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bureau_queries')),
    sa.UniqueConstraint('uuid', name=op.f('uq_bureau_queries_uuid'))
    )
    with op.batch_alter_table('bureau_queries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bureau_queries_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_queries_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_queries_queried_at'), ['queried_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_queries_queried_by_id'), ['queried_by_id'], unique=False)

    op.create_table('guarantees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('consent_photo_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_guarantees_application_id_applications')),
    sa.ForeignKeyConstraint(['consent_photo_id'], ['photos.id'], name=op.f('fk_guarantees_consent_photo_id_photos')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_guarantees_created_by_id_users')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['borrowers.id'], name=op.f('fk_guarantees_guarantor_id_borrowers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantees')),
    sa.UniqueConstraint('application_id', 'guarantor_id', name=op.f('uq_guarantees_application_id_guarantor_id'))
    )
    with op.batch_alter_table('guarantees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantees_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guarantees_guarantor_id'), ['guarantor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guarantees_status'), ['status'], unique=False)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('survey_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('survey_answers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('score_detail', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('suggested_limit', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('preapproval_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('light_path', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_applications_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_applications_preapproval_id_preapprovals'), 'preapprovals', ['preapproval_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_applications_survey_version_id_survey_versions'), 'survey_versions', ['survey_version_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_applications_group_id_liability_groups'), 'liability_groups', ['group_id'], ['id'])

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_rules', sa.JSON(), nullable=True))



def downgrade():
    # A table's indexes go with it (MariaDB refuses to drop one a foreign key still needs).
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('credit_rules')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_applications_group_id_liability_groups'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_applications_survey_version_id_survey_versions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_applications_preapproval_id_preapprovals'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_applications_group_id'))
        batch_op.drop_column('light_path')
        batch_op.drop_column('preapproval_id')
        batch_op.drop_column('group_id')
        batch_op.drop_column('suggested_limit')
        batch_op.drop_column('score_detail')
        batch_op.drop_column('score')
        batch_op.drop_column('survey_answers')
        batch_op.drop_column('survey_version_id')
    op.drop_table('guarantees')
    op.drop_table('bureau_queries')
    op.drop_table('preapprovals')
    op.drop_table('household_surveys')
    op.drop_table('village_campaigns')
    op.drop_table('survey_versions')
    op.drop_table('scorecard_versions')
    op.drop_table('liability_groups')
    op.drop_table('villages')
