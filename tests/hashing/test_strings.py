"""Tests for :mod:`provenance.hashing.strings`: string columns and labels hashed in bulk.

What they pin: equal strings hash equal whatever holds them (Arrow or Python
storage, chunks, slices, with or without pyarrow), the dtype of a column still
counts, missing values stay apart from each other and from the strings that
print like them, and object columns holding anything but strings keep the
exact element-wise rule.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.hashing import hash_value, strings

ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default "str"
PYTHON_STR = pd.StringDtype("python", na_value=np.nan)
ARROW_STRING = pd.StringDtype("pyarrow")  # "string": missing values are pd.NA
PYTHON_STRING = pd.StringDtype("python")

VALUES = ["a", None, "", "héllo wörld", "None", "nan", "<NA>", "日本", "z" * 300]
#: More values than strings._ARROW_MIN_ITEMS, so object arrays go through pyarrow.
LONG = VALUES * 200


@pytest.fixture(params=[False, True], ids=["arrow", "python"])
def encoding(request: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: pyarrow used where it pays, then as if it were not installed."""
    if request.param:
        monkeypatch.setattr(strings, "_pa", False)
    return "python" if request.param else "arrow"


def test_storages_of_one_dtype_hash_alike(encoding: str) -> None:
    for values in (VALUES, LONG):
        assert hash_value(pd.Series(values, dtype=ARROW_STR)) == hash_value(
            pd.Series(values, dtype=PYTHON_STR)
        )
        assert hash_value(pd.Series(values, dtype=ARROW_STRING)) == hash_value(
            pd.Series(values, dtype=PYTHON_STRING)
        )


def test_python_and_arrow_encodings_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    columns = {
        "object": pd.Series(LONG + [np.nan, pd.NA], dtype=object),
        "python": pd.Series(LONG, dtype=PYTHON_STRING),
        "str": pd.Series(LONG, dtype=PYTHON_STR),
    }
    with_arrow = {k: hash_value(v) for k, v in columns.items()}
    monkeypatch.setattr(strings, "_ARROW_MIN_ITEMS", 10**9)  # Python for every size
    assert {k: hash_value(v) for k, v in columns.items()} == with_arrow
    monkeypatch.setattr(strings, "_pa", False)  # and as if pyarrow were not installed
    assert {k: hash_value(v) for k, v in columns.items()} == with_arrow


def test_the_dtype_still_counts() -> None:
    # Documented in docs/migrating.rst: an object column of strings is not a "str" one,
    # as an int32 column is not an int64 one; "str" (NaN) and "string" (pd.NA) differ.
    ids = {
        hash_value(pd.Series(["a", "b"], dtype=dt))
        for dt in (object, ARROW_STR, ARROW_STRING, pd.ArrowDtype(pa.string()))
    }
    assert len(ids) == 4
    assert hash_value(pd.Series(["a", "b"], dtype=pd.ArrowDtype(pa.large_string()))) not in ids


def test_missing_values_are_told_apart(encoding: str) -> None:
    for dt in (ARROW_STR, PYTHON_STR, ARROW_STRING, PYTHON_STRING, object):
        missing = hash_value(pd.Series(["a", None], dtype=dt))
        for text in ("None", "nan", "NaN", "<NA>", ""):
            assert hash_value(pd.Series(["a", text], dtype=dt)) != missing, (dt, text)
        # Where the missing value is matters, not only how many there are.
        assert hash_value(pd.Series([None, "a"], dtype=dt)) != missing
        assert hash_value(pd.Series(["a", None, ""], dtype=dt)) != hash_value(
            pd.Series(["a", "", None], dtype=dt)
        )
    kinds = [None, np.nan, pd.NA]
    ids = {hash_value(pd.Series(["a", k] * 600, dtype=object)) for k in kinds}
    assert len(ids) == 3  # in an object column, None, NaN and pd.NA are different values


def test_lengths_and_bytes_cannot_trade_places(encoding: str) -> None:
    assert hash_value(pd.Series(["ab", "c"])) != hash_value(pd.Series(["a", "bc"]))
    assert hash_value(pd.Series(["abc", ""])) != hash_value(pd.Series(["", "abc"]))
    assert hash_value(pd.Series(["a"])) != hash_value(pd.Series(["a", ""]))


