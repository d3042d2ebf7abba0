"""The @provenance decorator: caching, argument normalization, lineage, options."""

from __future__ import annotations

import functools
import os
import pathlib
import pickle
from typing import Any

import pytest

import provenance as p
from provenance.errors import HashingError, ImpureFunctionError
from provenance.storage import artifact as storage_artifact


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_second_call_is_served_from_the_cache(repo: Any) -> None:
    runs = Counter()

    @p.provenance(version=1)
    def add(a: int, b: int = 2) -> int:
        runs()
        return a + b

    first = add(1)
    second = add(1)
    assert first == second == 3
    assert runs.calls == 1
    assert first.artifact.id == second.artifact.id
    assert first.artifact.name == f"{__name__}.add"
    assert first.artifact.version == 1


def test_arguments_are_normalized_by_signature(repo: Any) -> None:
    runs = Counter()

    @p.provenance()
    def f(a: int, b: int = 2) -> int:
        runs()
        return a * b

    ids = {f(1, b=2).artifact.id, f(1, 2).artifact.id, f(1).artifact.id, f(a=1).artifact.id}
    assert len(ids) == 1
    assert runs.calls == 1
    assert f(1, 3).artifact.id not in ids


def test_bare_decorator_without_parentheses(repo: Any) -> None:
    @p.provenance
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    assert double(4).artifact.name == f"{__name__}.double"
    assert isinstance(double, p.ProvenanceFunction)


def test_version_and_name_change_the_id(repo: Any) -> None:
    def body(x: int) -> int:
        return x

    v1 = p.provenance(version=1, name="thing")(body)
    v2 = p.provenance(version=2, name="thing")(body)
    other = p.provenance(version=1, name="other")(body)
    assert len({v1(1).artifact.id, v2(1).artifact.id, other(1).artifact.id}) == 3


def test_lineage_is_recorded(repo: Any) -> None:
    @p.provenance(version=1)
    def load_data(path: str, n_rows: int | None = None) -> list[int]:
        return list(range(10))

    @p.provenance()
    def train(data: list[int], alpha: float = 0.1) -> float:
        return sum(data) * alpha

    data = load_data("iris.csv")
    model = train(data, alpha=0.5)
    assert model == 22.5
    art = model.artifact
    assert art.input_artifact_ids == [data.artifact.id]
    assert art.inputs["kargs"]["alpha"] == 0.5
    assert art.inputs["kargs"]["data"] == list(range(10))
    assert p.is_proxy(art.inputs["kargs"]["data"])
    assert art.inputs["kargs"]["data"].artifact.id == data.artifact.id
    assert repo.index.lineage_edges(art.id) == [(data.artifact.id, "data")]
    assert art.inputs_json["data"] == {
        "id": data.artifact.id,
        "type": "ArtifactProxy",
        "name": data.artifact.name,
    }
    assert art.inputs_summary["kargs"]["data"] == art.inputs_json["data"]
    assert art.value_id == p.hash_value(22.5)


def test_proxy_input_has_the_id_of_the_raw_value(repo: Any) -> None:
    @p.provenance()
    def make() -> list[int]:
        return [1, 2, 3]

    @p.provenance()
    def total(xs: list[int]) -> int:
        return sum(xs)

    proxy = make()
    assert total(proxy).artifact.id == total([1, 2, 3]).artifact.id


def test_load_proxy_and_artifact_by_id(repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> dict[str, int]:
        return {"n": n}

    made = make(3)
    loaded = p.load_proxy(made.artifact.id)
    assert loaded == {"n": 3}
    assert loaded.artifact.id == made.artifact.id
    art = p.load_artifact(made.artifact.id)
    assert art.value == {"n": 3}
    assert art.fn_name.endswith("make")
    assert art.run_info["python_version"]


def test_missing_artifact_is_a_keyerror(repo: Any) -> None:
    with pytest.raises(p.ArtifactNotFound) as info:
        p.load_artifact("0" * 32)
    assert isinstance(info.value, KeyError)
    assert "0" * 32 in str(info.value)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "abc", "0" * 31 + "G"])
def test_malformed_ids_never_touch_storage(repo: Any, bad: str) -> None:
    with pytest.raises(p.InvalidId):
        p.load_artifact(bad)


