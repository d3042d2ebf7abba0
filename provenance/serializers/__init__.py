"""Named serializers: how an artifact's value becomes bytes in a blobstore.

Serialization is kept apart from hashing (a value's id never depends on how it
is stored).  Each artifact records the *name* of the serializer that wrote it,
so it is always read back by the same one.  Like the original library, a
serializer works on file names: ``dump(value, filename, **dump_kwargs)`` and
``load(filename, **load_kwargs)``.

One registry (:mod:`~provenance.serializers.registry`) and one module per
family of serializers, which registers its own when imported:
:mod:`~provenance.serializers.pickles` (``joblib``, ``cloudpickle``),
:mod:`~provenance.serializers.parquet` (``pd_df_parquet``,
``pd_series_parquet``, chosen by type for DataFrames and Series) and
:mod:`~provenance.serializers.npy` (``npy``, chosen by type for plain numeric
arrays) and :mod:`~provenance.serializers.json` (``json``, chosen by type for
JSON-shaped values of plain types that JSON gives back exactly).  None of
them imports the library it wraps until it is used.

A serializer is *safe* when loading cannot run code (``json``, ``npy``, the
parquet ones): only those load from a repo that is not trusted
(``trusted: false``).  The pickles are not safe.
"""

# The order matters only for serializers that list the same class (the last
# registered wins): these list different ones.
from . import json, npy, parquet, pickles  # noqa: F401  (each registers its own)
from .registry import (
    DEFAULT_SERIALIZER,
    Serializer,
    available_serializers,
    get_serializer,
    register_serializer,
    serializer_for,
)

#: The original library's name for :func:`serializer_for` (the serializer a value gets).
object_serializer = serializer_for

__all__ = [
    "DEFAULT_SERIALIZER",
    "Serializer",
    "available_serializers",
    "get_serializer",
    "object_serializer",
    "register_serializer",
    "serializer_for",
]
