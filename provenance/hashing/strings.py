"""Digests of string arrays in bulk: pandas string columns and object columns of strings.

A column of ``n`` strings hashes as one canonical form, whatever holds it::

    n, the positions of its missing values and what each one is (None, NaN or pd.NA),
    the UTF-8 byte length of every value (0 where missing), all the values' UTF-8 bytes

so an Arrow-backed and a python-backed column of one dtype hash alike, and so do
an Arrow array split into chunks or sliced from a bigger one and its copy.
Arrow arrays are hashed from their offsets and data buffers, without a Python
object per value; object arrays are checked to hold exact ``str`` values (or
missing values) and then encoded in one call to pyarrow, or in Python without
it (the same digest, only slower).  Anything else (an ``int``, ``bytes``, a
``str`` subclass, a lone surrogate) returns ``None``: the caller hashes such a
column element by element instead, exactly.

Nothing here imports numpy, pandas or pyarrow until a pandas value is hashed.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

import xxhash

from .core import _h

# Under this many values an object array is encoded in Python: converting it to Arrow
# costs more than it saves.  Both ways give the same digest.
_ARROW_MIN_ITEMS = 1024

# What a missing value is, in the digest (a string is never missing): missing values
# of different kinds differ, as they do element by element.
_NONE, _NAN, _NA = 1, 2, 3

_pack_q = struct.Struct("<q").pack
_np: Any = None
_pd: Any = None
_pa: Any = None  # pyarrow, or False once it is known not to be installed


def _load(numpy: Any, pandas: Any) -> None:
    """Called by the pandas handlers once pandas is imported."""
    global _np, _pd
    _np, _pd = numpy, pandas


def _pyarrow() -> Any:
    """pyarrow if it is installed, to convert object arrays with; else False."""
    global _pa
    if _pa is None:
        try:
            import pyarrow
        except ImportError:
            _pa = False
        else:
            _pa = pyarrow
    return _pa


def _arrow() -> Any:
    # For an Arrow array in hand: pyarrow is imported, whatever _pyarrow() decided.
    return sys.modules["pyarrow"]


def _offsets(chunk: Any) -> tuple[Any, Any]:
    """The ``len + 1`` offsets of an Arrow (large) string array, and its data buffer."""
    _, offsets_buf, data_buf = chunk.buffers()
    wide = _arrow().types.is_large_string(chunk.type)
    count = chunk.offset + len(chunk) + 1
    offsets = _np.frombuffer(offsets_buf, dtype="<i8" if wide else "<i4", count=count)
    return offsets[chunk.offset :], data_buf


class _Digest:
    """The canonical form above, fed in pieces (chunks); xxh3 streams like one-shot."""

    def __init__(self) -> None:
        self.n = 0
        self.lengths = xxhash.xxh3_128()
        self.data = xxhash.xxh3_128()
        self.missing: list[Any] = []  # int64 positions
        self.codes: list[Any] = []  # uint8 kinds, one per position

    def add_missing(self, positions: Any, codes: Any) -> None:
        if len(positions):
            self.missing.append(positions.astype("<i8", copy=False) + self.n)
            self.codes.append(codes.astype("u1", copy=False))

    def add_encoded(self, lengths: Any, data: Any) -> None:
        """``lengths`` (int64, 0 where missing) and the joined UTF-8 bytes of the values."""
        self.lengths.update(lengths.astype("<i8", copy=False))
        self.data.update(data)
        self.n += len(lengths)

    def add_arrow(self, chunk: Any, nulls: Any = None) -> None:
        """One Arrow string array; its nulls (positions) must have been added with add_missing."""
        pa = _arrow()
        kind = chunk.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            chunk = chunk.cast(pa.large_string())  # string_view and friends
        n = len(chunk)
        if n == 0:
            return
        offsets, data_buf = _offsets(chunk)
        lengths = _np.diff(offsets).astype("<i8", copy=False)
        if chunk.null_count:
            if nulls is None:
                nulls = _np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))
            if lengths[nulls].any():
                # Null slots that span bytes of the data buffer (Arrow allows it):
                # empty them, so only the values' bytes are hashed.
                import pyarrow.compute

                chunk = pyarrow.compute.fill_null(chunk, "")
                offsets, data_buf = _offsets(chunk)
                lengths = _np.diff(offsets).astype("<i8", copy=False)
        start, stop = int(offsets[0]), int(offsets[-1])
        self.lengths.update(lengths)
        if stop > start:
            self.data.update(data_buf.slice(start, stop - start))
        self.n += n

    def digest(self) -> bytes:
        np = _np
        if self.missing:
            positions = np.concatenate(self.missing)
            codes = np.concatenate(self.codes)
        else:
            positions, codes = np.empty(0, "<i8"), np.empty(0, "u1")
        return _h(
            b"strings:"
            + _pack_q(self.n)
            + _h(positions)
            + _h(codes)
            + self.lengths.digest()
            + self.data.digest()
        )


def _na_code(na_value: Any) -> int:
    return _NA if na_value is _pd.NA else _NAN


def arrow_strings_digest(chunked: Any, code: int) -> bytes:
    """Digest of an Arrow string ``ChunkedArray`` whose missing values are of kind ``code``."""
    out = _Digest()
    for chunk in chunked.chunks:
        positions = None
        if chunk.null_count:
            positions = _np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))
            out.add_missing(positions, _np.full(len(positions), code, dtype="u1"))
        out.add_arrow(chunk, positions)
    return out.digest()


def _encode(items: list[Any], missing: Any) -> tuple[Any, bytes] | None:
    """Lengths and joined UTF-8 bytes of a list of strings, in Python; None if it cannot.

    ``items`` that are not missing must be strings: anything else (a float that is a
    number) or a lone surrogate (which Arrow refuses too) gives None.
    """
    np = _np
    if len(missing):
        keep = np.ones(len(items), dtype=bool)
        keep[missing] = False
        strings = [x for x, k in zip(items, keep.tolist()) if k]
    else:
        keep, strings = None, items
    try:
        encoded = [s.encode() for s in strings]
    except (UnicodeEncodeError, AttributeError):
        return None
    sizes = np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded))
    if keep is None:
        return sizes, b"".join(encoded)
    lengths = np.zeros(len(items), dtype="<i8")
    lengths[keep] = sizes
    return lengths, b"".join(encoded)


def _bulk(values: Any, items: list[Any], missing: Any | None, code: Any) -> bytes | None:
    """Digest of the strings of a 1-d object array; None if it holds anything else.

    ``missing``: the positions of the missing values, or None to find them (Arrow's
    nulls, or the values that are not ``str``).  ``code(positions)`` says what kind
    of missing value each one is, or None if one is not a missing value at all.
    """
    np = _np
    out = _Digest()
    pa = _pyarrow() if len(items) >= _ARROW_MIN_ITEMS else None
    if pa:
        try:  # None, NaN and pd.NA become nulls; a number or bytes is refused below
            arr = pa.array(values, type=pa.large_string(), from_pandas=True)
        except (UnicodeEncodeError, pa.ArrowException):
            return None
        if missing is None:
            nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else ()
            missing = np.flatnonzero(nulls)
    elif missing is None:
        missing = np.array([i for i, x in enumerate(items) if type(x) is not str], dtype="<i8")
    codes = code(missing)
    if codes is None:
        return None
    out.add_missing(missing, codes)
    if pa:
        out.add_arrow(arr, missing)
    else:
        encoded = _encode(items, missing)
        if encoded is None:
            return None
        out.add_encoded(*encoded)
    return out.digest()


def object_strings_digest(values: Any) -> bytes | None:
    """Digest of a 1-d object array if it holds only exact ``str`` and missing values.

    ``None`` (the caller hashes element by element) when it holds anything else.
    Missing values are ``None``, ``float('nan')`` and ``pd.NA``, each told apart.
    """
    items = values.tolist()
    kinds = set(map(type, items))
    if not kinds <= {str, type(None), float, type(_pd.NA)}:
        return None  # bytes, ints, str subclasses...: element by element

    def code(positions: Any) -> Any:
        na = _pd.NA
        codes = []
        for i in positions.tolist():
            x = items[i]
            if x is None:
                codes.append(_NONE)
            elif x is na:
                codes.append(_NA)
            elif type(x) is float and x != x:
                codes.append(_NAN)
            else:
                return None  # a float that is a number
        return _np.array(codes, dtype="u1")

    return _bulk(values, items, None, code)


def string_array_digest(arr: Any) -> bytes | None:
    """Digest of a pandas string ExtensionArray (Arrow- or python-backed), or None.

    ``None`` only for a python-backed array that UTF-8 cannot encode.
    """
    np = _np
    dt = arr.dtype
    na_code = _na_code(getattr(dt, "na_value", _pd.NA))
    if hasattr(arr, "__arrow_array__") and not hasattr(arr, "_ndarray"):
        return arrow_strings_digest(arr.__arrow_array__(), na_code)
    values = np.asarray(arr._ndarray if hasattr(arr, "_ndarray") else arr.to_numpy(object))
    missing = np.flatnonzero(np.asarray(arr.isna()))
    return _bulk(values, values.tolist(), missing, lambda p: np.full(len(p), na_code, dtype="u1"))