def test_ignore_leaves_parameter_out_of_the_id_but_records_it(repo: Any) -> None:
    @p.provenance(ignore=["n_jobs"])
    def f(x: int, n_jobs: int = 1) -> int:
        return x

    a, b = f(1, n_jobs=1), f(1, n_jobs=8)
    assert a.artifact.id == b.artifact.id
    assert a.artifact.inputs["kargs"]["n_jobs"] == 1


def test_remove_drops_parameter_from_id_and_record(repo: Any) -> None:
    @p.provenance(remove=["verbose"])
    def f(x: int, verbose: bool = False) -> int:
        return x

    a, b = f(1, verbose=True), f(1)
    assert a.artifact.id == b.artifact.id
    assert "verbose" not in a.artifact.inputs["kargs"]
    assert "verbose" not in a.artifact.inputs_json


def test_ignore_takes_a_single_name_as_one_name(repo: Any) -> None:
    @p.provenance(ignore="verbose")
    def f(x: int, verbose: bool = False) -> int:
        return x

    assert f(1, verbose=True).artifact.id == f(1).artifact.id

    @p.provenance(remove="verbose")
    def g(x: int, verbose: bool = False) -> int:
        return x

    assert "verbose" not in g(1, verbose=True).artifact.inputs["kargs"]


@pytest.mark.parametrize("parameter", ["ignore", "remove"])
def test_an_unknown_name_in_ignore_or_remove_is_refused_when_decorating(parameter: str) -> None:
    def f(x: int, verbose: bool = False) -> int:
        return x

    unknown = rf"{parameter} names 'verbos', not a parameter of .*f.*x, verbose"
    with pytest.raises(ValueError, match=unknown):
        p.provenance(**{parameter: ["verbos"]})(f)
    with pytest.raises(TypeError, match=rf"{parameter} must hold parameter names"):
        p.provenance(**{parameter: ["x", 3]})(f)
    with pytest.raises(TypeError, match=rf"{parameter} must be a parameter name"):
        p.provenance(**{parameter: 3})(f)


def test_ignore_may_name_any_keyword_of_a_function_taking_kwargs(repo: Any) -> None:
    @p.provenance(ignore=["n_jobs"])
    def f(x: int, **options: Any) -> int:
        return x

    assert f(1, n_jobs=2).artifact.id == f(1, n_jobs=4).artifact.id

    def g(*parts: int) -> int:
        return sum(parts)

    with pytest.raises(ValueError, match=r"ignore names \*parts"):
        p.provenance(ignore=["parts"])(g)


def test_ignore_and_input_hash_fn_are_exclusive() -> None:
    with pytest.raises(ValueError, match="ignore"):
        p.provenance(ignore=["a"], input_hash_fn=lambda h: h)(lambda a: a)
    with pytest.raises(ValueError, match="remove"):
        p.provenance(remove=["a"], input_process_fn=lambda i: i)(lambda a: a)


def test_input_hash_fn_and_input_process_fn(repo: Any) -> None:
    seen: list[Any] = []

    def hash_fn(hashes: dict[str, Any]) -> dict[str, Any]:
        seen.append(hashes)
        return {"kargs": {"x": hashes["kargs"]["x"]}, "varargs": hashes["varargs"]}

    @p.provenance(input_hash_fn=hash_fn)
    def f(x: int, y: int) -> int:
        return x + y

    assert f(1, 2).artifact.id == f(1, 3).artifact.id
    assert set(seen[0]["kargs"]) == {"x", "y"}

    def process(inputs: dict[str, Any]) -> dict[str, Any]:
        return {"kargs": {k: v for k, v in inputs["kargs"].items() if k != "y"}, "varargs": []}

    @p.provenance(input_process_fn=process)
    def g(x: int, y: int) -> int:
        return x + y

    assert g(1, 2).artifact.id == g(1, 3).artifact.id
    assert "y" not in g(1, 2).artifact.inputs["kargs"]


def test_merge_defaults(repo: Any) -> None:
    @p.provenance(merge_defaults=True)
    def f(opts: dict[str, int] = {"a": 1, "b": 2}) -> int:  # noqa: B006
        return opts["a"] + opts["b"]

    assert f({"b": 5}) == 6
    assert f({"a": 1, "b": 5}).artifact.id == f({"b": 5}).artifact.id
    assert f({"b": 5}).artifact.inputs["kargs"]["opts"] == {"a": 1, "b": 5}


