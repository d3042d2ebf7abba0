"""pd_df_parquet and pd_series_parquet: chosen by type, recorded, read back equal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from conftest import sqlite_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

import provenance as p
from provenance.serializers import get_serializer, parquet, serializer_for

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def assert_same(left: Any, right: Any) -> None:
    """Equal, with every check strict: dtypes, index classes, names, freq, attrs."""
    strict = dict(check_index_type=True, check_exact=True, check_freq=True, check_flags=True)
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_column_type=True, **strict)
    else:
        pd.testing.assert_series_equal(left, right, **strict)
    assert type(left) is type(right)
    assert left.attrs == right.attrs


def _with_attrs(df: Any, **attrs: Any) -> Any:
    df.attrs.update(attrs)
    return df


class Frame(pd.DataFrame):
    """A subclass: parquet would read it back as a plain DataFrame."""

    @property
    def _constructor(self) -> Any:
        return Frame


N = 5
#: (id, frame, the serializer chosen for it).
FRAMES = [
    ("ints", pd.DataFrame({"a": np.arange(N), "b": np.arange(N, dtype="int8")}), "pd_df_parquet"),
    ("unsigned", pd.DataFrame({"u": np.array([0, 2**64 - 1], dtype="uint64")}), "pd_df_parquet"),
    ("floats", pd.DataFrame({"f": [0.5, np.nan, -0.0], "g": np.float32([1, 2, 3])}),
     "pd_df_parquet"),
    ("bool", pd.DataFrame({"b": [True, False]}), "pd_df_parquet"),
    ("nullable", pd.DataFrame({"i": pd.array([1, None], dtype="Int64"),
                               "b": pd.array([True, None], dtype="boolean")}), "pd_df_parquet"),
    ("datetime", pd.DataFrame({"t": pd.to_datetime(["2020-01-01", None])}), "pd_df_parquet"),
    ("datetime tz", pd.DataFrame({"t": pd.date_range("2020", periods=3, tz="Europe/Paris")}),
     "pd_df_parquet"),
    ("timedelta", pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="s")}), "pd_df_parquet"),
    ("categorical str", pd.DataFrame({"c": pd.Categorical(
        ["a", "b", "a"], categories=["b", "a", "z"], ordered=True)}), "pd_df_parquet"),
    ("str", pd.DataFrame({"s": ["x", None, "zz"]}), "pd_df_parquet"),
    ("bytes", pd.DataFrame({"s": [b"x", b"\x00"]}), "pd_df_parquet"),
    ("named index", pd.DataFrame({"a": [1, 2]}, index=pd.Index([10, 20], name="k")),
     "pd_df_parquet"),
    ("range index", pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(3, 7, 2, name="r")),
     "pd_df_parquet"),
    ("index named as a column", pd.DataFrame({"a": [1, 2]}, index=pd.Index([1, 2], name="a")),
     "pd_df_parquet"),
    ("multi index", pd.DataFrame({"a": [1, 2]}, index=pd.MultiIndex.from_tuples(
        [("x", 1), ("y", 2)], names=["s", "n"])), "pd_df_parquet"),
    ("columns name", pd.DataFrame({"a": [1]}).rename_axis("cols", axis=1), "pd_df_parquet"),
    ("attrs", _with_attrs(pd.DataFrame({"a": [1]}), source="x", n=2), "pd_df_parquet"),
    ("empty", pd.DataFrame(), "joblib"),  # no row: categories etc. cannot be checked
    ("no rows", pd.DataFrame({"a": pd.Series([], dtype="float64")}), "pd_df_parquet"),
    # Values parquet would not give back equal: the default stores them.
    ("mixed objects", pd.DataFrame({"m": [1, "x"]}), "joblib"),
    ("lists", pd.DataFrame({"l": [[1], [2]]}), "joblib"),
    ("object bools", pd.DataFrame({"b": pd.Series([True, False], dtype=object)}), "joblib"),
    ("object strings", pd.DataFrame({"s": pd.Series(["x", "y"], dtype=object)}),
     "joblib" if PANDAS_3 else "pd_df_parquet"),
    ("int categories", pd.DataFrame({"c": pd.Categorical([1, 2, 1])}), "joblib"),
    ("index freq", pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2020", periods=2, freq="D")),
     "joblib"),
    ("datetime seconds", pd.DataFrame({"t": pd.to_datetime(["2020"]).astype("datetime64[s]")}),
     "joblib"),
    ("duplicate columns", pd.DataFrame([[1, 2]], columns=["a", "a"]), "joblib"),
    ("range columns", pd.DataFrame(np.zeros((2, 2))), "joblib"),
    ("complex", pd.DataFrame({"c": [1j]}), "joblib"),
    ("attrs not json", _with_attrs(pd.DataFrame({"a": [1]}), t=(1, 2)), "joblib"),
    ("reserved index name", pd.DataFrame({"a": [1]}, index=pd.Index([1], name="__index_level_0__")),
     "joblib"),
    ("subclass", Frame({"a": [1, 2]}), "joblib"),
]  # fmt: skip

SERIES = [
    ("unnamed", pd.Series([1.5, 2.5]), "pd_series_parquet"),
    ("named", pd.Series(["a", "b"], name="letters", index=pd.Index([3, 4], name="i")),
     "pd_series_parquet"),
    ("datetime tz", pd.Series(pd.date_range("2020", periods=2, tz="UTC"), name="t"),
     "pd_series_parquet"),
    # Would read back unnamed, or named "0": the default stores them.
    ("named _series", pd.Series([1, 2], name="_series"), "joblib"),
    ("int name", pd.Series([1, 2], name=0), "joblib"),
    ("mixed objects", pd.Series([1, "x"]), "joblib"),
]  # fmt: skip


@pytest.mark.parametrize(
    "case, value, expected", FRAMES + SERIES, ids=[c[0] for c in FRAMES + SERIES]
)
def test_the_type_choice_reads_back_equal(
    tmp_path: Any, case: str, value: Any, expected: str
) -> None:
    root = str(tmp_path / "repo")
    p.load_config(sqlite_config(root))

    @p.provenance(name="make")
    def make(key: str) -> Any:
        return value

    made = make(case)
    assert made.artifact.serializer == expected
    assert made.artifact.value_id == p.hash_value(value)  # storing does not change the id
    # A fresh repository object reads the record, and the value, back.
    p.load_config(sqlite_config(root))
    artifact = p.load_artifact(made.artifact.id)
    assert artifact.serializer == expected
    assert_same(value, artifact.value)


def test_a_frame_is_parquet_in_the_blobstore_and_loads_in_another_process(tmp_path: Any) -> None:
    home = str(tmp_path / "home")
    frame = pd.DataFrame({"x": np.arange(2000.0), "s": ["a", "b"] * 1000})
    script = textwrap.dedent(
        """
        import sys, numpy as np, pandas as pd, provenance as p

        @p.provenance(name="frame")
        def frame(n):
            return pd.DataFrame({"x": np.arange(float(n)), "s": ["a", "b"] * (n // 2)})

        if sys.argv[1] == "store":
            print(frame(2000).artifact.id)
        else:
            a = p.load_artifact(sys.argv[2])
            print(a.serializer)
            a.value.to_pickle(sys.argv[3])
        """
    )
    env = {**os.environ, "PROVENANCE_HOME": home}

    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
            cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    artifact_id = run("store")
    back = str(tmp_path / "back.pkl")
    assert run("load", artifact_id, back) == "pd_df_parquet"
    assert_same(frame, pd.read_pickle(back))
    heads = []
    for d, _, files in os.walk(home):
        for name in files:
            with open(os.path.join(d, name), "rb") as f:
                heads.append(f.read(4))
    assert b"PAR1" in heads


def test_a_named_serializer_wins_over_the_type_choice(repo: Any) -> None:
    @p.provenance(serializer="joblib")
    def make() -> Any:
        return pd.DataFrame({"a": [1]})

    assert make().artifact.serializer == "joblib"

    @p.provenance(returns_composite=True, serializer={"b": "cloudpickle"})
    def parts() -> Any:
        return {"a": pd.DataFrame({"a": [1]}), "b": pd.Series([1.0]), "c": pd.Series([2.0])}

    made = parts()
    assert [made[k].artifact.serializer for k in "abc"] == [
        "pd_df_parquet", "cloudpickle", "pd_series_parquet",
    ]  # fmt: skip


def test_small_frames_live_in_the_row_and_large_ones_in_blobs(disk_repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> Any:
        return pd.Series(np.arange(n, dtype="float64"), name="v")

    small, large = make(2), make(100_000)
    assert small.artifact.serializer == large.artifact.serializer == "pd_series_parquet"
    assert list(disk_repo.blobstore.keys()) == [large.artifact.blob_id]
    for n, made in [(2, small), (100_000, large)]:
        expected = pd.Series(np.arange(n, dtype="float64"), name="v")
        assert_same(p.load_artifact(made.artifact.id).value, expected)


def _big_frame(n: int = 50_000) -> Any:
    return pd.DataFrame(
        {
            "f": np.arange(n, dtype="float64"),
            "i": np.arange(n, dtype="int64"),
            "s": pd.Series([f"s{i % 97}" for i in range(n)], dtype="string"),
            "c": pd.Categorical([("a", "b")[i % 2] for i in range(n)]),
            "t": pd.date_range("2020-01-01", periods=n, freq="s"),
        },
        index=pd.Index([f"r{i}" for i in range(n)], name="row"),
    )


def test_a_blob_read_into_memory_and_hashed_on_the_way_reads_back_equal(disk_repo: Any) -> None:
    @p.provenance()
    def make(kind: str) -> Any:
        frame = _big_frame()
        return frame if kind == "frame" else frame["f"]

    for kind, name in [("frame", "pd_df_parquet"), ("series", "pd_series_parquet")]:
        made = make(kind)
        assert made.artifact.serializer == name
        assert disk_repo.blobstore.local_path(made.artifact.blob_id) is not None
        expected = _big_frame() if kind == "frame" else _big_frame()["f"]
        assert_same(p.load_artifact(made.artifact.id).value, expected)


@pytest.mark.parametrize("how", ["flipped", "truncated", "appended"])
def test_a_damaged_parquet_blob_raises_corrupt_blob(disk_repo: Any, how: str) -> None:
    @p.provenance()
    def make(how: str) -> Any:
        return _big_frame()

    made = make(how)
    path = disk_repo.blobstore.local_path(made.artifact.blob_id)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        if how == "flipped":
            f.seek(os.path.getsize(path) // 2)
            f.write(b"\x00\xff\x00")
        elif how == "truncated":
            f.truncate(os.path.getsize(path) - 100)
        else:
            f.seek(0, os.SEEK_END)
            f.write(b"PAR1")
    with pytest.raises(p.CorruptBlob, match=made.artifact.blob_id):
        p.load_artifact(made.artifact.id).value  # noqa: B018


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, "x"] * 5000, dtype=object),  # mixed, far past the first row
        pd.Series(["x"] * 9999 + [b"y"], dtype=object),  # one bytes value at the end
        pd.Series(["x"] * 9999 + [None], dtype=object),
    ],
    ids=["mixed", "bytes at the end", "none at the end"],
)
def test_what_the_first_row_does_not_show_still_falls_back(disk_repo: Any, column: Any) -> None:
    # The round trip is of one row only; what object columns hold is checked
    # over the whole column, so a frame that would not read back equal goes
    # to joblib however deep its odd value lies.
    frame = pd.DataFrame({"o": column, "f": np.arange(len(column), dtype="float64")})

    @p.provenance()
    def make() -> Any:
        return frame

    made = make()
    if made.artifact.serializer != "joblib":
        # Only a frame that parquet does give back equal may stay parquet.
        with disk_repo.blobstore.open_local(made.artifact.blob_id) as path:
            assert_same(get_serializer(made.artifact.serializer).load(path), frame)
    assert_same(p.load_artifact(made.artifact.id).value, frame)


def test_dump_and_load_kwargs_go_to_the_chosen_serializer(repo: Any) -> None:
    @p.provenance(dump_kwargs={"compression": "gzip"}, load_kwargs={"columns": ["a"]})
    def make() -> Any:
        return pd.DataFrame({"a": [1, 2], "b": [3, 4]})

    made = make()
    assert made.artifact.serializer == "pd_df_parquet"
    assert_same(p.load_artifact(made.artifact.id).value, pd.DataFrame({"a": [1, 2]}))


def test_a_type_choice_that_fails_to_write_gives_way_to_joblib(
    disk_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the check had let through a frame that pyarrow refuses.
    monkeypatch.setattr(parquet, "faithful", lambda df: True)
    value = pd.DataFrame({"m": [1, "x"] * 5000})
    assert serializer_for(value) == "pd_df_parquet"

    @p.provenance()
    def make() -> Any:
        return value

    made = make()
    assert made.artifact.serializer == "joblib"
    assert list(disk_repo.blobstore.keys()) == [made.artifact.blob_id]
    staging = disk_repo.blobstore.staging_dir()
    assert not staging or not [f for f in os.listdir(staging) if f.startswith("provenance-")]
    assert_same(p.load_artifact(made.artifact.id).value, value)


def test_a_named_parquet_serializer_that_fails_returns_the_value_with_a_warning(
    repo: Any,
) -> None:
    @p.provenance(serializer="pd_series_parquet")
    def make() -> Any:
        return pd.Series([1], name="_series")

    # No fallback to another serializer (it was named), and the value is not lost.
    with pytest.warns(p.UnstorableValueWarning, match="pd_series_parquet serializer.*_series"):
        made = make()
    assert made.tolist() == [1]
    with pytest.raises(p.ArtifactNotFound):
        p.load_artifact(made.artifact.id)


def test_the_cached_check_tells_apart_what_object_columns_hold() -> None:
    # One schema (one object column "s"), two outcomes: bytes read back as
    # objects, strings (under pandas 3) as its str dtype.
    held_bytes = pd.DataFrame({"s": pd.Series([b"x", b"y"], dtype=object)})
    held_str = pd.DataFrame({"s": pd.Series(["x", "y"], dtype=object)})
    for _ in range(2):
        assert serializer_for(held_bytes) == "pd_df_parquet"
        assert serializer_for(held_str) == ("joblib" if PANDAS_3 else "pd_df_parquet")


MISSING_PYARROW = textwrap.dedent(
    """
    import sys, warnings
    sys.modules["pyarrow"] = None  # as if it were not installed
    import pandas as pd, provenance as p

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @p.provenance()
        def frame(n):
            return pd.DataFrame({"a": range(n)})

        stored = [frame(2).artifact.serializer, frame(3).artifact.serializer]
    print("auto", stored, [type(w.message).__name__ for w in caught])
    try:
        p.provenance(serializer="pd_df_parquet")(lambda: 1)
    except p.MissingDependency as exc:
        print("named", exc)
    try:
        p.load_artifact(sys.argv[1]).value
    except p.MissingDependency as exc:
        print("load", exc)
    """
)


def test_without_pyarrow(tmp_path: Any) -> None:
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path / "home")}
    store = (
        "import pandas as pd, provenance as p\n"
        "@p.provenance(name='kept')\n"
        "def kept(): return pd.DataFrame({'a': [1]})\n"
        "print(kept().artifact.id)\n"
    )
    stored = subprocess.run(
        [sys.executable, "-c", store], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    out = subprocess.run(
        [sys.executable, "-c", MISSING_PYARROW, stored], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    # Chosen by type: the default stores it, with one warning per process.
    assert lines["auto"] == "['joblib', 'joblib'] ['SerializerFallbackWarning']"
    # Named: refused at decoration, before the function runs.
    assert "pip install 'provenance[pandas]'" in lines["named"]
    # Stored as parquet elsewhere: the error names the artifact and the serializer.
    assert stored in lines["load"] and "'pd_df_parquet'" in lines["load"]
    assert "pip install 'provenance[pandas]'" in lines["load"]


# -- generated frames -------------------------------------------------------------

_DTYPES = ["int64", "int8", "uint32", "float64", "float32", "bool", "datetime64[ns]"]


@st.composite
def frames(draw: Any) -> Any:
    columns = []
    for name in draw(st.lists(st.text(max_size=3), max_size=4, unique=True)):
        kind = draw(st.sampled_from([*_DTYPES, "str", "objects"]))
        if kind == "str":
            columns.append(hpd.column(name, elements=st.text(max_size=3), dtype=object))
        elif kind == "objects":
            columns.append(hpd.column(name, elements=st.integers() | st.text(), dtype=object))
        else:
            columns.append(hpd.column(name, dtype=kind))
    index = draw(st.sampled_from([
        hpd.range_indexes(max_size=6),
        hpd.indexes(dtype="int64", max_size=6, unique=True),
        hpd.indexes(elements=st.text(max_size=2), max_size=6),
    ]))  # fmt: skip
    df = draw(hpd.data_frames(columns, index=index))
    if draw(st.booleans()):
        df.index.name = draw(st.text(max_size=3))
    if draw(st.booleans()):  # pandas' own inference, as a user's frame would have
        df = df.infer_objects()
    return df


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames())
def test_every_generated_frame_reads_back_equal(df: Any) -> None:
    repo = p.memory_repo()
    chosen = serializer_for(df)
    stored = repo.store_value(df, chosen)
    serializer = get_serializer(chosen)
    if stored.inline is not None:
        back = serializer.loads(stored.inline)
    else:
        with repo.blobstore.open_local(stored.blob_id) as path:
            back = serializer.load(path)
    assert_same(df, back)
