"""promotion requests and approvals; the request behind each deployment

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

DEPLOYMENT_FK = 'fk_deployments_request_id_promotion_requests'


def upgrade() -> None:
    op.create_table('promotion_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('gates_blob', sa.String(length=64), nullable=False),
    sa.Column('gates_passed', sa.Boolean(), nullable=False),
    sa.Column('evidence_key', sa.Text(), nullable=False),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('approver_roles', sa.Text(), nullable=False),
    sa.Column('break_glass', sa.Boolean(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('opened_at', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.String(length=32), nullable=True),
    sa.Column('closed_at', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_promotion_requests_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_requests'))
    )
    with op.batch_alter_table('promotion_requests', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_requests_model_name_environment', ['model_name', 'environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_requests_status'), ['status'], unique=False)

    op.create_table('approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['promotion_requests.id'], name=op.f('fk_approvals_request_id_promotion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
    sa.UniqueConstraint('request_id', 'principal', 'decision', name=op.f('uq_approvals_request_id'))
    )
    # SQLite adds a column and its foreign key in one ALTER TABLE; Alembic would add the
    # constraint separately (which SQLite cannot) or copy the whole table, which a foreign
    # key from current_deployments forbids while foreign keys are enforced.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE deployments ADD COLUMN request_id INTEGER CONSTRAINT '
                   f'{DEPLOYMENT_FK} REFERENCES promotion_requests (id)')
    else:
        op.add_column('deployments', sa.Column('request_id', sa.Integer(), nullable=True))
        op.create_foreign_key(DEPLOYMENT_FK, 'deployments', 'promotion_requests',
                              ['request_id'], ['id'])
    op.create_index(op.f('ix_deployments_request_id'), 'deployments', ['request_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deployments_request_id'), table_name='deployments')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(DEPLOYMENT_FK, 'deployments', type_='foreignkey')
    op.drop_column('deployments', 'request_id')
    op.drop_table('approvals')
    with op.batch_alter_table('promotion_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_requests_status'))
        batch_op.drop_index('ix_promotion_requests_model_name_environment')

    op.drop_table('promotion_requests')