def test_varargs_and_kwargs(repo: Any) -> None:
    @p.provenance()
    def f(a: int, *rest: int, **extra: int) -> int:
        return a + sum(rest) + sum(extra.values())

    r = f(1, 2, 3, z=4)
    assert r == 10
    assert r.artifact.inputs["varargs"] == (2, 3)  # a tuple, as in the original library
    assert r.artifact.inputs["kargs"] == {"a": 1, "z": 4}
    assert f(1, 3, 2, z=4).artifact.id != r.artifact.id
    # inputs_json has the original's flat layout, so its SQL guide's queries work.
    assert r.artifact.inputs_json == {"a": 1, "z": 4, "__varargs": [2, 3]}
    assert r.artifact.inputs_summary == {"kargs": {"a": 1, "z": 4}, "varargs": [2, 3]}
    seen = []

    @p.provenance(input_process_fn=lambda inputs: seen.append(inputs) or inputs)
    def g(*xs: int) -> int:
        return sum(xs)

    g(1, 2)
    assert seen == [{"kargs": {}, "varargs": (1, 2)}]


def test_inputs_json_answers_the_original_guides_sql(repo: Any) -> None:
    """Issue 14, gap 14: ``inputs_json ->> 'a'`` as in the original's intro guide."""
    import sqlalchemy as sa

    @p.provenance()
    def add(a: int, b: int) -> int:
        return a + b

    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    made = add(1, 4)
    double(made)
    if repo.index.engine.dialect.name == "postgresql":
        a, b, parent_id = (
            "inputs_json ->> 'a'",
            "inputs_json ->> 'b'",
            "inputs_json -> 'x' ->> 'id'",
        )
    else:
        a, b = "json_extract(inputs_json, '$.a')", "json_extract(inputs_json, '$.b')"
        parent_id = "json_extract(inputs_json, '$.x.id')"
    with repo.index.engine.connect() as conn:
        rows = conn.execute(sa.text(f"select {a}, {b} from artifacts where name like '%.add'"))
        parent = conn.execute(
            sa.text(f"select {parent_id} from artifacts where name like '%.double'")
        ).scalar()
        assert [tuple(str(v) for v in r) for r in rows] == [("1", "4")]
    assert parent == made.artifact.id


def test_an_artifact_argument_is_summarized_as_the_original_did(repo: Any) -> None:
    @p.provenance()
    def make(x: int) -> int:
        return x

    @p.provenance()
    def name_of(a: Any) -> str:
        return str(a.name)

    made = make(1)
    result = name_of(made.artifact)
    assert result.artifact.inputs_json["a"] == {
        "id": made.artifact.id,
        "type": "Artifact",
        "name": made.artifact.name,
    }


def test_inputs_summary_reads_the_nested_layout_of_earlier_versions() -> None:
    from provenance.storage.index import COLUMNS

    row = [None] * len(COLUMNS)
    row[COLUMNS.index("inputs_json")] = '{"kargs": {"a": 1}, "varargs": [2]}'
    old = p.Artifact(None, row)
    assert old.inputs_summary == {"kargs": {"a": 1}, "varargs": [2]}


def test_functools_partial(repo: Any) -> None:
    def scale(x: int, factor: int) -> int:
        return x * factor

    double = p.provenance(name="scale")(functools.partial(scale, factor=2))
    triple = p.provenance(name="scale")(functools.partial(scale, factor=3))
    assert double(5) == 10 and triple(5) == 15
    # The partial's fixed argument is part of the call's identity.
    assert double(5).artifact.id != triple(5).artifact.id
    assert double(5).artifact.inputs["kargs"] == {"x": 5, "factor": 2}


class Model:
    def __init__(self, scale: int) -> None:
        self.scale = scale

    @p.provenance()
    def predict(self, x: int) -> int:
        return self.scale * x


def test_methods(repo: Any) -> None:
    assert Model(2).predict(5) == 10
    assert Model(3).predict(5) == 15
    assert Model(2).predict(5).artifact.id == Model(2).predict(5).artifact.id
    assert Model(2).predict(5).artifact.id != Model(3).predict(5).artifact.id


def test_use_cache_false_recomputes_but_records(repo: Any) -> None:
    runs = Counter()

    @p.provenance(use_cache=False)
    def f(x: int) -> int:
        runs()
        return x

    a = f(1)
    b = f(1)
    assert runs.calls == 2
    assert a.artifact.id == b.artifact.id
    assert p.load_artifact(a.artifact.id).value == 1


