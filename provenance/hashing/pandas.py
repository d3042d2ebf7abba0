"""Handlers of pandas DataFrames, Series, Indexes and extension arrays.

Installed once pandas is imported; importing this module does not import pandas.
Values are hashed column by column (numeric columns as numpy arrays, string
columns and object columns of strings in bulk by :mod:`.strings`, other object
columns element by element, exactly: unlike ``hash_pandas_object``, ``1`` and
``"1"`` or ``None`` and ``"None"`` differ), with the dtype of each column, the
index, column labels and names.
"""

from __future__ import annotations

from typing import Any

import xxhash

from .containers import _d_tuple
from .core import (
    _LIBRARY,
    _PENDING,
    _blame,
    _digest,
    _get,
    _guard,
    _h,
    _indexed,
    _rd,
    _short,
    _Unhashable,
)
from .numpy import _array_digest, _d_ndarray, _dtype_digest
from .scalars import _d_bool, _d_str
from .strings import _load as _load_strings
from .strings import object_strings_digest, string_array_digest

_CHUNK_ITEMS = 1 << 16  # RangeIndex values materialised per step (512 KiB)

# The numpy and pandas modules, once _load_pandas has run (pandas imports numpy).
_np: Any = None
_pd: Any = None


def _load_pandas() -> None:
    global _np, _pd
    import numpy
    import pandas

    _np, _pd = numpy, pandas
    _load_strings(numpy, pandas)
    _LIBRARY[pandas.DataFrame] = _guard(_d_dataframe)
    _LIBRARY[pandas.Series] = _guard(_d_series)
    _LIBRARY[pandas.Index] = _d_index
    _LIBRARY[pandas.api.extensions.ExtensionArray] = _d_extension_array


def _pd_values(values: Any) -> bytes:
    """Digest of the values of a Series, an Index or an ExtensionArray, with their dtype."""
    dt = values.dtype
    if isinstance(dt, _np.dtype):
        a = _np.asarray(values)  # numpy-backed: a view, no copy
        strings = object_strings_digest(a) if dt.kind == "O" and a.ndim == 1 else None
        if strings is None:
            return _d_ndarray(a)
        return _h(b"pandas-values:" + _d_str(str(dt)) + strings)
    pd = _pd
    arr = values if isinstance(values, pd.api.extensions.ExtensionArray) else values.array
    strings = _string_digest(arr)
    if strings is not None:
        data = strings
    elif isinstance(dt, pd.CategoricalDtype):
        data = _d_index(dt.categories) + _d_bool(bool(dt.ordered)) + _d_ndarray(arr.codes)
    elif isinstance(dt, pd.DatetimeTZDtype):
        data = _d_ndarray(_np.asarray(arr.tz_convert(None)))  # UTC instants; tz in str(dt)
    elif isinstance(arr, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)):
        # Masked arrays: what lies under the mask is arbitrary, so fill it first.
        mask = _np.asarray(arr.isna())
        fill = False if dt.kind == "b" else 0
        data = _d_ndarray(mask) + _d_ndarray(arr.to_numpy(dtype=dt.numpy_dtype, na_value=fill))
    else:  # strings, periods, intervals, sparse...: element by element, exactly
        data = _items_digest(arr)
    return _h(b"pandas-values:" + _d_str(str(dt)) + data)


def _string_digest(arr: Any) -> bytes | None:
    """Bulk digest of a string ExtensionArray (pandas' or Arrow's string dtypes), or None."""
    dt = arr.dtype
    pd = _pd
    if isinstance(dt, pd.StringDtype):
        return string_array_digest(arr)
    pa_type = getattr(dt, "pyarrow_dtype", None)  # pd.ArrowDtype
    if pa_type is not None and (str(pa_type) in ("string", "large_string", "string_view")):
        return string_array_digest(arr)
    return None


