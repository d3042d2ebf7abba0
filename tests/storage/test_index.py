"""One contract suite for the SQL index backends: SQLite (file, memory) and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from provenance.storage.index import (
    COLUMNS,
    DEFERRED,
    SqlIndex,
    decode_datetime,
    decode_json,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)

pytest_plugins = ["index_backends"]


def row(i: int, **extra: Any) -> dict[str, Any]:
    base = {
        "id": f"{i:032x}",
        "value_id": f"{i + 1000:032x}",
        "blob_id": f"{i + 2000:032x}",
        "hash_scheme": "xxh3_128/1",
        "name": "f",
        "version": 1,
        "fn_module": "m",
        "fn_name": "f",
        "serializer": "joblib",
        "load_kwargs": None,
        "dump_kwargs": None,
        "composite": False,
        "size": 10,
        "value_inline": b"x",
        "inputs_json": {"kargs": {"x": i}, "varargs": []},
        "inputs_pickle": b"\x80\x05N.",
        "inputs_blob_id": None,
        "input_artifact_ids": [],
        "custom_fields": {},
        "run_info": {"user": "me"},
        "computed_at": T0 + timedelta(seconds=i),
        "compute_duration": 0.5,
        "hash_duration": 0.001,
        "input_id_duration": 0.0001,
    }
    base.update(extra)
    return base


def as_dict(values: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, values))


class TestIndexContract:
    def test_page_walks_every_artifact_once_by_keyset(self, index: SqlIndex) -> None:
        # Five share one timestamp, so the id breaks the tie across pages.
        for i in range(12):
            extra = {"computed_at": T0} if i < 5 else {}
            index.put(row(i, name="train_50%" if i % 3 else "f", **extra), tags=["t"] * (i % 2))
        seen: list[str] = []
        after = None
        while page := index.page(after=after, limit=5):
            assert len(page) <= 5
            seen += [r[0] for r in page]
            after = (page[-1][4], page[-1][0])
        assert sorted(seen) == [row(i)["id"] for i in range(12)] and len(set(seen)) == 12
        assert seen[0] == row(11)["id"]  # newest first
        assert [r[0] for r in index.page(limit=100)] == seen
        named = index.page(name="f", limit=100)
        assert [r[0] for r in named] == [
            row(i)["id"] for i in (9, 6, 0, 3)
        ]  # 0 and 3: a tie, by id
        assert named[0][1:4] == ("f", 1, 10) and named[0][5:] == ("m", "f")
        # A LIKE wildcard in the text is matched as itself.
        assert len(index.page(contains="N_50%", limit=100)) == 8
        assert index.page(contains="n_5_%", limit=100) == []
        assert {r[0] for r in index.page(tag="t", limit=100)} == {
            row(i)["id"] for i in range(1, 12, 2)
        }
        with pytest.raises(ValueError, match="limit"):
            index.page(limit=0)

    def test_page_filters_by_a_custom_field_s_json_scalar(self, index: SqlIndex) -> None:
        fields = [{"team": "vision", "epochs": 3}, {"team": "nlp", "epochs": "3"},
                  {"gpu": True, "epochs": 3.0}, {"gpu": 1}]  # fmt: skip
        for i, custom in enumerate(fields):
            index.put(row(i, custom_fields=custom))

        def ids(key: str, value: Any) -> set[str]:
            return {r[0] for r in index.page(field=(key, value), limit=100)}

        assert ids("team", "vision") == {row(0)["id"]}
        assert ids("epochs", 3) == {row(0)["id"], row(2)["id"]}  # 3.0 is 3, "3" is not
        assert ids("epochs", "3") == {row(1)["id"]}
        assert ids("gpu", True) == {row(2)["id"]}  # 1 is not true
        assert ids("missing", "x") == set()
        with pytest.raises(ValueError, match="custom field key"):
            index.page(field=("a'b", 1))
        with pytest.raises(TypeError, match="JSON scalar"):
            index.page(field=("team", ["x"]))
        with pytest.raises(TypeError, match="after"):
            index.page(after=("2026", "x"))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="after"):  # before the search finds no name
            index.page(contains="no-such-name", after=("2026", "x"))  # type: ignore[arg-type]

    def test_put_and_get(self, index: SqlIndex) -> None:
        assert index.put(row(1))
        got = as_dict(index.get(row(1)["id"]))
        assert got["value_id"] == row(1)["value_id"]
        # What a cache hit does not need is fetched only when asked for.
        assert got["inputs_json"] is DEFERRED and got["run_info"] is DEFERRED
        deferred = index.get_deferred(row(1)["id"])
        assert decode_datetime(deferred["computed_at"]) == T0 + timedelta(seconds=1)
        assert decode_json(deferred["inputs_json"]) == {"kargs": {"x": 1}, "varargs": []}
        assert bytes(deferred["inputs_pickle"]) == b"\x80\x05N."
        assert decode_json(deferred["run_info"]) == {"user": "me"}
        assert index.exists(row(1)["id"])
        assert index.get("f" * 32) is None
        assert not index.exists("f" * 32)

    def test_insert_is_get_or_create(self, index: SqlIndex) -> None:
        assert index.put(row(1))
        assert not index.put(row(1, value_id="e" * 32))
        assert as_dict(index.get(row(1)["id"]))["value_id"] == row(1)["value_id"]
        assert index.put(row(1, value_id="e" * 32), replace=True)
        assert as_dict(index.get(row(1)["id"]))["value_id"] == "e" * 32
        assert index.count() == 1

    def test_edges_and_tags(self, index: SqlIndex) -> None:
        index.put(row(1))
        index.put(row(2), edges=[(row(1)["id"], "data"), (row(1)["id"], "other")], tags=["a", "b"])
        assert index.lineage_edges(row(2)["id"]) == [
            (row(1)["id"], "data"),
            (row(1)["id"], "other"),
        ]
        assert index.tags_of(row(2)["id"]) == ["a", "b"]
        assert index.delete(row(2)["id"])
        assert index.lineage_edges(row(2)["id"]) == []
        assert index.tags_of(row(2)["id"]) == []
        assert not index.delete(row(2)["id"])

    def test_find_newest_first_with_filters(self, index: SqlIndex) -> None:
        for i in range(5):
            index.put(
                row(i, name="g" if i % 2 else "f", custom_fields={"k": i, "s": f"v{i}"}),
                tags=["odd"] if i % 2 else [],
            )
        ids = [r[0] for r in index.find()]
        assert ids == [row(i)["id"] for i in (4, 3, 2, 1, 0)]
        assert [r[0] for r in index.find(name="g")] == [row(3)["id"], row(1)["id"]]
        assert [r[0] for r in index.find(tags=["odd"], limit=1)] == [row(3)["id"]]
        assert [r[0] for r in index.find(custom_fields={"k": 2})] == [row(2)["id"]]
        assert [r[0] for r in index.find(custom_fields={"s": "v4"})] == [row(4)["id"]]
        assert [r[0] for r in index.find(value_id=row(0)["value_id"])] == [row(0)["id"]]

    def test_summaries_and_input_footprints(self, index: SqlIndex) -> None:
        # What `provenance ls` reads: newest first, by name, limited; and the
        # bytes each artifact's inputs take.
        stored = {"$input": {"blob": "ab" * 16 + ".in", "serializer": "joblib", "size": 7},
                  "$hash": "cd" * 16}  # fmt: skip
        index.put(row(1, name="a", size=5, inputs_pickle=b"12345"))
        index.put(row(2, name="b", size=None, inputs_pickle=None, inputs_blob_id="e" * 32))
        index.put(row(3, name="a", inputs_json={"kargs": {"x": stored}, "varargs": []}))
        got = index.summaries()
        assert [r[0] for r in got] == [row(i)["id"] for i in (3, 2, 1)]
        assert got[2] == (row(1)["id"], "a", 1, 5, T0 + timedelta(seconds=1))
        assert got[1][3] is None
        assert [r[0] for r in index.summaries(name="a")] == [row(3)["id"], row(1)["id"]]
        assert [r[0] for r in index.summaries(limit=1)] == [row(3)["id"]]
        assert index.summaries(name="none") == []
        with pytest.raises(ValueError, match="name looked up"):
            index.summaries(name="x" * 300)
        feet = index.input_footprints([row(i)["id"] for i in (1, 2, 3)] + ["f" * 32])
        assert feet[row(1)["id"]] == (5, None, [])
        assert feet[row(2)["id"]] == (0, "e" * 32, [])
        inline, blob, refs = feet[row(3)["id"]]
        assert (inline, blob) == (len(b"\x80\x05N."), None)
        assert [(r.parameter, r.blob, r.size, r.value_hash) for r in refs] == [
            ("x", "ab" * 16 + ".in", 7, "cd" * 16)
        ]
        assert "f" * 32 not in feet

    def test_get_many_and_prefixes(self, index: SqlIndex) -> None:
        for i in range(1200):
            index.put(row(i))
        wanted = [row(i)["id"] for i in range(0, 1200, 3)] + ["f" * 32]
        found = index.get_many(wanted)
        assert len(found) == 400
        # Whole rows, their values decoded, on every index.
        got = as_dict(found[row(3)["id"]])
        assert got["inputs_json"] == {"kargs": {"x": 3}, "varargs": []}
        assert got["run_info"] == {"user": "me"} and got["composite"] is False
        assert got["computed_at"] == T0 + timedelta(seconds=3)
        assert index.ids_with_prefix(row(1100)["id"]) == [row(1100)["id"]]
        assert index.ids_with_prefix("f") == []
        assert len(index.ids_with_prefix("0000")) == 2
        assert sorted(index.iter_ids()) == sorted(row(i)["id"] for i in range(1200))

    def test_concurrent_writers_of_one_id(self, index: SqlIndex) -> None:
        results: list[bool] = []
        errors: list[BaseException] = []

        def write() -> None:
            try:
                results.append(index.put(row(9), tags=["t"]))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert results.count(True) == 1
        assert index.count() == 1

    def test_reads_from_many_threads(self, index: SqlIndex) -> None:
        index.put(row(1))
        seen: list[Any] = []

        def read() -> None:
            for _ in range(50):
                seen.append(index.get(row(1)["id"])[0])

        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [row(1)["id"]] * 200


def test_invalid_url_is_a_config_error() -> None:
    from provenance.errors import ConfigError

    with pytest.raises(ConfigError, match="db"):
        SqlIndex("not a url at all ://")


@pytest.mark.postgres
def test_postgres_schemas_keep_repos_apart(postgres_url: str) -> None:
    a = SqlIndex(postgres_url, schema="team_a")
    b = SqlIndex(postgres_url, schema="team_b")
    a.put(row(1))
    assert a.exists(row(1)["id"])
    assert not b.exists(row(1)["id"])
    assert b.count() == 0
    a.dispose()
    b.dispose()


@pytest.mark.postgres
def test_postgres_json_columns_are_queryable(postgres_url: str) -> None:
    idx = SqlIndex(postgres_url)
    idx.put(row(1, custom_fields={"team": "x", "n": 3, "ok": True}))
    idx.put(row(2, custom_fields={"team": "y"}))
    assert [r[0] for r in idx.find(custom_fields={"team": "x", "n": 3, "ok": True})] == [
        row(1)["id"]
    ]
    idx.dispose()


@pytest.mark.postgres
def test_postgres_indexes_exist(postgres_url: str) -> None:
    from sqlalchemy import inspect

    idx = SqlIndex(postgres_url)
    insp = inspect(idx.engine)
    indexed = {tuple(i["column_names"]) for t in ("artifacts", "artifact_lineage", "artifact_tags",
               "artifact_fields", "artifact_sets", "artifact_set_members")
               for i in insp.get_indexes(t)}  # fmt: skip
    for columns in [("value_id",), ("name", "computed_at"), ("fn_name", "computed_at"),
                    ("input_artifact_id",), ("tag", "computed_at"),
                    ("name", "value_hash", "computed_at"), ("labels_hash",),
                    ("name", "created_at"), ("artifact_id",)]:  # fmt: skip
        assert columns in indexed, columns
    idx.dispose()


class TestMemoryIndexLifetime:
    """An in-memory index is its one connection (issue 14, gap 16)."""

    def test_closing_its_engine_makes_it_gone(self) -> None:
        idx = SqlIndex("sqlite://")
        assert idx.put(row(1)) and idx.get(row(1)["id"]) is not None
        assert not idx.gone
        idx.engine.dispose()
        assert idx.gone
        other = SqlIndex("sqlite://")
        other.dispose()
        assert other.gone

    def test_a_collected_index_closes_its_connection(self) -> None:
        import gc
        import sqlite3

        idx = SqlIndex("sqlite://")
        idx.get(row(1)["id"])
        conn = idx._memory_conn
        assert conn is not None
        del idx
        gc.collect()
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")

    def test_dispose_waits_for_a_running_read(self) -> None:
        idx = SqlIndex("sqlite://")
        idx.put(row(1))
        assert idx._lock is not None
        with idx._lock:
            closer = threading.Thread(target=idx.dispose)
            closer.start()
            closer.join(0.2)
            assert closer.is_alive() and not idx.gone  # waits for the lock holder
            assert idx.get(row(1)["id"]) is not None
        closer.join(5)
        assert idx.gone
