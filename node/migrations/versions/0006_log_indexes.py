"""The log's indexes for hello, pull and the pending lookup (issue 13 item 6): `lw_log_scope_pos`
(scope, pos) lets a subscriber's visible scopes be found past its cursor without walking every other
place's changesets; `lw_log_waiting` is partial (the rows a feed holds unapplied), so the lookup a
push makes per feed reads the few waiting rows instead of the whole feed. No data changes.

Revision ID: 0006_log_indexes
Revises: 0005_identity
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_log_indexes'
down_revision = '0005_identity'
branch_labels = None
depends_on = None

WAITING = "status != 'applied'"


def upgrade() -> None:
    with op.batch_alter_table('lw_log', schema=None) as batch_op:
        batch_op.create_index('lw_log_scope_pos', ['scope', 'pos'], unique=False)
        batch_op.create_index('lw_log_waiting', ['author', 'scope', 'seq'], unique=False,
                              sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))


def downgrade() -> None:
    with op.batch_alter_table('lw_log', schema=None) as batch_op:
        batch_op.drop_index('lw_log_waiting')
        batch_op.drop_index('lw_log_scope_pos')
