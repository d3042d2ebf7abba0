"""The pickle family: ``joblib`` (the default) and ``cloudpickle``.

joblib and cloudpickle are imported on first use, so that importing
provenance stays cheap; both write streams the standard unpickler reads
(joblib's only when no numpy array was written its own way).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from .registry import register_serializer

__all__: list[str] = []


def _joblib_dump(value: Any, filename: str, **kwargs: Any) -> None:
    import joblib

    joblib.dump(value, filename, **kwargs)


def _joblib_load(filename: str, **kwargs: Any) -> Any:
    import joblib

    return joblib.load(filename, **kwargs)


def _joblib_dump_to(value: Any, fileobj: Any, **kwargs: Any) -> None:
    import joblib

    joblib.dump(value, fileobj, **kwargs)


def _joblib_loads(data: bytes) -> Any:
    # joblib writes a standard pickle stream in which numpy arrays appear as
    # instances of joblib.numpy_pickle.NumpyArrayWrapper.  A stream that never
    # names that module is a plain pickle, and the C unpickler reads it about
    # twenty times faster than joblib's pure-Python one.
    if data[:1] == b"\x80" and b"joblib.numpy_pickle" not in data:
        return pickle.loads(data)
    import joblib

    return joblib.load(io.BytesIO(data))


def _cloudpickle_dump(value: Any, filename: str, **kwargs: Any) -> None:
    import cloudpickle

    kwargs.setdefault("protocol", 5)
    with open(filename, "wb") as f:
        cloudpickle.dump(value, f, **kwargs)


def _cloudpickle_load(filename: str, **kwargs: Any) -> Any:
    # cloudpickle output is read back by the standard unpickler.
    with open(filename, "rb") as f:
        return pickle.load(f, **kwargs)


def _cloudpickle_dump_to(value: Any, fileobj: Any, **kwargs: Any) -> None:
    import cloudpickle

    kwargs.setdefault("protocol", 5)
    cloudpickle.dump(value, fileobj, **kwargs)


def _cloudpickle_loads(data: bytes) -> Any:
    return pickle.loads(data)


register_serializer(
    "joblib",
    _joblib_dump,
    _joblib_load,
    "application/python-pickle",
    loads=_joblib_loads,
    dump_to=_joblib_dump_to,
)
register_serializer(
    "cloudpickle",
    _cloudpickle_dump,
    _cloudpickle_load,
    "application/python-pickle",
    loads=_cloudpickle_loads,
    dump_to=_cloudpickle_dump_to,
)
