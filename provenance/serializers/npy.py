"""The ``npy`` serializer: plain numeric numpy arrays in NumPy's own format.

Chosen by type for an exact :class:`numpy.ndarray` (no subclass: a matrix, a
masked array or a memory map would read back as a plain array) whose dtype is
boolean, integer, floating or complex, without fields or subarrays.  The
format keeps the dtype (byte order included), the shape and the memory
order, and is written and read without pickle (``allow_pickle=False``), so
loading one runs no code: the serializer is *safe*, and its values load from
repos that are not trusted (an object array stored there fails to load
instead of unpickling).  numpy is imported only when an array is stored or
loaded.

Reading goes straight from the file into the array: :func:`_load_from`
parses the header, allocates the array and fills its memory with
``readinto``, so the repository can hash the bytes as they arrive and the
data is touched once.  ``load(filename, mmap_mode="r")`` maps the file
instead (``maps``: a repo's ``mmap_mode`` setting applies).
"""

from __future__ import annotations

import importlib.util
import io
import math
from typing import Any

from ..errors import MissingDependency, require
from .registry import register_serializer

__all__: list[str] = []

#: The dtype kinds stored as npy: bool, signed, unsigned, float, complex.
_KINDS = frozenset("biufc")


def _numpy() -> Any:
    return require("numpy", "all", "the npy serializer")


def _requires() -> None:
    if importlib.util.find_spec("numpy") is None:
        raise MissingDependency(
            "the npy serializer needs the 'numpy' package; install it with `pip install numpy`"
        )


def _dump_to(array: Any, fileobj: Any, **kwargs: Any) -> None:
    np = _numpy()
    if kwargs or not (array.flags.c_contiguous or array.flags.f_contiguous):
        kwargs.setdefault("allow_pickle", False)
        np.save(fileobj, array, **kwargs)
        return
    # The bytes np.save writes (the same header, then the data in memory
    # order), but handed over as one view: np.save copies a file object's
    # data chunk by chunk (tobytes), which halves the rate of a store that
    # hashes as it writes.
    fmt = np.lib.format
    fmt.write_array_header_1_0(fileobj, fmt.header_data_from_array_1_0(array))
    data = array if array.flags.c_contiguous else array.T
    fileobj.write(data.reshape(-1).view(np.uint8).data)


def _dump(array: Any, filename: str, **kwargs: Any) -> None:
    # An open file, not the name: np.save would append ".npy" to the name.
    with open(filename, "wb") as f:
        _dump_to(array, f, **kwargs)


def _load(filename: str, **kwargs: Any) -> Any:
    kwargs.setdefault("allow_pickle", False)
    return _numpy().load(filename, **kwargs)


def _load_from(fileobj: Any) -> Any:
    """Read an array from ``fileobj`` (positioned at the magic string) into new memory.

    The bytes np.save wrote, parsed as ``numpy.load`` does (without pickle),
    but the data goes from the file into the array with one ``readinto``.

    Raises
    ------
    ValueError
        If the file is not npy, holds objects, or ends before the data does.
    """
    np = _numpy()
    fmt = np.lib.format
    version = fmt.read_magic(fileobj)
    if version == (1, 0):
        shape, fortran_order, dtype = fmt.read_array_header_1_0(fileobj)
    elif version == (2, 0):
        shape, fortran_order, dtype = fmt.read_array_header_2_0(fileobj)
    else:  # 3.0 exists for utf-8 field names, which no stored dtype has
        raise ValueError(f"unsupported npy format version {version}")
    if dtype.hasobject:
        raise ValueError("the npy data holds objects, which are not loaded without pickle")
    flat = np.empty(math.prod(shape), dtype=dtype)
    expected = flat.nbytes
    got = fileobj.readinto(flat.view(np.uint8)) if expected else 0
    if got != expected:
        raise ValueError(f"the npy data is truncated: {got} of {expected} bytes")
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _loads(data: bytes) -> Any:
    return _numpy().load(io.BytesIO(data), allow_pickle=False)


def _accepts(value: Any) -> bool:
    cls = type(value)
    if cls.__name__ != "ndarray" or cls.__module__ != "numpy":
        return False
    dtype = value.dtype
    return dtype.kind in _KINDS and dtype.fields is None and dtype.subdtype is None


register_serializer(
    "npy",
    _dump,
    _load,
    "application/x-npy",
    classes=["numpy.ndarray"],
    loads=_loads,
    dump_to=_dump_to,
    accepts=_accepts,
    requires=_requires,
    safe=True,
    load_from=_load_from,
    maps=True,
)
