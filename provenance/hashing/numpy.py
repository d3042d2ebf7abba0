"""Handlers of numpy arrays, scalars and dtypes, installed once numpy is imported.

Arrays hash ``dtype.str`` (plus ``descr`` for structured dtypes), the shape and
the contents in logical C order: C-contiguous data is hashed in place, anything
else is streamed through a small buffer, so a Fortran array, a strided view and
their copy hash alike.  Importing this module does not import numpy.
"""

from __future__ import annotations

from typing import Any

import xxhash

from .containers import _d_tuple
from .core import _LIBRARY, _PENDING, _blame, _digest, _get, _guard, _h, _indexed, _rd, _Unhashable
from .reduction import _d_reduce
from .scalars import _d_complex, _d_str

_BLOCK_BYTES = 1 << 20  # buffer for hashing non-contiguous arrays in C order
_TILE_BYTES = 1 << 14  # tile of that buffer filled at once when transposing (L1-sized)

_np: Any = None  # the numpy module, once _load_numpy has run


def _load_numpy() -> None:
    global _np
    import numpy

    _np = numpy
    _LIBRARY[numpy.ndarray] = _guard(_d_ndarray)  # object arrays can hold themselves
    _LIBRARY[numpy.generic] = _d_npscalar
    _LIBRARY[numpy.dtype] = _dtype_digest


def _dtype_digest(dt: Any) -> bytes:
    parts = _d_str(dt.str)
    if dt.fields is not None:
        parts += _digest(dt.descr)  # names, offsets (as padding) and subarray shapes
    elif dt.subdtype is not None:
        parts += _dtype_digest(dt.subdtype[0]) + _d_tuple(dt.subdtype[1])
    elif dt.kind == "T":
        parts += _d_str(repr(dt))  # StringDType options such as na_object
    return _h(b"dtype:" + parts)


def _data_digest(a: Any) -> bytes:
    """Digest of an array's contents in logical C order; copies only if not C-contiguous."""
    if a.dtype.fields is not None:
        # Field by field: padding bytes between fields hold arbitrary garbage.
        return _h(b"".join([_data_digest(a[name]) for name in a.dtype.names]))
    if a.nbytes == 0:
        return _h(b"")
    if not a.flags.c_contiguous:
        return _strided_digest(a)
    return _h(a.reshape(-1).view(_np.uint8))


def _strided_digest(a: Any) -> bytes:
    """Stream a non-C-contiguous array in C order through a small reused buffer.

    One ``np.ascontiguousarray`` would allocate a full copy, and transposing a Fortran
    array in one go runs at a fraction of memory speed; copying blocks of rows, in
    tiles along the last axis when that axis is the slow one, keeps the reads local.
    """
    hasher = xxhash.xxh3_128()  # streaming gives the same digest as one-shot hashing
    n = a.shape[0]
    row_bytes = a.nbytes // n
    transposed = a.ndim > 1 and abs(a.strides[0]) < abs(a.strides[-1])
    rows = min(n, max(64 if transposed else 1, _BLOCK_BYTES // row_bytes))
    width = max(1, _TILE_BYTES // (rows * (row_bytes // a.shape[-1]))) if transposed else 0
    buf = _np.empty((rows,) + a.shape[1:], dtype=a.dtype)
    for i in range(0, n, rows):
        block = a[i : i + rows]
        out = buf[: len(block)]
        if transposed:
            for j in range(0, a.shape[-1], width):
                out[..., j : j + width] = block[..., j : j + width]
        else:
            out[...] = block
        hasher.update(out.reshape(-1).view(_np.uint8))
    return hasher.digest()


def _array_digest(dt: Any, shape: tuple[int, ...], data: bytes) -> bytes:
    return _h(b"ndarray:" + _dtype_digest(dt) + _d_tuple(shape) + data)


def _d_ndarray(a: Any) -> bytes:
    if type(a) is not _np.ndarray:
        return _d_reduce(a)  # subclasses (masked arrays, matrices) carry more than data
    dt = a.dtype
    if dt.hasobject:  # object and StringDType: memory holds pointers, hash the elements
        items = a.ravel().tolist()
        try:
            body = b"".join([_get(type(x), _rd)(x) for x in items])
        except _Unhashable as exc:
            _blame(exc, _indexed(items, "[{}]" if a.ndim == 1 else ".flat[{}]"))
            raise
        return _h(b"ndarray-items:" + _dtype_digest(dt) + _d_tuple(a.shape) + _h(body))
    return _array_digest(dt, a.shape, _data_digest(a))


def _d_npscalar(x: Any) -> bytes:
    dt = x.dtype
    if dt.kind in "fc" and x != x:
        data = b"nan" + _d_complex(complex(x)) if dt.kind == "c" else b"nan"
    elif dt.hasobject or dt.fields is not None:
        data = _d_ndarray(_np.asarray(x))
    else:
        data = x.tobytes()
    return _h(b"npscalar:" + _dtype_digest(dt) + data)


_PENDING["numpy"] = _load_numpy
