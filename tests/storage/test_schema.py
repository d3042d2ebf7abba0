"""The index schema: created by Alembic, checked cheaply on open, upgrades explained."""

from __future__ import annotations

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
