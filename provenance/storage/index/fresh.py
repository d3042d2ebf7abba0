"""A new SQLite index file, made with :mod:`sqlite3` alone: the schema's DDL, then its revision.

Creating the schema through SQLAlchemy and Alembic costs a third of a
second of imports; a process whose first use of a repo creates it (a
first ``python flow.py run``, a first cached call) makes the file here
instead, in a private file moved into place once complete, so that another
process never sees a half-made index and two that race both end with the
same one.  ``tests/storage/test_index_light.py`` checks that the DDL is
exactly what the migrations make (``sqlite_master`` row for row); a new
migration regenerates it::

    python -m provenance.storage.index.fresh
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys

from ..revisions import SCHEMA_HEAD
from .drivers import _follow_umask

__all__ = ["SCHEMA_DDL", "create_sqlite_file"]

#: ``sqlite_master.sql`` of a database the migrations made, in creation order.
SCHEMA_DDL: tuple[str, ...] = (
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)",
    "CREATE TABLE artifacts (\n\tid VARCHAR(128) NOT NULL, \n\tvalue_id VARCHAR(128) NOT NULL, \n\tblob_id VARCHAR(160), \n\thash_scheme VARCHAR(32) NOT NULL, \n\tname VARCHAR(255) NOT NULL, \n\tversion INTEGER NOT NULL, \n\tfn_module VARCHAR(255), \n\tfn_name VARCHAR(255), \n\tserializer VARCHAR(64) NOT NULL, \n\tload_kwargs JSON, \n\tdump_kwargs JSON, \n\tcomposite BOOLEAN NOT NULL, \n\tsize BIGINT, \n\tvalue_inline BLOB, \n\tinputs_json JSON, \n\tinputs_pickle BLOB, \n\tinputs_blob_id VARCHAR(160), \n\tinput_artifact_ids JSON, \n\tcustom_fields JSON, \n\trun_info JSON, \n\tcomputed_at DATETIME NOT NULL, \n\tcompute_duration FLOAT, \n\thash_duration FLOAT, \n\tinput_id_duration FLOAT, code_fingerprint VARCHAR(64), input_hashes JSON, \n\tPRIMARY KEY (id)\n)",
    "CREATE INDEX ix_artifacts_value_id ON artifacts (value_id)",
    "CREATE INDEX ix_artifacts_blob_id ON artifacts (blob_id)",
    "CREATE INDEX ix_artifacts_name_computed_at ON artifacts (name, computed_at)",
    "CREATE INDEX ix_artifacts_computed_at ON artifacts (computed_at)",
    "CREATE TABLE artifact_lineage (\n\tartifact_id VARCHAR(128) NOT NULL, \n\tinput_artifact_id VARCHAR(128) NOT NULL, \n\tparameter VARCHAR(255) NOT NULL, \n\tPRIMARY KEY (artifact_id, input_artifact_id, parameter), \n\tFOREIGN KEY(artifact_id) REFERENCES artifacts (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_artifact_lineage_input_artifact_id ON artifact_lineage (input_artifact_id)",
    "CREATE TABLE artifact_tags (\n\tartifact_id VARCHAR(128) NOT NULL, \n\ttag VARCHAR(500) NOT NULL, computed_at DATETIME, \n\tPRIMARY KEY (artifact_id, tag), \n\tFOREIGN KEY(artifact_id) REFERENCES artifacts (id) ON DELETE CASCADE\n)",
    "CREATE TABLE artifact_sets (\n\tid VARCHAR(128) NOT NULL, \n\tname VARCHAR(255), \n\tlabels JSON, \n\tlabels_hash VARCHAR(128) NOT NULL, \n\tsize INTEGER NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tPRIMARY KEY (id)\n)",
    "CREATE INDEX ix_artifact_sets_labels_hash ON artifact_sets (labels_hash)",
    "CREATE INDEX ix_artifact_sets_name_created_at ON artifact_sets (name, created_at)",
    "CREATE TABLE artifact_set_members (\n\tset_id VARCHAR(128) NOT NULL, \n\tartifact_id VARCHAR(128) NOT NULL, \n\tPRIMARY KEY (set_id, artifact_id), \n\tFOREIGN KEY(set_id) REFERENCES artifact_sets (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_artifact_set_members_artifact_id ON artifact_set_members (artifact_id)",
    "CREATE TABLE runs (\n\tid INTEGER NOT NULL, \n\tflow VARCHAR(255) NOT NULL, \n\trun_number INTEGER NOT NULL, \n\tuser VARCHAR(255), \n\tstatus VARCHAR(16) NOT NULL, \n\timplicit BOOLEAN NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tfinished_at DATETIME, \n\tinfo JSON, \n\tPRIMARY KEY (id), \n\tCONSTRAINT uq_runs_flow_run_number UNIQUE (flow, run_number)\n)",
    "CREATE INDEX ix_runs_flow_status_run_number ON runs (flow, status, run_number)",
    "CREATE TABLE run_tags (\n\trun_id INTEGER NOT NULL, \n\ttag VARCHAR(500) NOT NULL, \n\tsystem BOOLEAN NOT NULL, \n\tPRIMARY KEY (run_id, tag), \n\tFOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_run_tags_tag_run_id ON run_tags (tag, run_id)",
    "CREATE TABLE tasks (\n\tid INTEGER NOT NULL, \n\trun_id INTEGER NOT NULL, \n\tstep VARCHAR(255) NOT NULL, \n\ttask_number INTEGER NOT NULL, \n\tartifact_id VARCHAR(128), \n\tcached BOOLEAN NOT NULL, \n\tsuccessful BOOLEAN NOT NULL, \n\texception JSON, \n\tparams JSON, \n\tstarted_at DATETIME NOT NULL, \n\tfinished_at DATETIME, hits INTEGER DEFAULT 1 NOT NULL, \n\tPRIMARY KEY (id), \n\tCONSTRAINT uq_tasks_run_step_number UNIQUE (run_id, step, task_number), \n\tFOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_tasks_artifact_id_cached ON tasks (artifact_id, cached)",
    "CREATE TABLE code_sources (\n\tfingerprint VARCHAR(64) NOT NULL, \n\tsource TEXT NOT NULL, \n\tpackages JSON, \n\tcreated_at DATETIME NOT NULL, \n\tPRIMARY KEY (fingerprint)\n)",
    "CREATE INDEX ix_artifact_tags_tag_computed_at ON artifact_tags (tag, computed_at)",
    "CREATE TABLE artifact_fields (\n\tartifact_id VARCHAR(128) NOT NULL, \n\tname VARCHAR(255) NOT NULL, \n\tvalue_hash VARCHAR(32) NOT NULL, \n\tcomputed_at DATETIME, \n\tPRIMARY KEY (artifact_id, name), \n\tFOREIGN KEY(artifact_id) REFERENCES artifacts (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_artifact_fields_name_value_hash_computed_at ON artifact_fields (name, value_hash, computed_at)",
    "CREATE INDEX ix_artifacts_fn_name_computed_at ON artifacts (fn_name, computed_at)",
)


def create_sqlite_file(path: str) -> bool:
    """Make an index at ``path`` if there is no file there; whether this call made it.

    Raises
    ------
    OSError, sqlite3.Error
        When the file cannot be made (the caller leaves it to the full index,
        which reports why).
    """
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.new"
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN")
            for statement in SCHEMA_DDL:
                conn.execute(statement)
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (SCHEMA_HEAD,))
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection: the WAL is folded back into the file
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs stands
        except FileExistsError:
            return False
        _follow_umask(path)
        return True
    finally:
        for name in (tmp, tmp + "-wal", tmp + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


def _migrated_ddl(path: str) -> tuple[str, ...]:
    """The DDL of a database the migrations made at ``path`` (for the check and the regeneration)."""
    from .sql import SqlIndex

    index = SqlIndex("sqlite:///" + path)
    index.dispose()
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
        return tuple(row[0] for row in rows)
    finally:
        conn.close()


if __name__ == "__main__":  # pragma: no cover (a maintainer's tool)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for statement in _migrated_ddl(os.path.join(tmp, "index.db")):
            sys.stdout.write(f"    {statement!r},\n")