def _items_digest(arr: Any) -> bytes:
    """``_d_ndarray(arr.to_numpy(dtype=object))`` of a 1-d extension array, a slice at a time.

    The digest of an object array is that of its items' digests joined, and
    xxh3 streamed over the slices equals xxh3 of the whole, so the id is the
    same; but only one slice of Python objects (and of their digests) is
    alive at a time, not one per element of the column.
    """
    n = len(arr)
    hasher = xxhash.xxh3_128()
    for start in range(0, n, _CHUNK_ITEMS):
        items = arr[start : start + _CHUNK_ITEMS].to_numpy(dtype=object).tolist()
        try:
            hasher.update(b"".join([_get(type(x), _rd)(x) for x in items]))
        except _Unhashable as exc:
            _blame(exc, ((f"[{start + i}]", x) for i, x in enumerate(items)))
            raise
    body = hasher.digest()
    return _h(b"ndarray-items:" + _dtype_digest(_np.dtype(object)) + _d_tuple((n,)) + body)


def _range_index_values(idx: Any) -> bytes:
    # Same digest as the equivalent int64 Index (pandas treats them as equal), without
    # materialising a huge range: xxh3 streaming equals one-shot hashing.
    r = range(idx.start, idx.stop, idx.step)
    hasher = xxhash.xxh3_128()
    for i in range(0, len(r), _CHUNK_ITEMS):
        sub = r[i : i + _CHUNK_ITEMS]
        hasher.update(_np.arange(sub.start, sub.stop, sub.step, dtype=_np.int64))
    return _array_digest(_np.dtype(_np.int64), (len(r),), hasher.digest())


def _index_values(idx: Any) -> bytes:
    pd = _pd
    if isinstance(idx, pd.RangeIndex):
        return _range_index_values(idx)
    dt = idx.dtype
    if (isinstance(dt, _np.dtype) and dt.kind == "O") or isinstance(dt, pd.StringDtype):
        # Labels, not data: pandas 3 infers the "str" dtype where pandas 2 made object
        # Indexes, and either holds the same labels, so neither dtype counts.  Strings
        # (and missing labels) in bulk, anything else element by element.
        if isinstance(dt, pd.StringDtype):
            strings = string_array_digest(idx.array)
        else:
            strings = object_strings_digest(_np.asarray(idx))
        if strings is not None:
            return _h(b"pandas-string-labels:" + strings)
        labels = idx.to_numpy(dtype=object)
        try:
            body = b"".join([_get(type(x), _rd)(x) for x in labels])
        except _Unhashable as exc:
            _blame(exc, _indexed(labels))
            raise
        return _h(b"pandas-labels:" + body)
    return _pd_values(idx)


def _d_index(idx: Any) -> bytes:
    try:
        if isinstance(idx, _pd.MultiIndex):
            levels = [_index_values(idx.get_level_values(i)) for i in range(idx.nlevels)]
            return _h(b"pandas-multiindex:" + _d_tuple(tuple(idx.names)) + b"".join(levels))
        return _h(b"pandas-index:" + _digest(idx.name) + _index_values(idx))
    except _Unhashable as exc:
        _blame(exc, [(".name", idx.name), (".names", tuple(idx.names))])
        raise


def _pd_kind(obj: Any) -> bytes:
    # By qualname only: pandas moves its classes between private modules across versions.
    return _d_str(type(obj).__qualname__)


def _d_series(s: Any) -> bytes:
    try:
        return _h(
            b"pandas-series:" + _pd_kind(s) + _digest(s.name) + _d_index(s.index) + _pd_values(s)
        )
    except _Unhashable as exc:
        _blame(exc, [(".name", s.name), (".index", s.index)])
        raise


def _d_dataframe(df: Any) -> bytes:
    try:
        head = _pd_kind(df) + _d_index(df.columns) + _d_index(df.index)
    except _Unhashable as exc:
        _blame(exc, [(".columns", df.columns), (".index", df.index)])
        raise
    columns = []
    for label, column in df.items():
        try:
            columns.append(_pd_values(column))
        except _Unhashable as exc:
            exc.where.append(f"[{_short(label)}]")
            raise
    return _h(b"pandas-dataframe:" + head + _h(b"".join(columns)))


def _d_extension_array(arr: Any) -> bytes:
    return _h(b"pandas-array:" + _pd_kind(arr) + _pd_values(arr))


_PENDING["pandas"] = _load_pandas