def test_global_use_cache_setting(repo: Any) -> None:
    runs = Counter()

    @p.provenance()
    def f(x: int) -> int:
        runs()
        return x

    f(1)
    p.set_use_cache(False)
    assert p.get_use_cache() is False
    f(1)
    assert runs.calls == 2
    p.set_use_cache(True)
    f(1)
    assert runs.calls == 2


def test_check_mutations(repo: Any) -> None:
    @p.provenance()
    def make() -> list[int]:
        return [1, 2]

    @p.provenance()
    def mutate(xs: list[int]) -> int:
        xs.append(3)
        return len(xs)

    assert p.get_check_mutations() is None  # the default: impure functions raise
    with pytest.raises(ImpureFunctionError, match="xs"):
        mutate(make())
    p.set_check_mutations(True)
    assert p.get_check_mutations() is True
    with pytest.raises(ImpureFunctionError, match="xs"):
        mutate(make())


def test_unhashable_argument_names_the_parameter(repo: Any) -> None:
    import threading

    @p.provenance()
    def f(x: int, lock: Any) -> int:
        return x

    with pytest.raises(HashingError, match="'lock'"):
        f(1, threading.Lock())


def test_custom_fields_and_tags_are_saved_and_queryable(repo: Any) -> None:
    @p.provenance(custom_fields={"team": "vision", "epochs": 3}, tags=["nightly", "gpu"])
    def f(x: int) -> int:
        return x

    @p.provenance(custom_fields={"team": "nlp"})
    def g(x: int) -> int:
        return x

    a = f(1)
    g(1)
    assert a.artifact.custom_fields == {"team": "vision", "epochs": 3, "tags": ["nightly", "gpu"]}
    assert a.artifact.tags == ["nightly", "gpu"]
    assert [x.id for x in repo.find_artifacts(tags=["gpu"])] == [a.artifact.id]
    assert [x.id for x in repo.find_artifacts(custom_fields={"team": "vision"})] == [a.artifact.id]
    assert [x.id for x in repo.find_artifacts(custom_fields={"epochs": 3})] == [a.artifact.id]
    assert len(repo.find_artifacts(name=f"{__name__}.g")) == 1


def test_returns_composite(repo: Any) -> None:
    runs = Counter()

    @p.provenance(returns_composite=True)
    def split(n: int) -> dict[str, list[int]]:
        runs()
        return {"train": list(range(n)), "test": [n]}

    first = split(3)
    assert first["train"] == [0, 1, 2]
    assert first["train"].artifact.name == f"{__name__}.split_train"
    again = split(3)
    assert runs.calls == 1
    assert set(again) == {"train", "test"}
    assert again["test"] == [3]
    assert again.artifact.composite
    assert again["test"].artifact.id == first["test"].artifact.id


def test_composite_requires_a_dict(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def bad() -> Any:
        return [1]

    with pytest.raises(TypeError, match="returns_composite"):
        bad()


def test_serializers(repo: Any) -> None:
    @p.provenance(serializer="cloudpickle")
    def make_fn(k: int) -> Any:
        return lambda x: x + k

    fn = make_fn(2)
    assert fn(1) == 3
    assert p.load_artifact(fn.artifact.id).serializer == "cloudpickle"
    assert p.load_proxy(fn.artifact.id)(10) == 12

    with pytest.raises(p.UnknownSerializer, match="nope"):
        p.provenance(serializer="nope")(lambda: 1)


def test_register_serializer(repo: Any, tmp_path: Any) -> None:
    import json

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Point) and other.x == self.x

    def dump(value: Point, filename: str) -> None:
        with open(filename, "w") as f:
            json.dump({"x": value.x}, f)

    def load(filename: str) -> Point:
        with open(filename) as f:
            return Point(json.load(f)["x"])

    p.register_serializer("point-json", dump, load, classes=[Point])
    assert "point-json" in p.available_serializers()

    @p.provenance()
    def make(x: int) -> Point:
        return Point(x)

    made = make(4)
    assert made.artifact.serializer == "point-json"
    assert p.load_artifact(made.artifact.id).value == Point(4)


def test_dump_and_load_kwargs(repo: Any) -> None:
    @p.provenance(dump_kwargs={"compress": 3}, load_kwargs={"mmap_mode": None})
    def f(n: int) -> list[int]:
        return list(range(n))

    r = f(100)
    art = p.load_artifact(r.artifact.id)
    assert art.dump_kwargs == {"compress": 3}
    assert art.value == list(range(100))


