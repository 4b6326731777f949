"""Databases made by release 0.1.0 (tests/fixtures/releases/0.1.0, made by that release's own CLIs)
upgrade in place with nothing lost, and the upgraded village node syncs with the upgraded county hub
(a real uvicorn on loopback), on SQLite and on PostgreSQL (the hub restored from its pg_dump)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubkit import PG_URL, key_copy, no_postgresql
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import make_url

from hub.app import Hub
from hub.server import ServerThread
from node.engine import tables as t
from node import migrations
from node.engine import rowstate, schema, widestate
from node.engine.db import make_engine
from node.domain.rules import RULES
from node.migrations import legacy_state
from node.migrations.rematerialize import rematerialize
from node.engine.store import Store
from protocol.errors import ConfigError
from protocol.keys import KeyPair

RELEASES = sorted(p.parent for p in (Path(__file__).resolve().parents[1] / "fixtures" / "releases").glob("*/fixture.json"))
RELEASE = RELEASES[0]  # 0.1.0: made before migrations existed
FACTS = json.loads((RELEASE / "fixture.json").read_text())
PASS = FACTS["passphrase"]


@pytest.fixture(params=RELEASES, ids=[p.name for p in RELEASES])
def release(request: pytest.FixtureRequest) -> Path:
    """The fixture folder of one earlier release (tests/fixtures/releases/<version>)."""
    return Path(request.param)
BIN = Path(sys.executable).parent


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table the database has (the version table aside)."""
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != migrations.VERSION_TABLE]
        return {n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in sorted(names)}


def engine_state(engine: Engine) -> dict[str, Any]:
    """The log, heads and merge state: what a sync depends on."""
    with engine.connect() as conn:
        return {
            "log": sorted((r.id, r.status, r.pos, r.envelope) for r in conn.execute(select(t.log))),
            "heads": sorted(tuple(r) for r in conn.execute(select(t.heads))),
            "rows": sorted(tuple(r) for r in conn.execute(text("SELECT tbl, row, tomb_hlc, tomb_author FROM lw_row"))),
            "merge": merge_states(conn),
            # Columns later releases add are empty on an upgraded 0.1.0 card: its values, not its width.
            # Read through the table's own types, as the application reads it: an empty JSON column is
            # None whether an older release wrote JSON null or the merge path SQL NULL (0009 makes it NULL).
            "person": sorted(tuple(sorted((k, v) for k, v in r._mapping.items() if v is not None))
                             for r in conn.execute(select(Table("person", MetaData(), autoload_with=conn)))),
        }


def merge_states(conn: Any) -> dict[tuple[str, bytes], Any]:
    """Every row's merge state as conflict/ objects, from the msgpack column of releases before
    revision 0007, from the per-field rows after it, or from the wide state rows from 0008 on (the
    layout the database has): an upgrade keeps what they mean."""
    registry = schema.registry()
    if "state" in {c["name"] for c in inspect(conn).get_columns("lw_row")}:
        return {(r.tbl, r.row): legacy_state.decode(registry, r.tbl, r)
                for r in conn.execute(text("SELECT tbl, row, state, tomb_hlc, tomb_author FROM lw_row"))}
    return rowstate.load_all(conn, registry, layout=widestate.of(conn))


@pytest.fixture(params=["sqlite", "postgresql"])
def county_db(request: pytest.FixtureRequest, tmp_path: Path, pg: Any, release: Path) -> Iterator[str]:
    """The 0.1.0 county hub's database: a copy of its SQLite file, or its pg_dump restored into a new database."""
    if request.param == "sqlite":
        shutil.copy2(release / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
        return
    if isinstance(pg, str):
        no_postgresql(f"PostgreSQL not reachable ({pg})")
    import psycopg

    name = f"laowu_rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(release / "county.pgdump")],
                       check=True, capture_output=True)
        yield url
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture
def village(tmp_path: Path, release: Path) -> Path:
    d = tmp_path / "village"
    shutil.copytree(release / "village", d)
    return d


