"""How a computed value is recorded: its row, its lineage edges, its blob.

The decorator computes; these functions store what it computed under the
call's artifact id: a plain value (:func:`store_value`), a composite
(:func:`store_composite`, each key its own artifact) or an archived file
(:func:`store_archive`).  The blob is always stored before the row that
points to it, so that an index row never refers to a missing blob.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Mapping
from typing import Any

from . import journal
from .config import indexes_sharing
from .errors import HashingError, IndexUnavailable, StorageFull
from .fingerprint import CodeFingerprint
from .hashing import HASH_SCHEME, hash_bytes, hash_value
from .inputs import fit, iter_proxies, json_summary, unwrap
from .runinfo import artifact_run_info
from .serializers import DEFAULT_SERIALIZER, serializer_for
from .storage import spill
from .storage.archived import ArchivedFile, blob_key_for_file
from .storage.artifact import Artifact
from .storage.eviction import maybe_evict
from .storage.index import COLUMNS
from .storage.inputs import dumps_inputs
from .storage.observers import notify
from .storage.proxies import CompositeDict, is_proxy
from .storage.spill import StoredValue
from .storage.stored_inputs import (
    INPUT_KEY,
    MIN_STORED_INPUT,
    input_key,
    pickled_apart,
    pickled_over,
    shared_value,
    storable_size,
    touch_or_exists,
    write_input,
    write_pickled,
)
from .storage.validate import check_text, quote
from .unstorable import (
    UNSTORABLE,
    caller_stacklevel,
    qualified_name,
    unstorable_keys,
    unstorable_warning,
)

__all__ = ["build_row", "input_summary", "store_archive", "store_composite", "store_value"]

logger = logging.getLogger("provenance.decorator")

#: The lineage parameter of an artifact found in a returned value
#: (``<return>['add']``), beside the parameters of the inputs.
RETURNED = "<return>"

#: Pickled inputs up to this size live in the index row; larger ones in the blobstore.
_INLINE_INPUTS = 64 * 1024


def input_summary(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON summary of a call's arguments: ``{'kargs': {...}, 'varargs': [...]}``."""
    return {
        "kargs": {k: json_summary(v) for k, v in inputs["kargs"].items()},
        "varargs": [json_summary(v) for v in inputs["varargs"]],
    }