def test_run_info_fn(repo: Any) -> None:
    def add_git(info: dict[str, Any]) -> None:
        info["git"] = "abc123"

    p.set_run_info_fn(add_git)

    @p.provenance()
    def f(x: int) -> int:
        return x

    info = f(1).artifact.run_info
    assert info["git"] == "abc123"
    assert {"host", "process", "user", "python_version", "started_at"} <= set(info)


def test_explicit_repo_argument(repo: Any) -> None:
    other = p.memory_repo("other")

    @p.provenance(repo=other)
    def f(x: int) -> int:
        return x

    r = f(1)
    assert r.artifact.id in other
    assert r.artifact.id not in repo


def test_repo_by_name(tmp_path: Any) -> None:
    from conftest import sqlite_config

    cfg = sqlite_config(str(tmp_path / "r"))
    cfg["artifact_repos"]["mem"] = {"type": "memory"}
    p.load_config(cfg)

    @p.provenance(repo="mem")
    def f(x: int) -> int:
        return x

    assert f(1).artifact.id in p.get_repo_by_name("mem")
    assert f(1).artifact.id not in p.get_repo_by_name("local")


def test_read_only_repo_computes_without_storing(tmp_path: Any) -> None:
    from conftest import sqlite_config

    p.load_config(sqlite_config(str(tmp_path / "r"), write=False))
    runs = Counter()

    @p.provenance()
    def f(x: int) -> int:
        runs()
        return x

    with pytest.warns(RuntimeWarning, match="read-only"):
        assert f(1) == 1
    with pytest.warns(RuntimeWarning):
        f(1)
    assert runs.calls == 2
    assert p.get_default_repo().index.count() == 0


def test_in_cache_and_artifact_id(repo: Any) -> None:
    @p.provenance()
    def f(x: int) -> int:
        return x

    assert not f.in_cache(1)
    made = f(1)
    assert f.in_cache(1)
    assert f.artifact_id(1) == made.artifact.id


def test_decorated_function_pickles(repo: Any) -> None:
    restored = pickle.loads(pickle.dumps(module_level))
    assert restored is module_level


@p.provenance()
def module_level(x: int) -> int:
    return x + 1


def test_exceptions_propagate_and_store_nothing(repo: Any) -> None:
    @p.provenance()
    def boom(x: int) -> int:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        boom(1)
    assert repo.index.count() == 0


def test_corrupt_blob_is_recomputed(disk_repo: Any) -> None:
    runs = Counter()

    @p.provenance()
    def f(x: int) -> list[int]:
        runs()
        return list(range(x, x + 5000))  # large enough for a blob of its own

    made = f(1)
    assert made.artifact._row[storage_artifact._I["value_inline"]] is None
    path = disk_repo.blobstore.local_path(made.artifact.blob_id)
    with open(path, "r+b") as fh:
        fh.seek(20)
        fh.write(b"\xff\xff")
    with pytest.raises(p.CorruptBlob, match=made.artifact.id):
        _ = p.load_artifact(made.artifact.id).value
    with pytest.warns(RuntimeWarning, match="corrupt"):
        again = f(1)
    assert again == list(range(1, 5001))
    assert runs.calls == 2
    assert p.load_artifact(made.artifact.id).value == list(range(1, 5001))


def test_corrupt_inline_value_is_detected(disk_repo: Any) -> None:
    from sqlalchemy import text

    @p.provenance()
    def small(x: int) -> int:
        return x

    made = small(1)
    with disk_repo.index.engine.begin() as conn:
        conn.execute(
            text("UPDATE artifacts SET value_inline = :v WHERE id = :i"),
            {"v": b"\x80\x04K\x02.", "i": made.artifact.id},
        )
    with pytest.raises(p.CorruptBlob, match=made.artifact.id):
        _ = p.load_artifact(made.artifact.id).value
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert small(1) == 1
    assert p.load_artifact(made.artifact.id).value == 1


