"""npy: chosen by type for plain numeric arrays, recorded, read back equal, no pickle."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p
from provenance.serializers import serializer_for

np = pytest.importorskip("numpy")

BIG = np.arange(300_000, dtype="float64")  # larger than the row: a blob file
#: (id, array, the serializer chosen for it).
ARRAYS = [
    *[(str(t), np.arange(7).astype(t), "npy")
      for t in ["int8", "int16", "int32", "int64", "uint8", "uint64",
                "float16", "float32", "float64", "complex64", "complex128", "bool"]],
    ("big endian float", np.arange(5, dtype=">f8"), "npy"),
    ("big endian int", np.arange(5, dtype=">i4"), "npy"),
    ("0-d", np.array(3.5), "npy"),
    ("empty", np.array([], dtype="int16"), "npy"),
    ("empty 2-d", np.zeros((0, 3)), "npy"),
    ("fortran order", np.asfortranarray(np.arange(12.0).reshape(3, 4)), "npy"),
    ("strided view", np.arange(20.0)[::3], "npy"),
    ("nan and inf", np.array([np.nan, np.inf, -np.inf, -0.0]), "npy"),
    ("3-d", np.arange(24, dtype="uint16").reshape(2, 3, 4), "npy"),
    ("big", BIG, "npy"),
    # Not plain numbers, or not a plain ndarray: the default stores them.
    ("objects", np.array([1, "x"], dtype=object), "joblib"),
    ("unicode", np.array(["a", "bc"]), "joblib"),
    ("structured", np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]), "joblib"),
    ("raw bytes", np.zeros(2, dtype="V4"), "joblib"),
    ("datetime", np.array(["2020-01-01"], dtype="datetime64[D]"), "joblib"),
    ("masked", np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]), "joblib"),
]  # fmt: skip


def assert_same(left: Any, right: Any) -> None:
    assert type(left) is type(right)
    assert left.dtype == right.dtype and left.dtype.str == right.dtype.str
    assert left.shape == right.shape
    if isinstance(left, np.ma.MaskedArray):
        assert (left.mask == right.mask).all()
    assert np.array_equal(left, right, equal_nan=left.dtype.kind in "fc")


@pytest.mark.parametrize("case, value, expected", ARRAYS, ids=[c[0] for c in ARRAYS])
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
    assert made.artifact.value_id == p.hash_value(value)
    p.load_config(sqlite_config(root))
    back = p.load_artifact(made.artifact.id).value
    assert_same(value, back)
    if expected == "npy":
        assert back.flags.f_contiguous == value.flags.f_contiguous or value.ndim < 2
        assert back.flags.writeable


def test_an_npy_blob_is_numpy_format_and_loads_without_pickle(disk_repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> Any:
        return np.arange(n, dtype="float64")

    made = make(300_000)
    with disk_repo.blobstore.open_local(made.artifact.blob_id) as path:
        with open(path, "rb") as f:
            assert f.read(6) == b"\x93NUMPY"
        # Written without pickle, so it loads with allow_pickle=False.
        assert_same(np.load(path, allow_pickle=False), np.arange(300_000, dtype="float64"))


def test_load_kwargs_map_a_large_array(disk_repo: Any) -> None:
    @p.provenance(load_kwargs={"mmap_mode": "r"})
    def make(n: int) -> Any:
        return np.arange(n, dtype="float64")

    made = make(300_000)
    assert made.artifact.serializer == "npy"
    back = p.load_artifact(made.artifact.id).value
    assert isinstance(back, np.memmap)
    assert np.array_equal(back, np.arange(300_000, dtype="float64"))


def test_joblib_dump_kwargs_fall_back_to_joblib(repo: Any) -> None:
    # Written for the default before arrays were chosen by type: np.save
    # refuses them, and joblib, which they were meant for, stores the value.
    @p.provenance(dump_kwargs={"compress": 3})
    def make(n: int) -> Any:
        return np.zeros(n)

    made = make(10_000)
    assert made.artifact.serializer == "joblib"
    assert_same(p.load_artifact(made.artifact.id).value, np.zeros(10_000))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_subclasses_are_not_chosen(tmp_path: Any) -> None:
    mapped = np.lib.format.open_memmap(str(tmp_path / "m.npy"), mode="w+", shape=(3,))
    assert serializer_for(mapped) == "joblib"
    # (joblib itself reads a matrix back as a plain array: not npy's to fix.)
    assert serializer_for(np.matrix([[1, 2]])) == "joblib"
    assert serializer_for(np.float64(1.0)) == "joblib"  # a scalar, not an array


@pytest.mark.parametrize("case, value, expected", [a for a in ARRAYS if a[2] == "npy"],
                         ids=[a[0] for a in ARRAYS if a[2] == "npy"])  # fmt: skip
def test_the_blob_is_what_np_save_writes(case: str, value: Any, expected: str) -> None:
    import io

    from provenance.serializers import get_serializer

    ours, theirs = io.BytesIO(), io.BytesIO()
    get_serializer("npy").dump_to(value, ours)  # type: ignore[misc]
    np.save(theirs, value, allow_pickle=False)
    assert ours.getvalue() == theirs.getvalue()
