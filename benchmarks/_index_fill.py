"""Filling an SQLite index fast with realistic artifact rows and lineage edges.

The index and lineage benchmarks need up to a million artifacts: recording
them through the decorator (about a millisecond each) or ``SqlIndex.put``
(a transaction each) would take longer than the whole benchmark run.  Rows
are therefore inserted directly, in big transactions, through the DBAPI
connection of the index's own engine.

The rows are realistic: every column is copied from the row the decorator
wrote for a real cached call (:func:`template_row`), serialized by the
index's own SQLAlchemy column types, and only the ids, the inputs and the
time change from row to row.  A column added to the schema later is filled
from the template without any change here.

Loading drops the secondary indexes of ``artifacts`` and builds them again at
the end (the usual way to bulk-load a database; the result is the same
schema), with SQLite's journal off; the primary-key index is built row by
row in random id order, as a real index grows.  The database is switched back
to WAL and the filling connection is closed, so that the benchmarks then read
it through a fresh :class:`~provenance.storage.index.SqlIndex` with its ordinary
settings.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

#: When the synthetic artifacts were "computed" (one second apart from here).
T0 = datetime(2025, 1, 6, 9, 0, 0)


def random_ids(n: int) -> list[str]:
    """``n`` random 128-bit ids in lowercase hex, like the real ones (xxh3_128)."""
    text = os.urandom(16 * n).hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def template_row() -> dict[str, Any]:
    """Every column of the row the decorator records for a real cached call.

    ``small_fn(7, "abc", 2.5)`` of ``_subjects`` is called once through
    ``@provenance`` in a memory repo; its row (values decoded) is returned.
    """
    import _subjects

    import provenance
    from provenance.storage.index import COLUMNS

    repo = provenance.memory_repo()
    with provenance.using_repo(repo):
        proxy = provenance.provenance()(_subjects.small_fn)(7, "abc", 2.5)
    artifact_id = proxy.artifact.id
    row = repo.index.get_many([artifact_id])[artifact_id]
    return dict(zip(COLUMNS, row))


class RowMaker:
    """Builds rows for a raw ``executemany`` into the ``artifacts`` table.

    The template's columns are serialized once by the index's own column
    types; :meth:`make` serializes only what varies.
    """

    def __init__(self, engine: Any, template: Mapping[str, Any]) -> None:
        from provenance.storage.index import COLUMNS
        from provenance.storage.models import ArtifactRow

        table = ArtifactRow.__table__
        dialect = engine.dialect
        self.columns: tuple[str, ...] = COLUMNS
        self._process: dict[str, Callable[[Any], Any]] = {}
        for column in table.columns:
            proc = column.type.bind_processor(dialect)
            self._process[column.name] = proc if proc is not None else (lambda v: v)
        self.base = {name: self._process[name](template[name]) for name in COLUMNS}
        self.template = dict(template)
        self._positions = {name: i for i, name in enumerate(COLUMNS)}
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        self._base_list = [self.base[name] for name in COLUMNS]

    def make(self, raw: Mapping[str, Any] | None = None, **values: Any) -> tuple[Any, ...]:
        """A row: the template with ``values`` (column name to Python value) replaced.

        ``raw`` holds values already in their database form (JSON text...).
        """
        row = list(self._base_list)
        positions = self._positions
        process = self._process
        for name, value in values.items():
            row[positions[name]] = process[name](value)
        for name, value in (raw or {}).items():
            row[positions[name]] = value
        return tuple(row)


def small_call_rows(
    maker: RowMaker, ids: Sequence[str], start: int = 0
) -> Iterator[tuple[Any, ...]]:
    """Rows of calls ``small_fn(i, "abc", 2.5)`` with the given artifact ids.

    Each row holds its own result inline (pickled as the joblib serializer
    writes a small dict), under the hash of those bytes, so that loading
    any of them works.  ``value_id`` is random (it would be the value's
    hash): computing a million value hashes would only slow the set-up.
    """
    import pickle

    from provenance.hashing import hash_bytes

    value_ids = random_ids(len(ids))
    json_in = maker.template.get("inputs_json")
    check = '{"i": 7, "s": "abc", "x": 2.5, "__varargs": []}'
    # The inputs are formatted directly (json.dumps per row would double the
    # set-up time); this checks the format against the template's columns.
    if json_in != json.loads(check):
        raise RuntimeError(f"unexpected inputs_json in the template row: {json_in!r}")
    for k, artifact_id in enumerate(ids):
        i = start + k
        value = pickle.dumps({"i": i, "s": "abc", "x": 2.5, "items": [i, i * 2, i * 3]}, 4)
        yield maker.make(
            raw={"inputs_json": f'{{"i": {i}, "s": "abc", "x": 2.5, "__varargs": []}}'},
            id=artifact_id,
            value_id=value_ids[k],
            blob_id=hash_bytes(value),
            value_inline=value,
            size=len(value),
            computed_at=T0 + timedelta(seconds=i),
        )


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_load(
    index: Any,
    rows: Iterable[tuple[Any, ...]],
    maker: RowMaker,
    edges: Iterable[tuple[str, str, str]] = (),
    batch: int = 100_000,
) -> None:
    """Insert artifact ``rows`` (from ``maker``), then lineage ``edges``, into ``index``.

    ``edges`` are ``(artifact_id, input_artifact_id, parameter)``.  The
    index's engine is disposed of afterwards: open a new ``SqlIndex`` on the
    same URL to read.
    """
    engine = index.engine
    engine.dispose()  # no other connection may hold the database while the journal changes
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        db.execute("PRAGMA cache_size = -1000000")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        ddl = [
            r[0]
            for r in db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'artifacts' AND sql IS NOT NULL"
            )
        ]
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'artifacts' AND sql IS NOT NULL"
            )
        ]
        db.execute("BEGIN")
        for name in names:
            db.execute(f'DROP INDEX "{name}"')
        db.execute("COMMIT")
        for chunk in _batches(rows, batch):
            db.execute("BEGIN")
            db.executemany(maker.sql, chunk)
            db.execute("COMMIT")
        edge_sql = (
            "INSERT INTO artifact_lineage (artifact_id, input_artifact_id, parameter) "
            "VALUES (?, ?, ?)"
        )
        for chunk in _batches(edges, batch):
            db.execute("BEGIN")
            db.executemany(edge_sql, chunk)
            db.execute("COMMIT")
        db.execute("BEGIN")
        for statement in ddl:
            db.execute(statement)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        raw.invalidate()  # closes the connection: it carries the loading pragmas
        engine.dispose()


def db_size(url_path: str) -> int:
    """Bytes of an SQLite database with its WAL file."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(FileNotFoundError):
            total += os.path.getsize(url_path + suffix)
    return total


