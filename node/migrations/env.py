"""alembic's entry point: runs the migrations on the connection the store hands over, or on the
database named by `-x db=PATH_OR_URL` (or LAOWU_DB) when run from the `alembic` command line."""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from node import domain  # noqa: F401  (registers the domain tables on the metadata)
from node.engine import tables as t
from node.engine.db import begin_write, make_engine
from node.migrations import managed


def run(conn: Connection) -> None:
    context.configure(connection=conn, target_metadata=t.metadata, render_as_batch=True,
                      compare_type=True, include_name=managed)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against the database")
if given is not None:
    run(given)
else:
    target = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get("LAOWU_DB")
    if not target:
        raise SystemExit("name the database: alembic -x db=PATH_OR_URL upgrade head (or set LAOWU_DB)")
    with make_engine(target).begin() as conn:
        begin_write(conn)
        run(conn)
