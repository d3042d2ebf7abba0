"""Handlers of the built-in scalars: None, bool, int, float, complex, str, bytes.

Each value is the message ``tag + payload``; the message length is part of the
hash input, so variable-length payloads need no length prefix.
"""

from __future__ import annotations

import struct
from typing import Any

import xxhash

from .core import _BUILTIN, _h

_pack_d = struct.Struct("<d").pack
_pack_dd = struct.Struct("<dd").pack
_pack_q = struct.Struct("<q").pack
# Above this size bytes-like values are streamed rather than concatenated with their tag.
_STREAM_MIN = 1 << 16

_NONE = _h(b"none:")
_TRUE = _h(b"bool:\x01")
_FALSE = _h(b"bool:\x00")
_ELLIPSIS = _h(b"ellipsis:")
_NOTIMPLEMENTED = _h(b"notimplemented:")
_NAN = _h(b"float:nan")
_CANON_NAN = float("nan")


def _d_none(obj: None) -> bytes:
    return _NONE


def _d_bool(obj: bool) -> bytes:
    return _TRUE if obj else _FALSE


def _d_int(n: int) -> bytes:
    if 0 <= n < 1024:  # small ints are the common arguments: skip the encoding
        return _SMALL_INTS[n]
    # Signed little-endian: 8 bytes when they suffice, else the minimal length (always more
    # than 8), so the encoding stays injective; no digit limit, unlike str(n).
    try:
        return _h(b"int:" + _pack_q(n))
    except struct.error:
        return _h(b"int:" + n.to_bytes((n.bit_length() + 8) >> 3, "little", signed=True))


_SMALL_INTS = tuple(_h(b"int:" + _pack_q(i)) for i in range(1024))


def _d_float(x: float) -> bytes:
    if x != x:
        return _NAN
    return _h(b"float:" + _pack_d(x))


def _d_complex(z: complex) -> bytes:
    re, im = z.real, z.imag
    return _h(
        b"complex:" + _pack_dd(re if re == re else _CANON_NAN, im if im == im else _CANON_NAN)
    )


def _d_str(s: str) -> bytes:
    try:
        return _h(b"str:" + s.encode())
    except UnicodeEncodeError:  # lone surrogates, e.g. from os.fsdecode
        return _h(b"str:" + s.encode("utf-8", "surrogatepass"))


def _tagged_buffer(tag: bytes, data: Any) -> bytes:
    if len(data) < _STREAM_MIN:
        return _h(tag + data)
    hasher = xxhash.xxh3_128(tag)  # same digest as one-shot, without copying the data
    hasher.update(data)
    return hasher.digest()


def _d_bytes(b: bytes) -> bytes:
    return _tagged_buffer(b"bytes:", b)


def _d_bytearray(b: bytearray) -> bytes:
    return _tagged_buffer(b"bytearray:", b)


def _d_ellipsis(obj: object) -> bytes:
    return _ELLIPSIS


def _d_notimplemented(obj: object) -> bytes:
    return _NOTIMPLEMENTED


_BUILTIN.update(
    {
        type(None): _d_none,
        bool: _d_bool,
        int: _d_int,
        float: _d_float,
        complex: _d_complex,
        str: _d_str,
        bytes: _d_bytes,
        bytearray: _d_bytearray,
        type(...): _d_ellipsis,
        type(NotImplemented): _d_notimplemented,
    }
)