def test_slices_and_chunks_hash_as_their_copy() -> None:
    s = pd.Series(LONG, dtype=ARROW_STR)
    part = s.iloc[5:1005].reset_index(drop=True)
    assert part.array._pa_array.chunk(0).offset == 5  # a view into the buffers
    assert hash_value(part) == hash_value(pd.Series(LONG[5:1005], dtype=ARROW_STR))
    for kind in (pa.string(), pa.large_string()):
        pieces = [LONG[:7], LONG[7:7], LONG[7:1000], LONG[1000:]]
        chunked = pa.chunked_array([pa.array(p, kind) for p in pieces], type=kind)
        arr = pd.arrays.ArrowStringArray(chunked, dtype=ARROW_STR)
        assert hash_value(pd.Series(arr)) == hash_value(s)
    frame = pd.DataFrame({"s": s, "o": pd.Series(LONG, dtype=object)})
    assert hash_value(frame.iloc[3:900]) == hash_value(frame.iloc[3:900].copy())
    assert hash_value(frame.iloc[3:900]) != hash_value(frame.iloc[4:900])


def test_null_slots_that_span_bytes_are_ignored() -> None:
    # Arrow lets a null slot's offsets cover data (pyarrow's builders leave them empty).
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    offsets = pa.py_buffer(np.array([0, 1, 4, 6], dtype="<i4").tobytes())
    data = pa.py_buffer(b"axyzbc")
    odd = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, data], null_count=1)
    tidy = pa.array(["a", None, "bc"], pa.string())
    assert odd.to_pylist() == tidy.to_pylist()
    as_series = [pd.Series(pd.arrays.ArrowStringArray(a, dtype=ARROW_STR)) for a in (odd, tidy)]
    assert hash_value(as_series[0]) == hash_value(as_series[1])


def test_arrow_dtype_string_views() -> None:
    values = ["a", None, "a longer string than twelve bytes"]
    view = pd.Series(values, dtype=pd.ArrowDtype(pa.string_view()))
    assert hash_value(view) == hash_value(view.copy())
    assert hash_value(view) != hash_value(pd.Series(["a", None, "other"], dtype=view.dtype))


class Color(str, enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    "odd",
    [1, 1.5, b"red", np.str_("red"), Color.RED, ("red",), np.float64("nan"), pd.NaT],
    ids=repr,
)
def test_object_columns_of_not_only_strings_are_exact(odd: Any, encoding: str) -> None:
    for n in (1, 1500):
        values = ["red", "blue"] * n
        with_odd = pd.Series(values[:-1] + [odd], dtype=object)
        assert strings.object_strings_digest(np.asarray(with_odd)) is None  # element-wise
        assert hash_value(with_odd) == hash_value(with_odd.copy())
        assert hash_value(with_odd) != hash_value(pd.Series(values, dtype=object))
        assert hash_value(with_odd) != hash_value(pd.Series(values[:-1] + [None], dtype=object))


def test_surrogates_fall_back_to_the_element_wise_path(encoding: str) -> None:
    for n in (1, 1500):
        values = ["a\udcff", "b"] * n
        for dt in (object, PYTHON_STRING):
            s = pd.Series(values, dtype=dt)
            assert hash_value(s) == hash_value(s.copy())
            assert hash_value(s) != hash_value(pd.Series(["a\udcfe", "b"] * n, dtype=dt))


def test_string_labels_hash_alike_whatever_their_dtype(encoding: str) -> None:
    for labels in (["a", "b"], VALUES, LONG):
        with_nan = [np.nan if x is None else x for x in labels]
        ids = {
            hash_value(pd.Index(with_nan, dtype=dt))
            for dt in (object, ARROW_STR, PYTHON_STR, pd.StringDtype(na_value=np.nan))
        }
        assert len(ids) == 1
        with_na = [pd.NA if x is None else x for x in labels]
        na_ids = {hash_value(pd.Index(with_na, dtype=dt)) for dt in (object, ARROW_STRING)}
        assert len(na_ids) == 1
    assert hash_value(pd.Index(["a", None], dtype=object)) != hash_value(
        pd.Index(["a", "None"], dtype=object)
    )
    assert hash_value(pd.Index(["1", "2"])) != hash_value(pd.Index([1, "2"], dtype=object))
    frame = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["r", "s"], dtype=object))
    assert hash_value(frame) == hash_value(frame.set_axis(pd.Index(["r", "s"]), axis=0))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=40),
    st.integers(0, 40),
)
def test_any_strings_hash_alike_in_every_storage_and_chunking(
    values: list[str | None], cut: int
) -> None:
    expected = hash_value(pd.Series(values, dtype=PYTHON_STR))
    assert hash_value(pd.Series(values, dtype=ARROW_STR)) == expected
    cut = min(cut, len(values))
    chunked = pa.chunked_array(
        [pa.array(values[:cut], pa.large_string()), pa.array(values[cut:], pa.large_string())]
    )
    assert hash_value(pd.Series(pd.arrays.ArrowStringArray(chunked, dtype=ARROW_STR))) == expected
    obj = pd.Series(values, dtype=object)
    assert hash_value(obj) == hash_value(pd.Series(list(values), dtype=object))
    changed = [*values, ""]
    assert hash_value(pd.Series(changed, dtype=ARROW_STR)) != expected