def test_small_values_live_in_the_row_and_large_ones_in_blobs(disk_repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> bytes:
        return bytes(n)

    small, large = make(100), make(100_000)
    assert list(disk_repo.blobstore.keys()) == [large.artifact.blob_id]
    assert p.load_proxy(small.artifact.id) == bytes(100)
    assert p.load_proxy(large.artifact.id) == bytes(100_000)
    assert small.artifact.size < 200 and large.artifact.size > 100_000


# Artifact ids of a few calls, pinned: a change here invalidates every user's
# cache and must be a deliberate decision (bump hashing.HASH_SCHEME with it,
# and say so in docs/migrating.rst).  Scheme xxh3_128/4.
GOLDEN_CALL_IDS = [
    ((1,), {}, "5f57fe0dd10c97478fd7d3b00a32d797"),
    ((1, 2, 3), {"x": "y"}, "4598c70c193686d99bdcddb8ed2d34d9"),
    (({"k": [1.5, None]},), {"b": "s"}, "99fbaf0a26aaa167e0e2c40f05e8d835"),
]
#: The checkout these tests run from, for the subprocesses (not an installed copy).
CHECKOUT = str(pathlib.Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("args, kwargs, expected", GOLDEN_CALL_IDS)
def test_artifact_ids_are_pinned(repo: Any, args: Any, kwargs: Any, expected: str) -> None:
    @p.provenance(version=3, name="golden")
    def golden(a: Any, b: Any = 2, *rest: Any, **kw: Any) -> Any:
        return a

    assert golden.artifact_id(*args, **kwargs) == expected
    assert golden(*args, **kwargs).artifact.id == expected


def test_artifact_id_is_the_same_in_another_process(tmp_path: Any) -> None:
    import subprocess
    import sys

    code = (
        "import provenance as p\n"
        "@p.provenance(version=3, name='golden')\n"
        "def golden(a, b=2, *rest, **kw): return a\n"
        "print(golden.artifact_id(1, 2, 3, x='y'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "777", "PATH": "/usr/bin:/bin", "PROVENANCE_HOME": str(tmp_path),
             "PYTHONPATH": CHECKOUT},
    )  # fmt: skip
    assert out.stdout.strip() == GOLDEN_CALL_IDS[1][2]


GOLDEN_MODULE = """\
import provenance as p

OFFSET = 1


def helper(x):
    return x + OFFSET


@p.provenance()
def scaled(a, b=2):
    return helper(a * b)
"""
#: ``goldmod.scaled(1)``: module-qualified name, no version, so its code fingerprint.
GOLDEN_DEFAULT_ID = "12a47cc4b07db1ebd5f4424f15f7c8ff"


def test_default_ids_with_code_fingerprints_are_pinned(tmp_path: Any) -> None:
    import subprocess
    import sys

    (tmp_path / "goldmod.py").write_text(GOLDEN_MODULE)
    code = "import goldmod; print(goldmod.scaled.name, goldmod.scaled.artifact_id(1))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
        env={"PYTHONHASHSEED": "5", "PATH": "/usr/bin:/bin",
             "PYTHONPATH": os.pathsep.join([str(tmp_path), CHECKOUT]),
             "PROVENANCE_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert out.stdout.split() == ["goldmod.scaled", GOLDEN_DEFAULT_ID]


def test_awkward_arguments_are_recorded_on_every_backend(repo: Any) -> None:
    @p.provenance()
    def echo(text: str, nested: Any) -> int:
        return len(text)

    made = echo("nul\x00inside", {("k" * 300): [made_list(1)]})
    assert made == 10
    again = p.load_artifact(made.artifact.id)
    assert again.inputs["kargs"]["text"] == "nul\x00inside"
    assert again.inputs_json["text"]["$len"] == 10
    [(_, parameter)] = repo.index.lineage_edges(made.artifact.id)
    assert len(parameter) <= 255


@p.provenance()
def made_list(n: int) -> list[int]:
    return list(range(n))


def test_composite_members_take_their_own_load_and_dump_kwargs(repo: Any) -> None:
    """As in the original: ``load_kwargs={'b': {...}}`` is member ``b``'s."""

    @p.provenance(
        returns_composite=True,
        serializer={"a": "cloudpickle"},
        load_kwargs={"b": {"mmap_mode": None}},
        dump_kwargs={"b": {"compress": 3}},
    )
    def parts(x: int) -> dict[str, Any]:
        return {"a": x, "b": list(range(x))}

    result = parts(3)
    assert result["b"].artifact.load_kwargs == {"mmap_mode": None}
    assert result["b"].artifact.dump_kwargs == {"compress": 3}
    assert (
        result["a"].artifact.load_kwargs is None
        and result["a"].artifact.serializer == "cloudpickle"
    )
    assert result.artifact.load_kwargs is None
    assert p.load_proxy(result["b"].artifact.id) == [0, 1, 2]
