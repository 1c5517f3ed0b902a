"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 15:28:27.451072
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_subject'), ['subject'], unique=False)

    op.create_table('dataset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('columns', sa.Integer(), nullable=False),
    sa.Column('kinds', sa.Text(), nullable=False),
    sa.Column('profile', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['dataset_versions.id'], name=op.f('fk_dataset_versions_parent_id_dataset_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_versions')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_dataset_versions_name'))
    )
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_versions_name_hash', ['name', 'content_hash'], unique=False)

    op.create_table('ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_head'))
    )
    op.create_table('runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('metrics', sa.Text(), nullable=False),
    sa.Column('environment', sa.Text(), nullable=False),
    sa.Column('code_version', sa.Text(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=True),
    sa.Column('model_blob', sa.String(length=64), nullable=True),
    sa.Column('model_info', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.String(length=32), nullable=False),
    sa.Column('ended_at', sa.String(length=32), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_status'), ['status'], unique=False)

    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=20), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('trusted_types', sa.Text(), nullable=False),
    sa.Column('metrics', sa.Text(), nullable=False),
    sa.Column('classes', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_model_versions_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_model_versions_name'))
    )
    op.create_table('run_datasets',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('dataset_version_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.id'], name=op.f('fk_run_datasets_dataset_version_id_dataset_versions')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_datasets_run_id_runs')),
    sa.PrimaryKeyConstraint('run_id', 'dataset_version_id', name=op.f('pk_run_datasets'))
    )
    op.create_table('step_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('logged_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_step_metrics_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_metrics'))
    )
    with op.batch_alter_table('step_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_step_metrics_run_key_step', ['run_id', 'key', 'step'], unique=False)

    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('deployed_by', sa.String(length=200), nullable=False),
    sa.Column('deployed_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_deployments_model_version_id_model_versions')),
    sa.ForeignKeyConstraint(['previous_id'], ['deployments.id'], name=op.f('fk_deployments_previous_id_deployments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments'))
    )
    op.create_table('current_deployments',
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_current_deployments_deployment_id_deployments')),
    sa.PrimaryKeyConstraint('model_name', 'environment', name=op.f('pk_current_deployments'))
    )
    # The ledger starts empty: sequence 0 and an all-zero hash are the genesis.
    op.bulk_insert(
        sa.table("ledger_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                 sa.column("hash", sa.String)),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )


def downgrade() -> None:
    op.drop_table('current_deployments')
    op.drop_table('deployments')
    with op.batch_alter_table('step_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_step_metrics_run_key_step')

    op.drop_table('step_metrics')
    op.drop_table('run_datasets')
    op.drop_table('model_versions')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_status'))

    op.drop_table('runs')
    op.drop_table('ledger_head')
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_versions_name_hash')

    op.drop_table('dataset_versions')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject'))

    op.drop_table('audit_events')
