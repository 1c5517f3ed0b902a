"""reference profiles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:20:12.692426
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_version_id', sa.Integer(), nullable=False),
    sa.Column('bins', sa.Integer(), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.id'], name=op.f('fk_reference_profiles_dataset_version_id_dataset_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_profiles')),
    sa.UniqueConstraint('dataset_version_id', 'bins', name=op.f('uq_reference_profiles_dataset_version_id'))
    )


def downgrade() -> None:
    op.drop_table('reference_profiles')
