"""monitor results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:56:31.510915
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('monitor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('current', sa.Text(), nullable=False),
    sa.Column('alert', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_results'))
    )
    with op.batch_alter_table('monitor_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitor_results_monitor'), ['monitor'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('monitor_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitor_results_monitor'))

    op.drop_table('monitor_results')
