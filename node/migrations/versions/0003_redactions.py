"""Erasure (issue 8 item 5): the redaction records held (lw_redaction) and the changesets they
rewrote (lw_redacted).

Commit 4ee297e created these two tables with `create_all` on every open instead; a development
database stamped at 0002 after that commit may already have them, so each is created only if missing.

Revision ID: 0003_redactions
Revises: 0002_schema2_domain
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_redactions'
down_revision = '0002_schema2_domain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "lw_redacted" not in have:
        op.create_table('lw_redacted',
        sa.Column('id', sa.LargeBinary(length=32), nullable=False),
        sa.Column('record', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
    if "lw_redaction" not in have:
        op.create_table('lw_redaction',
        sa.Column('id', sa.LargeBinary(length=32), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('applied', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )


def downgrade() -> None:
    op.drop_table('lw_redaction')
    op.drop_table('lw_redacted')
