"""The parquet family: ``pd_df_parquet`` and ``pd_series_parquet``.

The original library's names and formats: a DataFrame is written by
``DataFrame.to_parquet`` and read by ``pandas.read_parquet`` (the dump and
load kwargs are theirs); a Series is stored as a one-column frame whose
column is the Series' name, or ``"_series"`` when it has none.  pyarrow is
the engine; it comes with the ``pandas`` extra.

Both are chosen by type for exact DataFrames and Series, but only for a value
that parquet gives back equal: :func:`faithful` checks the frame's columns and
index with a one-row round trip, and refuses object columns of anything but
strings or bytes (which parquet would read back with another dtype), a
``freq`` on the index, attrs that JSON does not keep, and a Series named
``"_series"`` (which would read back unnamed).  Such values, and every
value when pyarrow is missing, are stored with the default serializer.
pandas and pyarrow are imported only when a frame is stored or loaded.

Both are *safe*: reading parquet runs no code, so their values load from
repos that are not trusted.  That holds for pyarrow 14.0.1 and later (older
versions unpickle an extension type named in the file, CVE-2023-47248), which
the ``pandas`` extra requires.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import threading
import warnings
from typing import Any

from ..errors import MissingDependency, SerializationError, SerializerFallbackWarning, require
from .registry import register_serializer

__all__ = ["faithful"]

#: The column that holds an unnamed Series (the original library's).
SERIES_COLUMN = "_series"
_EXTRA = "pandas"
_lock = threading.Lock()
_pyarrow_ok: bool | None = None


def _requires() -> None:
    for module in ("pandas", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(
                f"the parquet serializers need the '{module}' package; install it with "
                f"`pip install 'provenance[{_EXTRA}]'`"
            )


def _pandas() -> Any:
    require("pyarrow", _EXTRA, "the parquet serializers (pd_df_parquet, pd_series_parquet)")
    return require("pandas", _EXTRA, "the parquet serializers (pd_df_parquet, pd_series_parquet)")


def _has_pyarrow() -> bool:
    """Whether pyarrow imports; warn once per process when it does not."""
    global _pyarrow_ok
    if _pyarrow_ok is None:
        with _lock:
            if _pyarrow_ok is None:
                try:
                    import pyarrow  # noqa: F401
                except ImportError:
                    _pyarrow_ok = False
                    warnings.warn(
                        "pandas values are stored with the default serializer (joblib) "
                        "because pyarrow is not installed; install it with "
                        f"`pip install 'provenance[{_EXTRA}]'` to store them as parquet",
                        SerializerFallbackWarning,
                        stacklevel=2,
                    )
                else:
                    _pyarrow_ok = True
    return _pyarrow_ok


# -- DataFrame ------------------------------------------------------------------


def _df_dump(df: Any, filename: str, **kwargs: Any) -> None:
    _pandas()
    kwargs.setdefault("engine", "pyarrow")
    df.to_parquet(filename, **kwargs)


def _df_load(filename: str, **kwargs: Any) -> Any:
    pd = _pandas()
    kwargs.setdefault("engine", "pyarrow")
    return pd.read_parquet(filename, **kwargs)


def _df_loads(data: bytes) -> Any:
    _pandas()  # names the extra to install if pyarrow is missing
    import pyarrow as pa

    # A pyarrow buffer over the bytes, not a BytesIO: pyarrow reads its
    # pages in place instead of copying each through a Python call.
    return _df_load(pa.BufferReader(data))


def _df_load_from(fileobj: Any) -> Any:
    # Parquet's footer is at the end, so it is not parsed as it streams:
    # the file is read once into a buffer of pyarrow's pool (whose pages
    # are reused from one load to the next), hashed on the way, and decoded
    # in place, which beats pyarrow reading the file by name.
    _pandas()
    import pyarrow as pa

    try:
        size = os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError):  # no descriptor: read it as bytes
        return _df_loads(fileobj.read())
    buffer = pa.allocate_buffer(size)
    got = fileobj.readinto(memoryview(buffer))
    if got != size:
        raise ValueError(f"the parquet file is truncated: {got} of {size} bytes read")
    return _df_load(pa.BufferReader(buffer))


def _df_accepts(value: Any) -> bool:
    import pandas as pd  # a DataFrame exists: pandas is imported already

    return type(value) is pd.DataFrame and _has_pyarrow() and faithful(value)


# -- Series ---------------------------------------------------------------------


def _series_frame(series: Any) -> Any:
    if series.name is None:
        return series.to_frame(SERIES_COLUMN)
    if isinstance(series.name, str) and series.name == SERIES_COLUMN:
        # It would read back unnamed, as the original's did.
        raise SerializationError(
            f"pd_series_parquet cannot store a Series named {SERIES_COLUMN!r} (it would read "
            "back unnamed); rename it or use serializer='joblib'"
        )
    return series.to_frame(series.name)


def _series_dump(series: Any, filename: str, **kwargs: Any) -> None:
    _df_dump(_series_frame(series), filename, **kwargs)


def _series_dump_to(series: Any, fileobj: Any, **kwargs: Any) -> None:
    _df_dump(_series_frame(series), fileobj, **kwargs)


def _as_series(frame: Any) -> Any:
    series = frame.iloc[:, 0]
    if series.name == SERIES_COLUMN:
        series.name = None
    return series


def _series_load(filename: str, **kwargs: Any) -> Any:
    return _as_series(_df_load(filename, **kwargs))


def _series_loads(data: bytes) -> Any:
    return _as_series(_df_loads(data))


def _series_load_from(fileobj: Any) -> Any:
    return _as_series(_df_load_from(fileobj))


def _series_accepts(value: Any) -> bool:
    import pandas as pd

    if type(value) is not pd.Series or not _has_pyarrow():
        return False
    name = value.name
    if not (name is None or (isinstance(name, str) and name != SERIES_COLUMN)):
        return False
    return faithful(_series_frame(value))


# -- the check ------------------------------------------------------------------

_STORABLE_OBJECTS = frozenset({"string", "bytes", "empty"})


def faithful(df: Any) -> bool:
    """Whether ``df`` reads back from parquet equal, dtypes and index included.

    Cheap against writing the frame: one pass over object columns and a
    round trip of its first row, compared with every check of
    :func:`pandas.testing.assert_frame_equal` made strict.
    """
    import pandas as pd

    try:
        if not df.flags.allows_duplicate_labels or getattr(df.index, "freq", None) is not None:
            return False
        if df.attrs and json.loads(json.dumps(df.attrs)) != df.attrs:
            return False
        # What an object column holds decides how it reads back (str and
        # bytes differently): part of the key of the cached round trip.
        infer, is_object = pd.api.types.infer_dtype, pd.api.types.is_object_dtype
        held = []
        for i, dtype in enumerate(df.dtypes):
            if is_object(dtype):
                held.append(infer(df.iloc[:, i], skipna=False))
        index = df.index
        for level in range(index.nlevels):
            values = index.get_level_values(level)
            if is_object(values.dtype):
                held.append(infer(values, skipna=False))
        if not _STORABLE_OBJECTS.issuperset(held):
            return False
        key = _schema(df, tuple(held))
        known = _probed.get(key) if key is not None else None
        if known is None:
            known = _round_trips(pd, df.iloc[:1])
            if key is not None:
                if len(_probed) >= _PROBED_MAX:
                    _probed.clear()
                _probed[key] = known
        return known
    except Exception:  # anything parquet cannot write, or writes differently
        return False


#: Whether the first row of frames of one schema round-trips, by schema: the
#: check of a wide frame (hundreds of columns) costs a hundred milliseconds.
_probed: dict[Any, bool] = {}
_PROBED_MAX = 256


def _schema(df: Any, held: tuple[str, ...]) -> Any:
    """What decides a one-row round trip: the schema and what object columns hold."""
    columns, index = df.columns, df.index
    key = (
        held,
        type(columns), columns.dtype, tuple(columns), tuple(columns.names),
        tuple(df.dtypes), type(index), tuple(index.names),
        tuple(index.dtypes) if index.nlevels > 1 else index.dtype,
        len(df) == 0, json.dumps(df.attrs, sort_keys=True) if df.attrs else "",
    )  # fmt: skip
    try:
        hash(key)
    except TypeError:  # a label that cannot be hashed: no cache
        return None
    return key


def _round_trips(pd: Any, head: Any) -> bool:
    try:
        buffer = io.BytesIO()
        head.to_parquet(buffer, engine="pyarrow")
        back = pd.read_parquet(io.BytesIO(buffer.getvalue()), engine="pyarrow")
        pd.testing.assert_frame_equal(
            head, back, check_index_type=True, check_column_type=True,
            check_frame_type=True, check_exact=True, check_freq=True, check_flags=True,
        )  # fmt: skip
    except Exception:
        return False
    return bool(back.attrs == head.attrs)


register_serializer(
    "pd_df_parquet",
    _df_dump,
    _df_load,
    "application/vnd.apache.parquet",
    classes=["pandas.DataFrame", "pandas.core.frame.DataFrame"],
    loads=_df_loads,
    dump_to=_df_dump,
    accepts=_df_accepts,
    requires=_requires,
    safe=True,
    load_from=_df_load_from,
)
register_serializer(
    "pd_series_parquet",
    _series_dump,
    _series_load,
    "application/vnd.apache.parquet",
    classes=["pandas.Series", "pandas.core.series.Series"],
    loads=_series_loads,
    dump_to=_series_dump_to,
    accepts=_series_accepts,
    requires=_requires,
    safe=True,
    load_from=_series_load_from,
)
