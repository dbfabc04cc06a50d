"""android_releases: the officer's Android app as published for the phones (flask android publish),
with the oldest app version that may still sync

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 02:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('android_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_code', sa.Integer(), nullable=False),
    sa.Column('version_name', sa.String(length=50), nullable=False),
    sa.Column('package', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_key', sa.String(length=100), nullable=False),
    sa.Column('min_version_code', sa.Integer(), nullable=False),
    sa.Column('min_sdk', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_via', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_android_releases_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_android_releases')),
    sa.UniqueConstraint('sha256', name=op.f('uq_android_releases_sha256')),
    sa.UniqueConstraint('version_code', name=op.f('uq_android_releases_version_code'))
    )


def downgrade():
    op.drop_table('android_releases')