# -- pipelines with lineage ------------------------------------------------------------

#: Function names of the synthetic pipeline steps, by layer.
STEP_NAMES = ("load", "clean", "join", "features", "fit", "score", "select", "summarize")


def make_list(i: int) -> list[int]:
    """A pipeline's first step (for :func:`pipeline_template`)."""
    return list(range(i))


def combine(a: Any, b: Any, alpha: float = 0.5) -> dict[str, Any]:
    """A pipeline step with two artifact inputs (for :func:`pipeline_template`)."""
    return {"alpha": alpha, "n": 2}


def pipeline_template() -> dict[str, Any]:
    """The row of a real call with two artifact inputs, ``combine(a, b, alpha=0.5)``."""
    import provenance
    from provenance.storage.index import COLUMNS

    repo = provenance.memory_repo()
    with provenance.using_repo(repo):
        make = provenance.provenance()(make_list)
        step = provenance.provenance()(combine)
        proxy = step(make(3), make(4), alpha=0.5)
    artifact_id = proxy.artifact.id
    row = repo.index.get_many([artifact_id])[artifact_id]
    return dict(zip(COLUMNS, row))


class Pipeline:
    """Synthetic artifacts with lineage, as rows and edges for :func:`bulk_load`.

    Each artifact records its inputs as the decorator does: ``inputs_json``
    in the original library's flat layout, with ``{"id", "type":
    "ArtifactProxy", "name"}`` for artifact inputs and plain values for
    literals, ``input_artifact_ids``, and one edge per artifact input named
    by its parameter.  The value of every artifact is the template's (a small
    inline value), so any of them loads.
    """

    def __init__(self, maker: RowMaker) -> None:
        self.maker = maker
        self.rows: list[tuple[Any, ...]] = []
        self.ids: list[str] = []
        self.edges: list[tuple[str, str, str]] = []
        self._t = 0

    def add(self, name: str, inputs: Mapping[str, Any]) -> str:
        """Record a call of ``name``; artifact inputs are given as ``Ref(id)``."""
        artifact_id = random_ids(1)[0]
        self.ids.append(artifact_id)
        kargs: dict[str, Any] = {}
        parents: list[str] = []
        for pname, value in inputs.items():
            if isinstance(value, Ref):
                kargs[pname] = {"id": value.id, "type": "ArtifactProxy", "name": None}
                self.edges.append((artifact_id, value.id, pname))
                parents.append(value.id)
            elif isinstance(value, list) and value and isinstance(value[0], Ref):
                kargs[pname] = [{"id": v.id, "type": "ArtifactProxy", "name": None} for v in value]
                for i, v in enumerate(value):
                    self.edges.append((artifact_id, v.id, f"{pname}[{i}]"))
                    parents.append(v.id)
            else:
                kargs[pname] = value
        self._t += 1
        self.rows.append(
            self.maker.make(
                raw={
                    "inputs_json": json.dumps({**kargs, "__varargs": []}),
                    "input_artifact_ids": json.dumps(list(dict.fromkeys(parents))),
                },
                id=artifact_id,
                value_id=random_ids(1)[0],
                name=name,
                fn_name=name,
                inputs_pickle=None,
                computed_at=T0 + timedelta(seconds=self._t),
            )
        )
        return artifact_id


