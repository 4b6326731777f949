"""Brokers' login-days (broker_login): the desk's broker logins as a replicated record, so the hub's
points ranking counts login activity (issue 10). Same schema version (2): a new table only.

Revision ID: 0004_broker_login
Revises: 0003_redactions
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString
from alembic import op

revision = '0004_broker_login'
down_revision = '0003_redactions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('broker_login',
    sa.Column('id', AutoString(length=32), nullable=False),
    sa.Column('scope', AutoString(length=12), nullable=False),
    sa.Column('broker', AutoString(length=32), nullable=False),
    sa.Column('day', AutoString(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('broker_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broker_login_broker'), ['broker'], unique=False)
        batch_op.create_index(batch_op.f('ix_broker_login_scope'), ['scope'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('broker_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broker_login_scope'))
        batch_op.drop_index(batch_op.f('ix_broker_login_broker'))
    op.drop_table('broker_login')
