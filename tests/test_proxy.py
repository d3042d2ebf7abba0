"""ArtifactProxy behaves like its value, carries its artifact, and pickles small."""

from __future__ import annotations

import copy
import pathlib
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

import provenance as p


@p.provenance()
def make_list(n: int) -> list[int]:
    return list(range(n))


@p.provenance()
def make_array(n: int) -> np.ndarray:
    return np.arange(n, dtype=float)


@p.provenance()
def make_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [float(i) / 2 for i in range(n)]})


@p.provenance()
def make_number(x: float) -> float:
    return x


def test_behaves_like_a_list(repo: Any) -> None:
    xs = make_list(4)
    assert xs == [0, 1, 2, 3]
    assert len(xs) == 4
    assert list(xs) == [0, 1, 2, 3]
    assert xs[1:3] == [1, 2]
    assert 2 in xs
    assert isinstance(xs, list)
    assert xs + [9] == [0, 1, 2, 3, 9]
    assert p.is_proxy(xs) and not p.is_proxy([1])


def test_behaves_like_a_number(repo: Any) -> None:
    x = make_number(2.5)
    assert x * 2 == 5.0
    assert 1 + x == 3.5
    assert x > 2 and x < 3
    assert float(x) == 2.5
    assert isinstance(x, float)
    assert hash(x) == hash(2.5)


def test_numpy_operations(repo: Any) -> None:
    arr = make_array(5)
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (5,)
    assert float(arr.sum()) == 10.0
    np.testing.assert_array_equal(np.asarray(arr), np.arange(5.0))
    np.testing.assert_array_equal(arr * 2, np.arange(5.0) * 2)
    np.testing.assert_array_equal(np.sqrt(arr), np.sqrt(np.arange(5.0)))
    assert float(np.mean(arr)) == 2.0


def test_pandas_operations(repo: Any) -> None:
    df = make_frame(4)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["a", "b"]
    assert df["a"].sum() == 6
    assert len(df) == 4
    merged = pd.concat([df, df])
    assert len(merged) == 8
    assert df.equals(pd.DataFrame({"a": range(4), "b": [0.0, 0.5, 1.0, 1.5]}))


def test_proxy_pickles_by_id(disk_repo: Any) -> None:
    arr = make_array(100_000)
    data = pickle.dumps(arr)
    assert len(data) < 2000  # by reference, not 800 KB of floats
    back = pickle.loads(data)
    assert back.artifact.id == arr.artifact.id
    np.testing.assert_array_equal(back, arr)


def test_artifact_pickles_by_id(disk_repo: Any) -> None:
    art = make_list(3).artifact
    data = pickle.dumps(art)
    assert len(data) < 2000
    assert pickle.loads(data).id == art.id


def test_memory_repo_proxies_pickle_by_value() -> None:
    p.load_config({"artifact_repos": {"m": {"type": "memory"}}, "default_repo": "m"})
    xs = make_list(3)
    back = pickle.loads(pickle.dumps(xs))
    assert back == [0, 1, 2]
    assert back.artifact.id == xs.artifact.id


