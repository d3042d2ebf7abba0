"""Named serializers: how an artifact's value becomes bytes in a blobstore.

Serialization is kept apart from hashing (a value's id never depends on how it
is stored).  Each artifact records the *name* of the serializer that wrote it,
so it is always read back by the same one.  Like the original library, a
serializer works on file names: ``dump(value, filename, **dump_kwargs)`` and
``load(filename, **load_kwargs)``.

One registry (:mod:`~provenance.serializers.registry`) and one module per
family of serializers, which registers its own when imported:
:mod:`~provenance.serializers.pickles` (``joblib``, ``cloudpickle``).
"""

from . import pickles  # noqa: F401  (registers joblib and cloudpickle)
from .registry import (
    DEFAULT_SERIALIZER,
    Serializer,
    available_serializers,
    get_serializer,
    register_serializer,
    serializer_for,
)

__all__ = [
    "DEFAULT_SERIALIZER",
    "Serializer",
    "available_serializers",
    "get_serializer",
    "register_serializer",
    "serializer_for",
]
