"""The index schema: created by Alembic, checked cheaply on open, upgrades explained."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import provenance as p
from provenance.storage import schema
from provenance.storage.index import SqlIndex
from provenance.storage.models import Base


def test_head_constant_matches_alembic() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", schema._MIGRATIONS)
    script = ScriptDirectory.from_config(cfg)
    assert script.get_current_head() == schema.SCHEMA_HEAD
    revisions = [r.revision for r in script.walk_revisions()]
    assert sorted(revisions) == sorted(schema.KNOWN_REVISIONS)


def test_migrations_match_the_models(tmp_path: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    index = SqlIndex(f"sqlite:///{tmp_path / 'i.db'}")
    with index.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_new_database_gets_the_head_revision(tmp_path: Any) -> None:
    index = SqlIndex(f"sqlite:///{tmp_path / 'i.db'}")
    assert schema.current_revision(index.engine) == schema.SCHEMA_HEAD


def test_unknown_revision_is_refused(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    SqlIndex(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zzzz'"))
    with pytest.raises(p.SchemaError, match="unknown"):
        SqlIndex(url)


def test_outdated_schema_says_how_to_upgrade_and_upgrades(tmp_path: Any) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0001")
    assert schema.current_revision(engine) == "0001"
    cfg = {
        "blobstores": {"d": {"type": "disk", "cachedir": str(tmp_path / "blobs")}},
        "artifact_repos": {"old": {"type": "sql", "db": url, "store": "d"}},
        "default_repo": "old",
    }
    p.load_config(cfg)  # building the repo works; using it explains what to do

    @p.provenance()
    def f(x: int) -> int:
        return x

    with pytest.raises(p.SchemaOutdated, match="provenance db upgrade"):
        f(1)
    p.upgrade_schema("old")
    assert schema.current_revision(engine) == schema.SCHEMA_HEAD
    assert f(1) == 1


def test_foreign_tables_are_refused(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE artifacts (id TEXT)"))
    with pytest.raises(p.SchemaError, match="not created by this library"):
        SqlIndex(url)


def test_schema_option_needs_postgresql(tmp_path: Any) -> None:
    with pytest.raises(p.ConfigError, match="schema"):
        SqlIndex(f"sqlite:///{tmp_path / 'i.db'}", schema="team")


def test_upgrade_db_upgrades_on_open(tmp_path: Any) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0001")
    index = SqlIndex(url, upgrade_db=True)
    assert schema.current_revision(engine) == schema.SCHEMA_HEAD
    assert index.count() == 0


_OPEN_AND_UPGRADE = """
import sys, time
from provenance.storage.index import SqlIndex
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
index = SqlIndex(sys.argv[1], upgrade_db=True)
print(index.count())
"""


@pytest.mark.postgres
@pytest.mark.parametrize("pg_schema", [None, "team"])
def test_processes_upgrading_one_postgres_index_at_once_take_turns(
    postgres_url: str, pg_schema: str | None
) -> None:
    """Issue 15, item 9: processes open a 0001 index with upgrade_db at once (four were
    enough for one or two to fail with UniqueViolation before the advisory lock)."""
    import subprocess
    import sys
    import time

    from alembic import command

    SqlIndex(postgres_url, create_schema=False).engine.dispose()  # creates the database only
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        if pg_schema:
            conn.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
            conn.execute(text(f'SET search_path TO "{pg_schema}"'))
        command.upgrade(schema._alembic_config(conn), "0001")
    url = postgres_url
    code = _OPEN_AND_UPGRADE
    if pg_schema:
        code = code.replace(
            "SqlIndex(sys.argv[1], upgrade_db=True)",
            f"SqlIndex(sys.argv[1], upgrade_db=True, schema={pg_schema!r})",
        )
    start = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert out.strip() == "0"
    index = SqlIndex(url, schema=pg_schema)
    assert schema.current_revision(index.engine) == schema.SCHEMA_HEAD


def test_upgrading_to_0006_indexes_the_tags_and_fields_already_stored(tmp_path: Any) -> None:
    from alembic import command

    from tests.storage.test_index import row

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0005")
        for i, custom in enumerate([{"team": "a", "n": 3}, {"team": "b"}, None, {"team": "a"}]):
            r = row(i)
            conn.execute(
                text(
                    "INSERT INTO artifacts (id, value_id, hash_scheme, name, version, serializer, "
                    "composite, custom_fields, computed_at) VALUES (:id, :value_id, :hash_scheme, "
                    ":name, :version, :serializer, 0, :custom, :when)"
                ),
                {**r, "custom": None if custom is None else json.dumps(custom),
                 "when": f"2026-01-02 03:04:0{i}.000000"},
            )  # fmt: skip
            conn.execute(text("INSERT INTO artifact_tags (artifact_id, tag) VALUES (:i, 't')"),
                         {"i": r["id"]})  # fmt: skip
    engine.dispose()
    index = SqlIndex(url, upgrade_db=True)
    try:
        assert schema.current_revision(index.engine) == "0006"
        newest_first = [row(i)["id"] for i in (3, 2, 1, 0)]
        assert [r[0] for r in index.page(tag="t")] == newest_first
        # The tags' computed_at is the artifacts': a keyset page goes on from it.
        after = (datetime(2026, 1, 2, 3, 4, 3, tzinfo=timezone.utc), newest_first[0])
        assert [r[0] for r in index.page(tag="t", limit=2, after=after)] == newest_first[1:3]
        assert [r[0] for r in index.page(field=("team", "a"))] == [row(3)["id"], row(0)["id"]]
        assert [r[0] for r in index.page(field=("n", 3))] == [row(0)["id"]]
    finally:
        index.dispose()
