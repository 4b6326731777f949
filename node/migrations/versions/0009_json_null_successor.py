"""Empty JSON columns as SQL NULL, and an index on `person.successor`.

Releases 0.1.0 and 0.2.0 wrote an empty JSON column (a card's `skills` and `certificates`, a
follow-up's `issues`, a return's `needs`, a station's `staff`) as the JSON null, the text 'null':
SQLAlchemy's JSON type binds None so unless told otherwise. So did `rematerialize` before 0007 (run
by 0002 and 0005), and 0007 and 0008 re-materialize nothing, so an upgraded card kept 'null' until
it was written again. The merge path writes SQL NULL (the field's `mat` is NULL: `rowstate.render`
gives None for None), and a query for an empty column (`IS NULL`) missed those cards. The merge
state was never wrong: no `mat` holds 'null'. Here the rows holding a JSON null are materialized
again from their merge state, as the merge path does (`rematerialize_where`: the merge path's
INSERT … SELECT, a page of rows at a time in key order); `rematerialize` before 0007 now writes SQL
NULL itself. The downgrade leaves them SQL NULL: every release reads it as an empty column.

An erasure follows a person's cards along `successor` both ways (`node.domain.erase.cards_of`);
the way back (`successor IN (…)`) read the whole person table once per link. `ix_person_successor`
serves it, on new databases (the model declares it) and on upgraded ones (here).

Revision ID: 0009_json_null_successor
Revises: 0008_wide_state
"""
from __future__ import annotations

from alembic import op

from node.migrations.rematerialize import rematerialize_where

revision = "0009_json_null_successor"
down_revision = "0008_wide_state"
branch_labels = None
depends_on = None

# The JSON columns at this revision (all from the 0.1.0 baseline), table → columns.
JSON_COLUMNS = {
    "follow_up": ("issues",),
    "person": ("skills", "certificates"),
    "return_registration": ("needs",),
    "service_station": ("staff",),
}


def upgrade() -> None:
    conn = op.get_bind()
    for table, columns in sorted(JSON_COLUMNS.items()):
        # A JSON null reads back as the text 'null' on both backends (PostgreSQL's json keeps its text).
        rematerialize_where(conn, table, " OR ".join(f"CAST(\"{c}\" AS TEXT) = 'null'" for c in columns))
    with op.batch_alter_table("person") as batch:
        batch.create_index("ix_person_successor", ["successor"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_index("ix_person_successor")