def test_the_0_1_0_fixtures_are_what_0_1_0_made() -> None:
    """The fixtures have no version table: they predate migrations, as every 0.1.0 database does."""
    for key in (RELEASE / "village" / "node.key", RELEASE / "county" / "hub.key"):
        assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")  # 0.1.0's format, never rewritten
    for db in (RELEASE / "village" / "node.sqlite", RELEASE / "county" / "hub.sqlite"):
        engine = create_engine(f"sqlite:///{db}")
        try:
            with engine.connect() as conn:
                assert migrations.current(conn) is None
                assert inspect(conn).has_table("lw_meta")
            assert counts(engine)["person"] == FACTS["people"]
        finally:
            engine.dispose()


def test_a_0_1_0_village_and_county_upgrade_in_place_and_sync(county_db: str, village: Path, release: Path) -> None:
    """Every earlier release's fixtures (0.1.0, 0.2.0, ...), whatever the name says."""
    facts = json.loads((release / "fixture.json").read_text())
    passphrase = facts["passphrase"]
    hub_engine = make_engine(county_db)
    node_engine = make_engine(village / "node.sqlite")
    hub_before, node_before = counts(hub_engine), counts(node_engine)
    hub_state, node_state = engine_state(hub_engine), engine_state(node_engine)
    assert hub_before["person"] == node_before["person"] == facts["people"]
    made = {side: {k: v for k, v in facts[side].items() if k != migrations.VERSION_TABLE}
            for side in ("county_counts", "village_counts")}
    # The PostgreSQL copy holds the replica's tables; a machine's own web tables stay with its SQLite file.
    assert hub_before == {k: v for k, v in made["county_counts"].items() if k in hub_before}
    assert node_before == made["village_counts"] and {"person", "lw_log", "lw_row"} <= set(hub_before)

    hub_store = Store.open(hub_engine, key_copy(release / "county" / "hub.key", village.parent, passphrase), rules=RULES)
    node_store = Store.open(node_engine, KeyPair.load(village / "node.key", passphrase), rules=RULES)
    for engine, before, state in ((hub_engine, hub_before, hub_state), (node_engine, node_before, node_state)):
        with engine.connect() as conn:
            assert migrations.current(conn) == migrations.heads()
        after = counts(engine)
        assert {k: after.get(k) for k in before} == before, "an upgrade lost or added rows"
        assert engine_state(engine) == state, "an upgrade changed the log, heads, merge state or cards"
    assert node_store.values() == {k: v for k, v in hub_store.values().items() if k in node_store.values()}

    # The upgraded node works and syncs with the upgraded hub, through the real CLI.
    with ServerThread(Hub(hub_store)) as server:
        config = json.loads((village / "config.json").read_text())
        config["hub"] = server.url
        (village / "config.json").write_text(json.dumps(config, ensure_ascii=False))
        node_store.close()
        env = {**os.environ, "LAOWU_PASSPHRASE": passphrase}
        node = [str(BIN / "laowu-node"), "--dir", str(village), "--json"]
        from node.domain.generate import people
        import random
        from datetime import date

        walk_in = people(random.Random(42), facts["village"], "新民村", 1, county="九寨沟县", township="漳扎镇",
                         today=date(2026, 11, 1))[0]
        add = subprocess.run([*node, "person", "add", "--id-number", walk_in["id_number"], "--name", walk_in["name"]],
                             env=env, capture_output=True, text=True, timeout=120)
        assert add.returncode == 0, add.stderr
        sync = subprocess.run([*node, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert sync.returncode == 0, sync.stderr
    author = KeyPair.load(village / "node.key", passphrase).public
    assert hub_store.vector()[(author, facts["village"])] == node_state["heads"][0][2] + 1
    assert counts(hub_engine)["person"] == facts["people"] + 1
    node_store = Store.open(village / "node.sqlite", None)
    try:
        assert node_store.values() == {k: v for k, v in hub_store.values().items() if k in node_store.values()}
        assert len(node_store.values("person")) == facts["people"] + 1
    finally:
        node_store.close()
        hub_store.close()


def test_an_upgraded_0_1_0_database_has_exactly_the_schema_of_a_new_one(county_db: str) -> None:
    """What the migrations build from 0.1.0 equals what today's models create: a schema change that
    ships without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(county_db)
    try:
        migrations.upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrations.managed})
            diff = compare_metadata(context, t.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_the_revision_files_have_one_head_and_the_fast_reader_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations.HERE))
    assert tuple(sorted(script.get_heads())) == migrations.heads()
    assert len(migrations.heads()) == 1, "two migration heads: re-chain yours on the other (docs/migrations.md)"
    assert {r.revision for r in script.walk_revisions()} == set(migrations.revisions())


def test_a_new_database_is_stamped_at_the_head_exactly_as_alembic_stamps_one(tmp_path: Path) -> None:
    """`stamp_head` writes alembic's version table itself (an `init` no longer imports alembic): alembic
    reads the head from it, and the table is the one `alembic stamp head` makes."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    ours, theirs = make_engine(tmp_path / "ours.sqlite"), make_engine(tmp_path / "theirs.sqlite")
    with ours.begin() as conn:
        migrations.stamp_head(conn)
    with theirs.begin() as conn:
        MigrationContext.configure(conn).stamp(ScriptDirectory(str(migrations.HERE)), "head")
    made = []
    for engine in (ours, theirs):
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == migrations.heads()
            made.append(conn.execute(text("SELECT type, name, sql FROM sqlite_master ORDER BY name")).all())
        engine.dispose()
    assert made[0] == made[1]


def test_a_database_from_a_newer_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    shutil.copy2(RELEASE / "county" / "hub.sqlite", tmp_path / "hub.sqlite")
    engine = make_engine(tmp_path / "hub.sqlite")
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_a_later_release'"))
    before = counts(engine)
    with pytest.raises(ConfigError, match="newer Laowu.*install that release"):
        Store.open(engine, None)
    assert counts(engine) == before
    engine.dispose()


def test_rematerialize_shows_values_the_merge_state_kept_for_a_column_added_later(tmp_path: Path) -> None:
    """A value a newer writer sent for a column this database did not have yet is kept in lw_row; the
    migration that adds the column brings it into the materialized row."""
    shutil.copy2(RELEASE / "village" / "node.sqlite", tmp_path / "node.sqlite")
    store = Store.open(tmp_path / "node.sqlite", None)
    kept = {k[1].hex(): v["phone"] for k, v in store.values("person").items() if v and v.get("phone")}
    assert kept
    with store.engine.begin() as conn:  # a database whose person table predates the phone column
        conn.execute(text("ALTER TABLE person DROP COLUMN phone"))
    with store.engine.begin() as conn:  # the migration that adds it
        conn.execute(text("ALTER TABLE person ADD COLUMN phone VARCHAR"))
        assert all(r.phone is None for r in conn.execute(text("SELECT phone FROM person")))
        assert rematerialize(conn, "person") == FACTS["people"]
    with store.engine.connect() as conn:
        shown = {r.id: r.phone for r in conn.execute(text("SELECT id, phone FROM person")) if r.phone}
    assert shown == kept
    store.close()


def upgrade_to(engine: Engine, revision: str) -> None:
    """A release's database (0.1.0's has no version table: stamped at the baseline first) upgraded to `revision`."""
    from alembic import command

    with engine.begin() as conn:
        if not migrations.current(conn):
            command.stamp(migrations.config(conn), migrations.BASELINE)
        command.upgrade(migrations.config(conn), revision)


def test_revision_0007_converts_in_bounded_chunks_both_ways(county_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """0007 streams lw_row through a staging table a chunk at a time (its first version held every
    state in memory: gigabytes at a million rows). With chunks of 3 rows, so every boundary is
    crossed: upgrading keeps every merge state, downgrading gives back the 0.2.x rows, and upgrading
    again gives the same per-field state."""
    from alembic import command

    # The real migration with a smaller chunk (2,000 in use), so a handful of rows crosses every chunk
    # boundary; nothing is replaced.
    monkeypatch.setattr(legacy_state, "CHUNK", 3)
    engine = make_engine(county_db)
    try:
        upgrade_to(engine, "0006_log_indexes")
        with engine.connect() as conn:
            before = merge_states(conn)
            rows = sorted(tuple(r) for r in conn.execute(text("SELECT tbl, row, tomb_hlc, tomb_author FROM lw_row")))
        assert len(before) > 3 * 2  # several chunks
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0007_field_state")
        with engine.connect() as conn:
            upgraded = merge_states(conn)
            fields = sorted(tuple(r) for r in conn.execute(select(t.fields)))
            assert "lw_row_0006" not in inspect(conn).get_table_names()
        assert upgraded == before
        with engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0006_log_indexes")
        with engine.connect() as conn:
            assert merge_states(conn) == before
            assert sorted(tuple(r) for r in conn.execute(text("SELECT tbl, row, tomb_hlc, tomb_author FROM lw_row"))) == rows
            assert not {"lw_field", "lw_set", "lw_row_0006"} & set(inspect(conn).get_table_names())
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0007_field_state")
        with engine.connect() as conn:
            assert merge_states(conn) == before
            assert sorted(tuple(r) for r in conn.execute(select(t.fields))) == fields
    finally:
        engine.dispose()


def test_revision_0008_moves_declared_fields_into_wide_rows_both_ways(county_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """0008 moves every declared field's lw_field rows into the tables' wide state rows, set-based,
    a chunk of rows at a time (3 here, so every boundary is crossed; 20,000 in use): the merge
    states are the same, no declared field is left in lw_field, and the materialized rows read the
    same. Downgrading gives back exactly the lw_field rows of 0007; upgrading again the same wide rows."""
    from alembic import command

    monkeypatch.setattr(widestate, "WIDEN_CHUNK", 3)
    engine = make_engine(county_db)
    try:
        upgrade_to(engine, "0007_field_state")
        with engine.connect() as conn:
            before = merge_states(conn)
            fields = sorted(tuple(r) for r in conn.execute(select(t.fields)))
        shown = engine_state(engine)["person"]
        assert len({row for tb, row, *_ in fields if tb == "person"}) > 3 * 2  # several chunks
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0008_wide_state")
        with engine.connect() as conn:
            assert merge_states(conn) == before
            declared = {(tb, f) for tb, cls in schema.TABLES.items() for f in schema.columns(cls)}
            assert not [r for r in conn.execute(select(t.fields)) if (r.tbl, r.field) in declared]
            wide = {tb: sorted(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{widestate.name(tb)}"')))
                    for tb in widestate.of(conn)}
            assert wide["person"]
        assert engine_state(engine)["person"] == shown
        with engine.begin() as conn:
            rematerialize(conn, "person")  # a later revision's rematerialize reads the wide rows
        assert engine_state(engine)["person"] == shown
        with engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0007_field_state")
        with engine.connect() as conn:
            assert sorted(tuple(r) for r in conn.execute(select(t.fields))) == fields
            assert not widestate.of(conn)
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0008_wide_state")
        with engine.connect() as conn:
            assert merge_states(conn) == before
            assert {tb: sorted(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{widestate.name(tb)}"')))
                    for tb in widestate.of(conn)} == wide
    finally:
        engine.dispose()


def json_columns(engine: Engine) -> dict[tuple[str, str, str], str | None]:
    """Every JSON column of every domain table the database has, as it holds it, by (table, id,
    column): its text, or None for SQL NULL (the drivers read a JSON null as None too; the CAST
    keeps the two apart)."""
    out: dict[tuple[str, str, str], str | None] = {}
    with engine.connect() as conn:
        insp = inspect(conn)
        present = set(insp.get_table_names())
        for tb, cls in sorted(schema.TABLES.items()):
            has = {c["name"] for c in insp.get_columns(tb)} if tb in present else set()
            for c in cls.__table__.columns:  # type: ignore[attr-defined]
                if isinstance(c.type, sqltypes.JSON) and c.name in has:
                    for r in conn.execute(text(f'SELECT id, CAST("{c.name}" AS TEXT) FROM "{tb}"')):
                        out[(tb, r[0], c.name)] = r[1]
    return out


def test_rematerializing_before_0007_writes_an_empty_json_column_as_sql_null(county_db: str) -> None:
    """0.1.0 and 0.2.0 wrote an empty JSON column (a card's skills and certificates, a follow-up's
    issues) as JSON null, the text 'null'; the merge path writes SQL NULL. Revision 0005
    re-materializes the cards and follow-ups from the msgpack state: SQL NULL, as the merge path."""
    engine = make_engine(county_db)
    try:
        before = json_columns(engine)
        assert "null" in before.values()  # what the release wrote
        upgrade_to(engine, "0005_identity")
        shown = json_columns(engine)
        assert [k for k in shown if k[0] == "person"] and "null" not in shown.values()
    finally:
        engine.dispose()


def test_an_upgraded_card_shows_an_empty_json_column_as_sql_null_as_the_merge_path_does(county_db: str) -> None:
    """An upgraded card's certificates are SQL NULL, as on a card materialized now: every JSON column
    of the upgraded database equals what materializing every row again from its merge state shows."""
    engine = make_engine(county_db)
    try:
        migrations.upgrade(engine)
        upgraded = json_columns(engine)
        certificates = [v for (tb, _, c), v in upgraded.items() if (tb, c) == ("person", "certificates")]
        assert certificates and set(certificates) == {None}
        with engine.begin() as conn:
            for table in sorted({tb for tb, _, _ in upgraded}):
                rematerialize(conn, table)  # the merge path's materializing, from every row's state
        assert json_columns(engine) == upgraded
    finally:
        engine.dispose()


def test_revision_0009_repairs_the_json_nulls_an_earlier_build_left_in_an_upgraded_database(
        county_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database an earlier build upgraded to 0008 kept the JSON nulls its release wrote (0005
    re-materialized with JSON null too, and 0007 and 0008 re-materialize nothing): 0009 shows those
    columns as the merge path does, SQL NULL, every other value as it was. Pages of 5 rows (20,000
    in use), so a page boundary is crossed."""
    from alembic import command

    monkeypatch.setattr("node.migrations.rematerialize.PAGE", 5)
    engine = make_engine(county_db)
    try:
        left = [k for k, v in json_columns(engine).items() if v == "null"]  # the release's JSON nulls
        upgrade_to(engine, "0008_wide_state")
        json_null = "'null'" if engine.dialect.name == "sqlite" else "CAST('null' AS JSON)"
        with engine.begin() as conn:  # as an earlier build's upgrade left them
            for tb, row, column in left:
                conn.execute(text(f'UPDATE "{tb}" SET "{column}" = {json_null} WHERE id = :id'), {"id": row})
        assert left and {json_columns(engine)[k] for k in left} == {"null"}
        state = engine_state(engine)
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0009_json_null_successor")
        repaired = json_columns(engine)
        assert {repaired[k] for k in left} == {None} and engine_state(engine) == state
        with engine.begin() as conn:
            for table in sorted({tb for tb, _, _ in repaired}):
                rematerialize(conn, table)
        assert json_columns(engine) == repaired
    finally:
        engine.dispose()


def test_revision_0009_indexes_person_successor_and_goes_down_and_up_again(county_db: str) -> None:
    """0009 adds the index the erasure's walk of a successor chain reads; its downgrade drops it and
    leaves every card as it is (an empty JSON column reads as empty in every release, SQL NULL or
    not), and upgrading again gives the same database."""
    from alembic import command

    def indexed(engine: Engine) -> bool:
        with engine.connect() as conn:
            return "ix_person_successor" in {i["name"] for i in inspect(conn).get_indexes("person")}

    engine = make_engine(county_db)
    try:
        upgrade_to(engine, "0009_json_null_successor")
        state, shown = engine_state(engine), json_columns(engine)
        assert indexed(engine)
        with engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0008_wide_state")
        assert not indexed(engine)
        assert engine_state(engine) == state and json_columns(engine) == shown
        with engine.begin() as conn:
            command.upgrade(migrations.config(conn), "0009_json_null_successor")
        assert indexed(engine)
        assert engine_state(engine) == state and json_columns(engine) == shown
    finally:
        engine.dispose()