class Ref:
    """An artifact input of a :class:`Pipeline` step."""

    __slots__ = ("id",)

    def __init__(self, artifact_id: str) -> None:
        self.id = artifact_id


def chain(pipeline: Pipeline, n: int) -> str:
    """``n`` artifacts, each computed from the one before (checkpoints of a long run)."""
    last = pipeline.add("load", {"path": "data/raw.parquet"})
    for k in range(1, n):
        last = pipeline.add("step", {"state": Ref(last), "epoch": k, "lr": 0.001})
    return last


def layered_dag(pipeline: Pipeline, width: int, depth: int, seed: int = 0) -> str:
    """``width * depth`` artifacts in layers, plus the final one, whose id is returned.

    Layer 0 loads ``width`` inputs; every later artifact ``(k, j)`` is computed
    from ``(k-1, j)`` and ``(k-1, j+1 mod width)`` and, one time in four, also
    from a random artifact of an earlier layer (a skip connection, such as
    reusing the raw data); the final artifact combines the whole last layer.
    Every artifact is an ancestor of the final one.
    """
    import random

    rng = random.Random(seed)
    layers: list[list[str]] = [
        [pipeline.add("load", {"path": f"data/part-{j:04d}.parquet"}) for j in range(width)]
    ]
    for k in range(1, depth):
        prev = layers[-1]
        name = STEP_NAMES[1 + (k - 1) % (len(STEP_NAMES) - 1)]
        layer = []
        for j in range(width):
            inputs: dict[str, Any] = {
                "a": Ref(prev[j]),
                "b": Ref(prev[(j + 1) % width]),
                "alpha": round(0.1 * (j % 10), 1),
            }
            if k >= 2 and rng.random() < 0.25:
                inputs["extra"] = Ref(rng.choice(layers[rng.randrange(k - 1)]))
            layer.append(pipeline.add(name, inputs))
        layers.append(layer)
    return pipeline.add("report", {"results": [Ref(i) for i in layers[-1]], "title": "all"})
