"""Big arguments stored once per value, shared by every artifact that took them.

A call's inputs are recorded with its artifact (:mod:`.inputs` pickles
them), but an argument that is a big array or frame is not pickled into
each call's record: it is written once, by the serializer its type chooses
(``npy``, ``parquet``: at disk speed), under a key made from the hash the
call already computed for it (``<value hash>.in``), and every artifact that
took the same value refers to that one blob.  An argument equal to a stored
artifact's value (the same value id) refers to that artifact's blob instead,
and nothing is written.

The reference lives in two places:

* in the inputs pickle, as a persistent id, so that ``artifact.inputs``
  loads the value back (and checks it against its hash);
* in the argument's JSON summary (``inputs_json``), under ``"$input"``, so
  that ``gc``, ``verify``, ``promote`` and the command line see it without
  unpickling anything::

      {"$type": "numpy.ndarray", "$hash": "…",
       "$input": {"blob": "<key>", "serializer": "npy", "size": 268435584}}

An argument whose serialized size is over the repo's ``max_stored_input``
is recorded by hash and summary only (``"$input": {"stored": false, ...}``);
``artifact.inputs`` then holds an :class:`InputNotStored` in its place (as
it holds an :class:`InputArtifactGone` for an artifact argument removed or
evicted since).  The bound holds for every argument that is not a proxy:
one that is not stored apart (not an array or frame) counts by its pickled
size, checked by :func:`pickled_over`.

Any other argument whose pickle reaches :data:`MIN_STORED_INPUT` (a long
list, a dict of text, a fitted model) is stored apart too, pickled by
cloudpickle under the hash of its bytes (:func:`pickled_apart`), so that
calls with an equal value share one blob and ``verify`` checks it as any
blob, without unpickling.  One that holds artifact proxies stays in the
inputs pickle, which records them by id.

A blob appears whole or not at all: it is written to a staging file on the
store's filesystem and moved into place, so concurrent writers of the same
value and killed processes never leave half an input visible (``gc``
removes the staging files of killed writers).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from ..errors import BlobNotFound, ConfigError, CorruptBlob
from ..hashing import hash_value
from ..serializers import DEFAULT_SERIALIZER, get_serializer, serializer_for

__all__ = [
    "INPUT_KEY",
    "MIN_STORED_INPUT",
    "InputArtifactGone",
    "InputNotStored",
    "InputRef",
    "input_key",
    "input_sizes",
    "load_stored_input",
    "parse_size",
    "pickled_apart",
    "pickled_over",
    "refs_in_summary",
    "shared_value",
    "write_pickled",
    "storable_size",
    "touch_or_exists",
    "write_input",
]

#: The key of an argument's summary that says where it is stored.
INPUT_KEY = "$input"
#: Arguments estimated under this many bytes stay in the row's pickle: a blob
#: per small value would cost more than it saves.
MIN_STORED_INPUT = 64 * 1024
#: The extension of the keys of inputs stored by value hash.
_SUFFIX = ".in"


class InputRef(NamedTuple):
    """One stored input an artifact refers to (read from its ``inputs_json``)."""

    parameter: str
    blob: str
    serializer: str
    size: int | None
    value_hash: str | None


def input_key(value_hash: str) -> str:
    """The blob key of an input stored by its value hash."""
    return value_hash + _SUFFIX


def keyed_by_value(key: str) -> bool:
    """Whether ``key`` names an input stored by value hash (not by the hash of its bytes)."""
    return key.endswith(_SUFFIX)


class _Placeholder:
    """What ``artifact.inputs`` holds for an argument it cannot give back.

    Reading any attribute of it (other than its own) raises an
    ``AttributeError`` that says why, instead of failing somewhere later.
    """

    __slots__ = ()

    def message(self) -> str:
        """Why the value is not here."""
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{name!r}: {self.message()}")


class InputNotStored(_Placeholder):
    """What ``artifact.inputs`` holds for an argument too big to store (``max_stored_input``).

    Only its hash and summary were recorded.  Reading any attribute of it
    (other than those below) raises an ``AttributeError`` that says so,
    instead of failing somewhere later.

    Attributes
    ----------
    parameter : str
        The parameter it was passed as (``*args[0]`` for positional extras).
    size : int
        Its serialized size in bytes (or the estimate that was over the bound).
    limit : int
        The bound it was over.
    value_hash : str
        Its hash (what the artifact id was made from).
    type_name : str
        Its type, dotted.
    """

    __slots__ = ("limit", "parameter", "size", "type_name", "value_hash")

    def __init__(
        self, parameter: str, size: int, limit: int, value_hash: str, type_name: str
    ) -> None:
        self.parameter = parameter
        self.size = size
        self.limit = limit
        self.value_hash = value_hash
        self.type_name = type_name

    def message(self) -> str:
        """Why the value is not here."""
        return (
            f"the argument {self.parameter!r} ({self.type_name}, {_size(self.size)}) was not "
            f"stored: it is over max_stored_input ({_size(self.limit)}); only its hash "
            f"{self.value_hash} and summary were recorded"
        )

    def __repr__(self) -> str:
        return f"<InputNotStored {self.parameter!r}: {self.message()}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (InputNotStored, (self.parameter, self.size, self.limit, self.value_hash,
                                 self.type_name))  # fmt: skip


class InputArtifactGone(_Placeholder):
    """What ``artifact.inputs`` holds for an argument whose artifact is no longer in the repo.

    The artifact passed as the argument was removed (``provenance rm``,
    ``f.forget()``, ``f.clear()``) or evicted (``max_size``, ``provenance gc
    --max-size``) after this one was computed from it; eviction goes by
    least recent use, so parents usually go before their children.  The
    recorded inputs refer to it by id only, so nothing else of it is left.
    Calling the function that computed it again, with the same arguments,
    stores it again under the same id, and the inputs load whole once more.
    Reading any attribute of it (other than those below) raises an
    ``AttributeError`` that says so.

    Attributes
    ----------
    parameter : str
        The parameter it was passed as, by the lineage edges (``data``,
        ``items[2]``; several joined by ``", "``; ``"?"`` if no edge names it).
    artifact_id : str
        The id of the artifact that is gone.
    """

    __slots__ = ("artifact_id", "parameter")

    def __init__(self, parameter: str, artifact_id: str) -> None:
        self.parameter = parameter
        self.artifact_id = artifact_id

    def message(self) -> str:
        """Why the value is not here."""
        return (
            f"the argument {self.parameter!r} was the artifact {self.artifact_id}, which is no "
            "longer in the repo: it was removed or evicted after this artifact was computed "
            "from it; calling the function that computed it again, with the same arguments, "
            "stores it again"
        )

    def __repr__(self) -> str:
        return f"<InputArtifactGone {self.parameter!r}: {self.message()}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (InputArtifactGone, (self.parameter, self.artifact_id))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
          "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*\Z")


def parse_size(where: str, value: Any) -> int | None:
    """A size setting in bytes: an int, or text such as ``"100MB"``, ``"1.5 GiB"``.

    ``None`` (no bound) stays ``None``.  KB, MB, GB are powers of 1000;
    KiB, MiB, GiB (and K, M, G) powers of 1024.

    Raises
    ------
    ConfigError
        Naming ``where`` (the setting's key) if the value is not a size.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.match(value.lower()) if isinstance(value, str) else None
    if match is None or match.group(2) not in _UNITS:
        raise ConfigError(
            f"'{where}' must be a size in bytes (an integer, or text such as '100MB' or "
            f"'2GiB'), got {value!r}"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


# -- deciding ---------------------------------------------------------------------


def storable_size(raw: Any) -> tuple[str, int] | None:
    """``(serializer, estimated bytes)`` if ``raw`` is stored apart from the row, else ``None``.

    Only values whose type chooses a safe serializer (npy, parquet) are:
    they are written at disk speed, and loading or verifying them runs no
    code.  The estimate is their in-memory size, read without a pass over
    the data; anything under :data:`MIN_STORED_INPUT` stays in the pickle.
    """
    size = _estimate(raw)
    if size is None or size < MIN_STORED_INPUT:
        return None
    name = serializer_for(raw)
    if name == DEFAULT_SERIALIZER or not get_serializer(name).safe:
        return None
    return name, size


class _Over(Exception):
    pass


class _Counter:
    """A file that counts what is written to it, and stops past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def write(self, data: Any) -> int:
        self.count += len(memoryview(data).cast("B"))
        if self.count > self.limit:
            raise _Over
        return len(data)


def pickled_over(raw: Any, limit: int) -> int | None:
    """The pickled size of ``raw`` if over ``limit`` bytes, else ``None``.

    For an argument not stored apart.  It is pickled into a counter that
    stops once past the bound, so the check costs at most about ``limit``
    bytes of pickling, and the size is what was counted by then (the whole
    size when the bulk of the value is one write, as for ``bytes``).  Run
    only when the repo sets ``max_stored_input``.  What cannot be pickled is
    left to the inputs pickle, which says so.
    """
    if isinstance(raw, (bytes, bytearray, str)) and len(raw) <= limit // 4:
        return None  # small enough whatever its encoding: no pickling
    counter = _Counter(limit)
    try:
        pickle.Pickler(counter, protocol=pickle.HIGHEST_PROTOCOL).dump(raw)
    except _Over:
        return counter.count
    except Exception:
        return None
    return None


def _estimate(raw: Any) -> int | None:
    module = type(raw).__module__
    if module.startswith("pandas"):
        usage = getattr(raw, "memory_usage", None)
        if usage is None:
            return None
        # Shallow: a deep count walks every object; the bound is checked again on the file.
        total = usage(index=True, deep=False)
        return int(total.sum() if hasattr(total, "sum") else total)
    if module == "numpy":
        nbytes = getattr(raw, "nbytes", None)
        return nbytes if isinstance(nbytes, int) else None
    return None


def pickled_apart(raw: Any) -> bytes | None:
    """The pickle of an argument to store apart by the hash of its bytes, or ``None``.

    For a big argument that is not an array or frame (a long list, a dict of
    text, a fitted model), whose pickle the caller found to reach
    :data:`MIN_STORED_INPUT` (:func:`pickled_over`, which stops there, so a
    small argument costs at most that much): pickled with cloudpickle.
    Stored under the hash of those bytes, equal values share one blob and
    ``verify`` checks it without unpickling.  ``None`` for what cannot be
    pickled (the inputs pickle says so).
    """
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(raw, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return None


def write_pickled(stores: list[Any], data: bytes) -> str:
    """Store the pickle ``data`` of an argument in each of ``stores`` unless there: its key."""
    from ..hashing import hash_bytes

    key = hash_bytes(data)
    for store in stores:
        if not touch_or_exists(store, key):
            store.put(key, data)
    return key


def shared_value(repo: Any, value_hash: str) -> Any:
    """A stored artifact of ``repo`` whose value is this input (same value id), or ``None``.

    Its blob can stand for the input: a file blob of a safe serializer,
    with no load kwargs (the input is read back as its serializer writes).
    """
    for artifact in repo.find_artifacts(value_id=value_hash, limit=5):
        if (
            artifact.blob_id
            and artifact.serializer not in ("file", DEFAULT_SERIALIZER)
            and not artifact.composite
            and not artifact.load_kwargs
            and artifact._get("value_inline") is None
            and get_serializer(artifact.serializer).safe
        ):
            return artifact
    return None


# -- writing ----------------------------------------------------------------------


def touch_or_exists(store: Any, key: str) -> bool:
    """Whether ``key`` is stored, refreshing its time where the store can.

    A blob about to be referenced again must not look old to a ``gc``
    running between this check and the row that refers to it.
    """
    touch = getattr(store, "_touch", None)
    return bool(touch(key)) if touch is not None else bool(store.exists(key))


def write_input(
    stores: list[Any], raw: Any, key: str, serializer: str, limit: int | None
) -> tuple[int | None, int]:
    """Store ``raw`` under ``key`` in each of ``stores`` unless there.

    Returns ``(stored size, serialized size)``; the stored size is ``None``
    if the value is over ``limit`` (then nothing is kept).  The value is
    serialized once, into a staging file of the first store, and moved into
    place; the other stores get a copy of the blob.
    """
    first = stores[0]
    if touch_or_exists(first, key):
        size = int(first.size(key))
    else:
        size = _write(first, raw, key, get_serializer(serializer), limit)
        if size > (limit if limit is not None else size):
            return None, size
    for other in stores[1:]:
        if not touch_or_exists(other, key):
            first.copy_to(other, [key])
    return size, size


def _write(store: Any, raw: Any, key: str, ser: Any, limit: int | None) -> int:
    # The name exists (mkstemp), in the staging directory, so that a disk
    # store's put is one rename; a writer killed here leaves a staging file.
    fd, path = tempfile.mkstemp(prefix="provenance-", dir=store.staging_dir())
    try:
        if ser.dump_to is not None:
            with os.fdopen(fd, "wb") as f:
                ser.dump_to(raw, f)
        else:
            os.close(fd)
            ser.dump(raw, path)
        size = os.path.getsize(path)
        if limit is not None and size > limit:
            return size  # over the bound: nothing is kept
        store.put_file(key, path, move=True)
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# -- reading ----------------------------------------------------------------------


def load_stored_input(
    repo: Any, parameter: str, key: str, serializer: str, value_hash: str | None
) -> Any:
    """Load a stored input and check it against its hash.

    Raises
    ------
    BlobNotFound
        If the blob is missing (naming the parameter).
    CorruptBlob
        If the value read back does not hash to the recorded hash.
    """
    ser = get_serializer(serializer)
    try:
        with repo.blobstore.open_local(key) as path:
            value = ser.load(path)
    except (FileNotFoundError, BlobNotFound):
        raise BlobNotFound(
            f"the stored input {parameter!r} is missing: blob {key} is not in {repo.blobstore!r}"
        ) from None
    check_input(value, parameter, key, value_hash)
    return value


def check_input(value: Any, parameter: str, key: str, value_hash: str | None) -> None:
    """Raise :class:`~provenance.CorruptBlob` unless ``value`` hashes to ``value_hash``."""
    if value_hash is None:
        return
    actual = hash_value(value)
    if actual != value_hash:
        raise CorruptBlob(
            f"the stored input {parameter!r} is corrupt: blob {key} holds a value "
            f"hashing to {actual}, not {value_hash}"
        )


def input_sizes(
    repo: Any, artifact_ids: Iterable[str]
) -> tuple[dict[str, int | None], dict[str, int]]:
    """The inputs' bytes of each artifact of ``repo`` (a plain repo), and the inputs stored apart.

    An artifact's inputs are its row's pickle, its inputs blob (older or
    other big pickles) and the inputs stored apart that it refers to, each
    counted in full: it is what that artifact needs (``None`` when its
    inputs blob is missing).  An input stored apart is one blob shared by
    every artifact that took the value, so the second result (blob key to
    size) counts each once.
    """
    sizes: dict[str, int | None] = {}
    shared: dict[str, int] = {}
    for artifact_id, (inline, blob, refs) in repo.index.input_footprints(artifact_ids).items():
        total: int | None = inline
        if blob is not None:
            try:
                total = inline + int(repo.blobstore.size(blob))
            except Exception:  # a missing inputs blob: its size is unknown
                total = None
        for ref in refs:
            shared[ref.blob] = int(ref.size or 0)
            total = None if total is None else total + int(ref.size or 0)
        sizes[artifact_id] = total
    return sizes, shared


def refs_in_summary(inputs_json: Any) -> Iterator[InputRef]:
    """The stored inputs an ``inputs_json`` column refers to (both layouts)."""
    if not isinstance(inputs_json, Mapping):
        return
    if "__varargs" in inputs_json:
        kargs = {k: v for k, v in inputs_json.items() if k != "__varargs"}
        varargs = inputs_json.get("__varargs") or []
    else:
        kargs = inputs_json.get("kargs") or {}
        varargs = inputs_json.get("varargs") or []
    items: Iterable[tuple[str, Any]] = [
        *kargs.items(),
        *((f"*args[{i}]", v) for i, v in enumerate(varargs)),
    ]
    for parameter, summary in items:
        ref = summary.get(INPUT_KEY) if isinstance(summary, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(ref.get("blob"), str):
            yield InputRef(
                parameter, ref["blob"], str(ref.get("serializer")), ref.get("size"),
                summary.get("$hash"),
            )  # fmt: skip