def inputs_json(
    inputs: Mapping[str, Any], hashes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``inputs_json`` column, in the original library's flat layout.

    One key per parameter, plus ``__varargs`` (a list), so that the SQL of
    the original's guide (``inputs_json ->> 'a'``) works unchanged.
    :attr:`Artifact.inputs_summary <provenance.Artifact.inputs_summary>`
    reads it back as ``kargs`` and ``varargs``.  ``hashes`` are the argument
    hashes the call computed (``{'kargs': ..., 'varargs': ...}``): a summary
    that holds a hash takes it from there instead of hashing again.
    """
    kargs = (hashes or {}).get("kargs") or {}
    varargs = list((hashes or {}).get("varargs") or [])
    varargs += [None] * (len(inputs["varargs"]) - len(varargs))
    flat = {k: json_summary(v, value_hash=kargs.get(k)) for k, v in inputs["kargs"].items()}
    flat["__varargs"] = [
        json_summary(v, value_hash=h) for v, h in zip(inputs["varargs"], varargs, strict=False)
    ]
    return flat


def _store_inputs(
    repo: Any, inputs: Mapping[str, Any], hashes: Mapping[str, Any], flat: dict[str, Any]
) -> dict[int, tuple[Any, ...]]:
    """Store the big arguments apart, once per value: their persistent ids by ``id()``.

    Each one's summary in ``flat`` gets its ``"$input"`` reference (see
    :mod:`provenance.storage.stored_inputs`); an argument that cannot be
    stored apart stays in the pickle.
    """
    writers = repo._writable() if hasattr(repo, "_writable") else [repo]
    stores = [w.blobstore for w in writers]
    limit = getattr(writers[0], "max_stored_input", None)
    slots: list[tuple[str, Any, Any, Any, Any]] = [
        (k, v, hashes["kargs"].get(k), flat, k) for k, v in inputs["kargs"].items()
    ]
    slots += [
        (f"*args[{i}]", v, h, flat["__varargs"], i)
        for i, (v, h) in enumerate(zip(inputs["varargs"], hashes["varargs"], strict=False))
    ]
    refs: dict[int, tuple[Any, ...]] = {}
    for parameter, value, value_hash, holder, slot in slots:
        summary = holder[slot]
        if not isinstance(value_hash, str) or is_proxy(value):
            continue
        found = storable_size(value)
        if found is None:
            # Not an array or frame: stored apart pickled when its pickle is
            # big, unless it holds proxies (the inputs pickle records them
            # by artifact id); small ones stay in the inputs pickle.
            checked = False  # whether it is known to be big and free of proxies
            if not isinstance(summary, dict):
                if not isinstance(summary, list) or not _big_and_plain(value, parameter):
                    continue
                # A short list or tuple of big items: summarized by type,
                # length and hash, so that its summary can carry the reference.
                kind = type(value)
                summary = holder[slot] = {"$type": f"{kind.__module__}.{kind.__qualname__}",
                                          "$hash": value_hash, "$len": len(value)}  # fmt: skip
                checked = True
            over = pickled_over(value, limit) if limit is not None else None
            if over is not None and limit is not None:
                # Over the bound all the same: by hash only.
                refs[id(value)], summary[INPUT_KEY] = _not_stored(value, value_hash, parameter,
                                                                  over, limit)  # fmt: skip
                continue
            data = pickled_apart(value) if checked or _big_and_plain(value, parameter) else None
            if data is not None:
                key = write_pickled(stores, data)
                refs[id(value)] = ("input", parameter, key, "cloudpickle", value_hash)
                summary[INPUT_KEY] = {"blob": key, "serializer": "cloudpickle", "size": len(data)}
            continue
        if not isinstance(summary, dict):
            continue
        try:
            refs[id(value)], summary[INPUT_KEY] = _store_input(
                writers[0], stores, value, value_hash, parameter, found, limit
            )
        except StorageFull:
            raise
        except Exception as exc:  # what its serializer cannot write is pickled as before
            logger.info("argument %s was not stored apart (%s): pickled instead", parameter, exc)
    return refs


def _big_and_plain(value: Any, parameter: str) -> bool:
    """Whether an argument's pickle reaches :data:`MIN_STORED_INPUT` and it holds no proxy."""
    if pickled_over(value, MIN_STORED_INPUT) is None:
        return False
    return not any(True for _ in iter_proxies(value, parameter))


