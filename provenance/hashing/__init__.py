"""Canonical, stable and fast hashing of Python values.

A value's id depends only on the value: not on dict or set iteration order, on
``PYTHONHASHSEED``, on the pickle protocol, on the process or (for everything
but the bytecode fallback of functions without source) on the Python minor
version.  Ids are 128-bit xxh3 digests, written as 32 lowercase hex characters.

Encoding
--------
Every value is encoded as one message, ``tag + payload``, and its digest is
``xxh3_128`` of that message.  Tags are ASCII words ending in ``:``, so no tag is
a prefix of another and values of different types never share a message.  The
message length is part of the hash input, so variable-length payloads (a
string's UTF-8 bytes, an int's two's-complement bytes) need no length prefix.

Containers are Merkle nodes: their payload is the concatenation of the 16-byte
digests of their elements (fixed size, hence unambiguous).  So any element
contributes exactly its own :func:`value_digest`; in particular an artifact
proxy inside a container contributes the id of the value it stands for, and
``hash_value([proxy]) == hash_value([raw_value])``.  A proxy whose value is
mutable is hashed again, so one changed in place since it was made hashes as
what it holds now, never as its stale value id
(:func:`changed_proxies` tells a caller which ones were).

Choices
-------
* ``1``, ``1.0``, ``True``, ``"1"``, ``b"1"``, ``(1,)`` and ``[1]`` all differ, as
  do ``bytes`` and ``bytearray``, ``set`` and ``frozenset``, ``list`` and
  ``tuple``, a Python float and a numpy ``float64``.  Subclasses of built-in
  types (``class Name(str)``) keep their class: they are hashed by reduction.
* ``0.0`` and ``-0.0`` differ; every float NaN (Python or numpy scalar) hashes
  alike.  Inside numpy arrays floats are hashed as raw bytes, so there the sign
  and payload bits of a NaN count.
* ``dict`` ignores insertion order; ``OrderedDict`` does not (it compares
  order-sensitively too).  Sets ignore iteration order.
* ``Decimal("1.0")`` and ``Decimal("1.00")`` differ (their ``str`` differs).
* ``range`` hashes the sequence it denotes (``range(0, 3, 2) == range(0, 4, 2)``),
  paths hash their flavour and posix string (Windows paths case-folded, as they
  compare), tz-aware datetimes hash their ISO form with the UTC offset plus
  ``tzname()``.
* Functions hash module, qualname, source text of the ``def`` (decorators
  excluded; for lambdas just the lambda expression), defaults and closure cell
  values (an unhashable cell value contributes only its type name).  Globals
  and called functions are not followed.  Without source, the code object's
  bytecode, names and constants are used, which change between Python
  versions.  Classes and modules hash by name only.
* Any other object is hashed through ``copyreg``/``__reduce_ex__(4)``: the
  reconstructor by qualified name, its arguments and state recursively.  Objects
  that refuse to pickle (locks, open files, generators, sockets) raise
  :class:`~provenance.errors.HashingError`, naming the type and its path in
  the value.  Classes are named by module and qualname, so a class defined in
  ``__main__`` hashes differently once moved into a module.
* A value that is referred to again while it is being hashed (a reference
  cycle) raises; the same value shared at several places is fine.
* numpy arrays hash ``dtype.str`` (plus ``descr`` for structured dtypes), the
  shape and the contents in logical C order: C-contiguous data is hashed in
  place, anything else is streamed through a small buffer, so a Fortran array,
  a strided view and their copy hash alike.  Object and ``StringDType`` arrays
  hash element by element; structured arrays field by field (padding ignored).
  Subclasses (masked arrays, matrices) are hashed by reduction.
* pandas objects hash their values column by column (numeric columns as numpy
  arrays), the dtype of each column, the index, column labels and names.
  String columns (``str``, ``string``, Arrow's string types) and object columns
  that hold only ``str`` and missing values hash in bulk, as the UTF-8 bytes
  and lengths of their values and the positions and kinds of their missing
  values (:mod:`.strings`): Arrow- and python-backed columns of one dtype,
  chunked or sliced, hash alike, and ``None``, ``NaN`` and ``pd.NA`` differ from
  each other and from ``"None"``, ``"nan"`` and ``""``.  Other object columns hash
  element by element, exactly: unlike ``hash_pandas_object``, ``1`` and ``"1"``
  differ.  An object column of strings and a ``str`` one differ (the dtype
  counts), but Index labels held with ``object`` or string dtype hash alike
  (pandas 2 and 3 infer different dtypes for the same labels), and a
  ``RangeIndex`` hashes like the ``int64`` Index of its values.  Nullable
  columns ignore what lies under the mask; categoricals hash their categories
  in order and their codes.
* numpy and pandas handlers are installed the first time a value of a
  not-yet-seen type is hashed while numpy or pandas is imported: importing this
  module imports neither.

Modules
-------
========================  ==============================================================
:mod:`.core`              dispatch tables, the scheme constants, cycle tracking
:mod:`.scalars`           None, bool, int, float, complex, str, bytes
:mod:`.containers`        tuple, list, dict, set, range, slice, memoryview
:mod:`.functions`         classes, modules, functions, methods, partials
:mod:`.source`            the source text of a ``def`` or a lambda
:mod:`.objects`           enums, dataclasses, namedtuples, artifact proxies
:mod:`.reduction`         the ``__reduce_ex__`` fallback for any other object
:mod:`.stdlib`            datetime, decimal, fractions, uuid, pathlib (lazy)
:mod:`.numpy`             numpy arrays, scalars and dtypes (lazy)
:mod:`.pandas`            pandas DataFrames, Series, Indexes, extension arrays (lazy)
:mod:`.strings`           string columns and labels in bulk: Arrow buffers, object arrays
:mod:`.values`            :func:`value_digest`, :func:`hash_value`, :func:`register_hasher`
:mod:`.content`           :func:`hash_bytes`, :func:`hash_file`, :func:`new_hasher`
:mod:`.reprs`             the original library's :func:`value_repr` hook and :func:`hash`
========================  ==============================================================

Bump the suffix of :data:`HASH_SCHEME` whenever any id changes.
"""

from __future__ import annotations

# Importing the handler modules fills the dispatch tables of .core; those for optional
# libraries only register a loader, so that numpy and pandas stay unimported.
from . import containers, functions, numpy, objects, pandas, reduction, scalars, stdlib  # noqa: F401
from .containers import _sorted_join as _sorted_join  # for tests/test_hashing.py
from .content import hash_bytes, hash_file, new_hasher
from .core import DIGEST_SIZE, HASH_SCHEME, _rebuild_dispatch
from .objects import is_immutable
from .pandas import _CHUNK_ITEMS as _CHUNK_ITEMS  # for tests/test_hashing.py
from .reprs import hash, value_repr  # noqa: A004  (the original library's names)
from .source import _compiles_alike as _compiles_alike  # for tests/test_hashing.py
from .source import _function_source as _function_source  # for tests/test_hashing.py
from .source import _parse_file as _parse_file  # for tests/test_hashing.py
from .values import (
    changed_proxies,
    hash_value,
    proxies_changed_in,
    register_hasher,
    value_digest,
)

__all__ = [
    "DIGEST_SIZE",
    "HASH_SCHEME",
    "changed_proxies",
    "hash",
    "hash_bytes",
    "hash_file",
    "hash_value",
    "is_immutable",
    "new_hasher",
    "proxies_changed_in",
    "register_hasher",
    "value_digest",
    "value_repr",
]

# Every handler module has filled _BUILTIN: put the built-in types in the dispatch cache.
_rebuild_dispatch()