def test_proxy_loads_in_another_process(disk_repo: Any, tmp_path: Any) -> None:
    arr = make_array(10)
    blob = tmp_path / "proxy.pkl"
    blob.write_bytes(pickle.dumps(arr))
    code = (
        "import pickle, sys; v = pickle.load(open(sys.argv[1], 'rb'));"
        "print(v.artifact.id, float(v.sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(blob)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [arr.artifact.id, "45.0"]


def test_copies_keep_the_artifact(repo: Any) -> None:
    xs = make_list(3)
    c = copy.copy(xs)
    d = copy.deepcopy(xs)
    assert c == d == [0, 1, 2]
    assert c.artifact.id == d.artifact.id == xs.artifact.id
    d.append(5)
    assert xs == [0, 1, 2]


def test_repr_shows_id_and_value(repo: Any) -> None:
    xs = make_list(2)
    assert xs.artifact.id in repr(xs)
    assert "[0, 1]" in repr(xs)


def test_lazy_dict_and_lazy_proxy_dict(repo: Any) -> None:
    calls: list[str] = []

    def thunk(k: str) -> Any:
        calls.append(k)
        return k.upper()

    d = p.lazy_dict({"a": lambda: thunk("a"), "b": lambda: thunk("b")})
    assert calls == []
    assert d["a"] == "A" and d["a"] == "A"
    assert calls == ["a"]
    assert set(d) == {"a", "b"}

    xs, arr = make_list(2), make_array(2)
    proxies = p.lazy_proxy_dict([xs.artifact.id, arr.artifact])
    # Keyed by artifact name: module-qualified by default, as in the original.
    assert proxies[f"{__name__}.make_list"] == [0, 1]
    assert proxies[f"{__name__}.make_list"].artifact.id == xs.artifact.id
    with pytest.raises(ValueError, match="make_list"):
        p.lazy_proxy_dict([xs, make_list(3)])
    grouped = p.lazy_proxy_dict([xs, make_list(3)], group_artifacts_of_same_name=True)
    assert sorted(len(v) for v in grouped[f"{__name__}.make_list"]) == [2, 3]


def test_ensure_proxies(repo: Any) -> None:
    @p.ensure_proxies("data")
    def use(data: Any, k: int = 1) -> int:
        return len(data) * k

    assert use(make_list(3), 2) == 6
    # The original library's error, word for word; a TypeError too.
    with pytest.raises(ValueError) as raised:
        use([1, 2, 3])
    assert str(raised.value) == "Arguments must be `ArtifactProxy`s but were not: [data]"
    assert isinstance(raised.value, (TypeError, p.NotAProxyError))

    @p.ensure_proxies()
    def use_all(a: Any, b: Any) -> int:
        return len(a) + len(b)

    with pytest.raises(TypeError, match=r"were not: \[b\]"):
        use_all(make_list(1), [1])
    with pytest.raises(p.NotAProxyError, match=r"were not: \[a, b\]"):
        use_all([1], [2])

    with pytest.raises(ValueError, match="no parameter.*'dta'"):

        @p.ensure_proxies("dta")
        def typo(data: Any) -> None: ...


def test_a_proxy_is_hashed_by_its_value_id_unless_its_value_changed(repo: Any) -> None:
    import threading

    xs = make_list(3)
    assert p.hash_value(xs) == xs.artifact.value_id
    assert p.hash_value([xs]) == p.hash_value([[0, 1, 2]])
    # A value that is not the artifact's (changed in place) hashes as what it is ...
    other = p.ArtifactProxy([9], xs.artifact)
    assert p.hash_value(other) == p.hash_value([9]) != xs.artifact.value_id
    # ... and one that cannot be hashed any more is an error, as a plain value is:
    # never its stale value id.
    impostor = p.ArtifactProxy([threading.Lock()], xs.artifact)
    with pytest.raises(p.HashingError, match="_thread.lock"):
        p.hash_value(impostor)
    # Immutable values are never hashed again.
    text = p.ArtifactProxy("not the value", xs.artifact)
    assert p.hash_value(text) == xs.artifact.value_id


def test_transform_value_keeps_the_artifact_and_is_hashed_as_what_it_holds(disk_repo: Any) -> None:
    import pickle
    import warnings

    from provenance.repos import transform_value

    xs = make_list(3)
    tens = xs.transform_value(lambda v: [i * 10 for i in v])
    assert tens == [0, 10, 20] and isinstance(tens, list)
    assert tens.artifact is xs.artifact and p.is_proxy(tens)
    assert transform_value(xs, lambda v: [i * 10 for i in v]) == tens

    @p.provenance()
    def total(values: list[int]) -> int:
        return sum(values)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not taken for a value changed in place
        plain, transformed = total(xs), total(tens)
        again = total(xs.transform_value(lambda v: [i * 10 for i in v]))
        other = total(xs.transform_value(lambda v: [i + 1 for i in v]))
    assert (plain, transformed, other) == (3, 30, 6)
    # Two transforms of one artifact are two inputs; the same one is a hit.
    assert len({plain.artifact.id, transformed.artifact.id, other.artifact.id}) == 3
    assert again.artifact.id == transformed.artifact.id
    # The lineage still leads to the artifact, and the inputs hold the transformed value.
    assert transformed.artifact.input_artifact_ids == [xs.artifact.id]
    assert p.load_artifact(transformed.artifact.id).inputs["kargs"]["values"] == [0, 10, 20]
    assert p.dependencies(transformed.artifact.id)[0].id == xs.artifact.id

    back = pickle.loads(pickle.dumps(tens))
    assert back == [0, 10, 20] and back.artifact.id == xs.artifact.id
    assert type(back).__name__ == "TransformedProxy"


def test_an_archived_file_transforms_into_its_contents(disk_repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "data.csv"
    src.write_text("a,b\n1,2\n")
    archived = p.archive_file(p.File(src))
    text = archived.transform_value(lambda f: pathlib.Path(f).read_text())
    assert text == "a,b\n1,2\n"
    assert text.artifact.id == archived.artifact.id


def test_lazy_dicts_are_mutable_as_the_original_lazy_dict(repo: Any) -> None:
    calls = []
    d = p.lazy_dict({"a": lambda: calls.append("a") or 1, "b": lambda: 2})
    d["c"] = 3
    del d["b"]
    assert dict(d) == {"a": 1, "c": 3} and calls == ["a"]
    with pytest.raises(KeyError):
        del d["b"]


def test_lazy_proxy_dict_takes_a_mapping_and_groups_only_shared_names(repo: Any) -> None:
    @p.provenance(name="shared")
    def one(x: int) -> int:
        return x

    @p.provenance(name="unique")
    def two(x: int) -> int:
        return x * 2

    a, b, c = one(1), one(2), two(3)
    by_key = p.lazy_proxy_dict({"first": a.artifact, "second": b.artifact.id})
    assert by_key["first"] == 1 and by_key["second"] == 2
    assert by_key["second"].artifact.id == b.artifact.id
    grouped = p.lazy_proxy_dict([a, b, c], group_artifacts_of_same_name=True)
    assert sorted(grouped["shared"]) == [1, 2]  # a shared name: a list
    assert grouped["unique"] == 6 and grouped["unique"].artifact.id == c.artifact.id


def test_a_composite_cannot_be_changed_in_place(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def parts(x: int) -> dict[str, int]:
        return {"a": x, "b": x + 1}

    result = parts(1)
    with pytest.raises(TypeError, match="copy it into a dict"):
        result["a"] = 5
    with pytest.raises(TypeError, match="copy it into a dict"):
        del result["b"]
    assert dict(result) == {"a": 1, "b": 2}