def _store_input(
    writer: Any,
    stores: list[Any],
    value: Any,
    value_hash: str,
    parameter: str,
    found: tuple[str, int],
    limit: int | None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Store one argument (or refer to its stored copy): its persistent id and reference."""
    serializer, size = found
    stored: int | None = None
    if limit is None or size <= limit:
        key = input_key(value_hash)
        # Stored already (one stat), or the value of a stored artifact (one
        # indexed query): referred to, not written again.
        artifact = None
        if writer.read and not touch_or_exists(stores[0], key):
            artifact = shared_value(writer, value_hash)
        if artifact is not None and touch_or_exists(stores[0], artifact.blob_id):
            key, serializer, stored = artifact.blob_id, artifact.serializer, artifact.size
            for other in stores[1:]:
                if not touch_or_exists(other, key):
                    stores[0].copy_to(other, [key])
        else:
            stored, size = write_input(stores, value, key, serializer, limit)
    if stored is None:
        assert limit is not None
        return _not_stored(value, value_hash, parameter, size, limit)
    pid = ("input", parameter, key, serializer, value_hash)
    return pid, {"blob": key, "serializer": serializer, "size": stored}


def _not_stored(
    value: Any, value_hash: str, parameter: str, size: int, limit: int
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The persistent id and reference of an argument over ``max_stored_input``."""
    kind = type(value)
    type_name = f"{kind.__module__}.{kind.__qualname__}"
    pid = ("not_stored", parameter, size, limit, value_hash, type_name)
    return pid, {"stored": False, "size": size, "limit": limit}


def build_row(
    fn: Any,
    artifact_id: str,
    name: str,
    record: Mapping[str, Any],
    repo: Any,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    inputs = record["inputs"]
    # The hashes of the values themselves (before any input_hash_fn): what
    # a stored input is keyed by and checked against.
    hashes = record.get("raw_hashes")
    flat = inputs_json(inputs, hashes)
    refs: dict[int, tuple[Any, ...]] = {}
    if hashes is not None and repo.write and not record.get("read_only"):
        refs = _store_inputs(repo, inputs, hashes, flat)
    edges: list[tuple[str, str]] = []
    for pname, value in inputs["kargs"].items():
        edges.extend((p.artifact.id, fit(path)) for path, p in iter_proxies(value, pname))
    for i, value in enumerate(inputs["varargs"]):
        edges.extend((p.artifact.id, fit(path)) for path, p in iter_proxies(value, f"*args[{i}]"))
    try:
        pickled: bytes | None = dumps_inputs(inputs, record.get("plain"), refs)
    except Exception as exc:  # an input that cannot be pickled is still hashed
        logger.debug("inputs of %s are not picklable: %s", fn.name, exc)
        pickled = None
    inputs_blob = None
    if (
        pickled is not None
        and len(pickled) > _INLINE_INPUTS
        and repo.write
        and not record.get("read_only")
    ):
        inputs_blob = repo.store_bytes(pickled)
        pickled = None
    row = {
        "id": artifact_id,
        "hash_scheme": HASH_SCHEME,
        "name": name,
        "version": fn.version,
        "fn_module": fn.module_name and fit(fn.module_name),
        "fn_name": fn.fn_name and fit(fn.fn_name),
        "inputs_json": flat,
        "inputs_pickle": pickled,
        "inputs_blob_id": inputs_blob,
        "input_artifact_ids": list(dict.fromkeys(i for i, _ in edges)),
        "custom_fields": fn.custom_fields,
        "run_info": artifact_run_info(getattr(fn, "fn_module", None)),
        "computed_at": record["computed_at"],
        "compute_duration": record["compute_duration"],
        "input_id_duration": record["input_id_duration"],
        "code_fingerprint": record["code"].digest,
        "input_hashes": record["input_hashes"],
    }
    return row, edges


def store_value(
    fn: Any,
    repo: Any,
    artifact_id: str,
    name: str,
    value: Any,
    record: Mapping[str, Any],
    replace: bool,
    serializer: Any,
    *,
    composite: bool = False,
    blob: Any = None,
    kwargs: tuple[Any, Any] | None = None,
) -> Artifact:
    # A composite's members take their own entry of the load/dump kwargs.
    load_kwargs, dump_kwargs = kwargs or (fn.load_kwargs, fn.dump_kwargs)
    stores = blob is None and repo.write and not record.get("read_only")
    beside = _HashBeside(value) if stores and _hashes_beside(value) else None
    raw = unwrap(value)
    named = bool(serializer)
    serializer = serializer or serializer_for(raw)
    row, edges = build_row(fn, artifact_id, name, record, repo)
    value_id: str | None = None
    hash_duration: float | None = None
    if beside is None:
        t0 = time.perf_counter()
        try:
            value_id = hash_value(value)
        except HashingError as exc:
            return _unstored(fn, name, serializer, exc, raw, row, record)
        hash_duration = time.perf_counter() - t0
    returned = [(p.artifact.id, fit(path)) for path, p in iter_proxies(value, RETURNED)]
    if returned:
        # A value that holds other artifacts' values depends on them, as the
        # original library recorded: lineage, and promote, must reach them.
        edges.extend(returned)
        parents = [*row["input_artifact_ids"], *(i for i, _ in returned)]
        row["input_artifact_ids"] = list(dict.fromkeys(parents))
    row.update(
        value_id=value_id,
        composite=composite,
        load_kwargs=load_kwargs,
        dump_kwargs=dump_kwargs,
        hash_duration=hash_duration,
    )
    if not repo.write or record.get("read_only"):
        if not record.get("read_only"):
            warnings.warn(
                f"{_read_only(repo)}: {name} was computed but not stored",
                RuntimeWarning,
                stacklevel=3,
            )
        row.update(serializer=serializer, blob_id=None, size=None, value_inline=None)
        return Artifact(None, tuple(row.get(c) for c in COLUMNS), raw)
    # The blob is stored before the row that points to it, so an index
    # row never refers to a missing blob.
    if blob is None:
        try:
            blob, serializer = _store_blob(
                repo, raw, serializer, named, dump_kwargs, record["repair"]
            )
        except UNSTORABLE as exc:
            if beside is not None:
                beside.join()  # the store's error is the one to report
            return _unstored(fn, name, serializer, exc, raw, row, record)
        except BaseException:
            if beside is not None:
                beside.join()
            raise
        if beside is not None:
            try:
                value_id, hash_duration = beside.result()
            except HashingError as exc:
                # The blob is written, but no row will point to it: gc finds it.
                return _unstored(fn, name, serializer, exc, raw, row, record)
            row.update(value_id=value_id, hash_duration=hash_duration)
    row.update(
        serializer=serializer, blob_id=blob.blob_id, size=blob.size, value_inline=blob.inline
    )
    try:
        inserted = _put_row(repo, row, edges, fn.tags, replace, _code_row(record))
    except IndexUnavailable as exc:
        # The function has run: its value is handed back, unstored, rather than lost.
        warnings.warn(
            f"{name} was computed but could not be stored: {exc}", RuntimeWarning, stacklevel=3
        )
        return Artifact(None, tuple(row.get(c) for c in COLUMNS), raw)
    if not inserted:
        # Another process stored the same call first: its record wins, and
        # so does its value unless ours is the same (a function that is
        # not deterministic must not hand back a value its id denies).
        existing = repo.lookup(artifact_id)
        if existing is not None:
            if existing.value_id == value_id:
                existing._value = raw
            return existing
    return Artifact(_writer_repo(repo), tuple(row.get(c) for c in COLUMNS), raw)


def _unstored(
    fn: Any, name: str, serializer: str, exc: BaseException, raw: Any, row: Any, record: Any
) -> Artifact:
    """The artifact of a value that cannot be hashed or written, unstored; or ``exc`` raised.

    What happens is the record's ``"unstorable"``: ``"raise"`` (the default:
    a flow's task fails, a composite stores all its members or none),
    ``"warn"`` (a decorated call: the function has run and its value is
    right, so it is handed back rather than lost to an error raised after
    the fact) or ``"quiet"`` (the warning was given already).
    """
    mode = record.get("unstorable", "raise")
    if mode == "raise":
        raise exc
    if mode == "warn":
        warnings.warn(
            unstorable_warning(qualified_name(fn, name), name, serializer, exc, raw),
            stacklevel=caller_stacklevel(),
        )
    row.update(serializer=serializer, blob_id=None, size=None, value_inline=None, value_id=None)
    return Artifact(None, tuple(row.get(c) for c in COLUMNS), raw)


#: A value of numpy or pandas at least this large is hashed in a second thread
#: while it is written: both release the GIL for the bulk of their work, so
#: on a free core the value's hash costs no time.
_BESIDE_BYTES = 32 << 20


def _hashes_beside(value: Any) -> bool:
    """Whether ``value`` is a large array or frame of plain data, safe to hash in a thread.

    Only data whose hashing runs no user code: no object dtype in the values
    or the index (objects there are hashed by their ``__reduce__``, which must
    not run while the serializer pickles them).
    """
    cls = type(value)
    module = cls.__module__.partition(".")[0]
    if module not in ("numpy", "pandas") or cls.__name__ not in ("ndarray", "DataFrame", "Series"):
        return False
    try:
        if cls.__name__ == "ndarray":
            return not value.dtype.hasobject and value.nbytes >= _BESIDE_BYTES
        dtypes = [value.index.dtype]
        dtypes += list(value.dtypes) if cls.__name__ == "DataFrame" else [value.dtype]
        if not all(_plain(dtype) for dtype in dtypes):
            return False
        if cls.__name__ == "DataFrame" and not all(
            isinstance(label, (str, int, float)) for label in value.columns
        ):
            return False
        size = value.memory_usage(deep=False)
        return bool((size.sum() if cls.__name__ == "DataFrame" else size) >= _BESIDE_BYTES)
    except Exception:  # anything odd about it: hash it first, as any value
        return False


def _plain(dtype: Any) -> bool:
    """A dtype whose values hash without user code (no objects, no object categories)."""
    if getattr(dtype, "hasobject", False):
        return False
    categories = getattr(dtype, "categories", None)
    return categories is None or not getattr(categories.dtype, "hasobject", False)


class _HashBeside:
    """``hash_value(value)`` in a thread of its own, with the time it took."""

    def __init__(self, value: Any) -> None:
        self._value = value
        self._out: tuple[str, float] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="provenance-value-hash")
        self._thread.daemon = True
        self._thread.start()

    def _run(self) -> None:
        try:
            # The blob's hash waits (storage/spill.py); read at use: a fork renews it.
            with spill.HASHING_BESIDE:
                t0 = time.perf_counter()
                digest = hash_value(self._value)
                self._out = (digest, time.perf_counter() - t0)
        except BaseException as exc:  # re-raised by result(), in the caller's thread
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def result(self) -> tuple[str, float]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out


def _put_row(repo: Any, row: Any, edges: Any, tags: Any, replace: bool, code: Any) -> bool:
    """``repo.put_row``, retried while the index cannot be reached (:func:`journal.retrying`).

    A call whose index goes down while its function runs (a server restart)
    is stored once the index is back, for up to ``journal.RETRY_FOR`` seconds.
    """
    inserted = bool(
        journal.retrying(
            lambda: repo.put_row(row, edges, tags, replace=replace, code=code),
            what=f"the row of {row['name']}",
        )
    )
    if inserted:
        # A repo with max_size is kept under it by the process that stores
        # (throttled there), never on the hit path.
        maybe_evict(repo, row["id"], sharing=indexes_sharing)
    return inserted


def _store_blob(
    repo: Any, raw: Any, serializer: str, named: bool, dump_kwargs: Any, overwrite: bool
) -> tuple[StoredValue, str]:
    """Store ``raw``; a serializer chosen by type that fails gives way to the default.

    Nothing of a failed attempt is kept (the repository writes a blob whole
    or not at all), and the serializer that did write is the one recorded.
    """
    try:
        return repo.store_value(raw, serializer, dump_kwargs, overwrite=overwrite), serializer
    except Exception as exc:
        if named or serializer == DEFAULT_SERIALIZER:
            raise
        logger.info("%s could not store a %s (%s): stored with %s instead",
                    serializer, type(raw).__name__, exc, DEFAULT_SERIALIZER)  # fmt: skip
        stored = repo.store_value(raw, DEFAULT_SERIALIZER, dump_kwargs, overwrite=overwrite)
        return stored, DEFAULT_SERIALIZER


def _member_kwargs(kwargs: Any, key: str) -> Any:
    """A composite member's entry of ``load_kwargs``/``dump_kwargs`` (``{key: {...}}``)."""
    if not isinstance(kwargs, Mapping):
        return None
    return kwargs.get(key) or None


def store_composite(
    fn: Any, repo: Any, artifact_id: str, value: Any, record: Mapping[str, Any], replace: bool
) -> CompositeDict:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError(
            f"{fn.name} is declared returns_composite=True and must return a dict "
            f"with str keys, got {type(value).__name__}"
        )
    try:
        # Every member or none: a composite row never names a member not stored.
        strict = {**record, "unstorable": "raise"}
        artifact, members = store_members(fn, repo, artifact_id, value, strict, replace)
    except (HashingError, *UNSTORABLE) as exc:
        if record.get("unstorable") != "warn":
            raise
        key = next(iter(unstorable_keys(value, fn.serializer)), None)
        named = fn.serializer.get(key) if isinstance(fn.serializer, Mapping) else None
        part = value.get(key)
        chosen = serializer_for(unwrap(part)) if key is not None else DEFAULT_SERIALIZER
        serializer = named or chosen
        warnings.warn(
            unstorable_warning(qualified_name(fn, fn.name), f"{fn.name}_{key or '?'}", serializer,
                               exc, part),
            stacklevel=caller_stacklevel(),
        )  # fmt: skip
        unstored = {**record, "read_only": True, "unstorable": "quiet"}
        artifact, members = store_members(fn, repo, artifact_id, value, unstored, replace)
    index = {k: a.id for k, a in members.items()}
    return CompositeDict(artifact, {k: a.proxy for k, a in members.items()}, index)


def store_members(
    fn: Any,
    repo: Any,
    artifact_id: str,
    values: Mapping[str, Any],
    record: Mapping[str, Any],
    replace: bool,
    linked: Mapping[str, Artifact] | None = None,
) -> tuple[Artifact, dict[str, Artifact]]:
    """Store ``values`` as members of a composite artifact, and the composite itself.

    Each value becomes its own artifact, named ``<fn.name>_<key>``;
    ``linked`` are members stored before (a flow task's unchanged
    artifacts, made by the task before it), which the composite's index
    names as they are.  Returns the composite and every member by key.
    """
    for key in values:
        # Before any member is stored: all of them, or none.
        check_text(f"{fn.name}_{key}", f"the artifact name of key {quote(key)} of {fn.name}()")
    serializers = dict(fn.serializer) if isinstance(fn.serializer, Mapping) else {}
    members: dict[str, Artifact] = dict(linked or {})
    for key, item in values.items():
        sub_name = f"{fn.name}_{key}"
        sub_id = fn._artifact_id(sub_name, record["input_hashes"])
        members[key] = store_value(
            fn, repo, sub_id, sub_name, item, record, replace, serializers.get(key),
            kwargs=(_member_kwargs(fn.load_kwargs, key), _member_kwargs(fn.dump_kwargs, key)),
        )  # fmt: skip
        notify(members[key])
    index = {k: a.id for k, a in members.items()}
    data = json.dumps(index, sort_keys=True).encode()
    # The member index is small: it lives in the row.
    blob = StoredValue(hash_bytes(data), len(data), data)
    artifact = store_value(
        fn, repo, artifact_id, fn.name, index, record, replace, DEFAULT_SERIALIZER,
        composite=True, blob=blob, kwargs=(None, None),  # the index is JSON, read as such
    )  # fmt: skip
    notify(artifact)
    return artifact, members


def store_archive(
    fn: Any, repo: Any, artifact_id: str, value: Any, record: Mapping[str, Any], replace: bool
) -> Any:
    raw = unwrap(value)
    if not isinstance(raw, (str, os.PathLike)):
        raise TypeError(
            f"{fn.name} is declared archive_file=True and must return a file path, "
            f"got {type(raw).__name__}"
        )
    path = os.fspath(raw)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{fn.name} returned {path!r} to archive, but no such file")
    t0 = time.perf_counter()
    _, blob_id = blob_key_for_file(path, fn.preserve_file_ext)
    hash_duration = time.perf_counter() - t0
    row, edges = build_row(fn, artifact_id, fn.name, record, repo)
    row.update(
        value_id=blob_id,  # the content hash, plus the extension if preserved
        serializer="file",
        composite=False,
        load_kwargs=None,
        dump_kwargs=None,
        hash_duration=hash_duration,
        blob_id=blob_id,
        size=os.path.getsize(path),
        value_inline=None,
    )
    if not repo.write or record.get("read_only"):
        if not record.get("read_only"):
            warnings.warn(
                f"{_read_only(repo)}: {path} was not archived", RuntimeWarning, stacklevel=3
            )
        return raw
    # The copy is stored (streamed, atomically) before its row, and the
    # original goes only after both.
    repo.store_file(blob_id, path, overwrite=record["repair"])
    _put_row(repo, row, edges, fn.tags, replace, _code_row(record))
    artifact = repo.lookup(artifact_id) or Artifact(
        _writer_repo(repo), [row.get(c) for c in COLUMNS]
    )
    if fn.delete_original_file:
        os.unlink(path)
    notify(artifact)
    return ArchivedFile(artifact.repo, blob_id, artifact=artifact)


def _read_only(repo: Any) -> str:
    """Why ``repo`` stores nothing: its flag, or what it found it cannot write."""
    reason = getattr(repo, "cannot_write", None)
    if reason is None:
        return f"{repo!r} is read-only (write: false)"
    return f"{repo!r} cannot be written ({reason}), so it is used read-only"


def _code_row(record: Mapping[str, Any]) -> tuple[str, str, Mapping[str, str]]:
    code: CodeFingerprint = record["code"]
    return code.digest, code.source, code.packages


def _writer_repo(repo: Any) -> Any:
    # A chained repo writes through its first writable member; artifacts
    # made by it load from there.
    return repo._writable()[0] if hasattr(repo, "_writable") else repo
