"""Repositories: an artifact index composed with a blobstore.

:class:`Repository` is the one real implementation (an :class:`SqlIndex` plus
any :class:`Blobstore`); a memory repo is the same class over an in-memory
SQLite index and a memory store.  :class:`ChainedRepository` looks artifacts
up in several repositories in order.
"""

from __future__ import annotations

import errno
import json
import pickle
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import (
    ArtifactNotFound,
    BlobNotFound,
    ConfigError,
    IndexDamaged,
    InvalidId,
    MissingDependency,
    PermissionDenied,
    StorageFull,
)
from ..hashing import hash_bytes
from ..serializers import get_serializer
from .archived import ArchivedFile
from .artifact import Artifact
from .blobstores import Blobstore, MemoryStore
from .ids import check_id
from .index import COLUMNS, SqliteFileIndex, open_index
from .original_api import OriginalRepositoryMethods, artifact_id_of
from .proxies import composite_value
from .reading import check_map_mode, deserialize
from .specs import build_blobstore
from .spill import StoredValue, serialize
from .trust import check_value

if TYPE_CHECKING:
    from .index.sql import SqlIndex

__all__ = ["ChainedRepository", "Repository", "artifact_from_spec", "memory_repo",
           "remember_repo", "repo_from_spec"]  # fmt: skip

_VALUE_INLINE = COLUMNS.index("value_inline")
#: Serialized values up to this size are kept in the index row.
INLINE_LIMIT = 4096


class Repository(OriginalRepositoryMethods):
    """An artifact index plus the blobstore that holds the values.

    Parameters
    ----------
    index : SqlIndex or SqliteFileIndex
        Where artifact metadata, lineage and tags are recorded.
    blobstore : Blobstore
        Where serialized values live.
    name : str, optional
        The name under which the repo is configured.
    read, write, delete : bool
        What the repo may be used for.  A repo without ``write`` never
        stores anything: the decorator computes and returns values with a
        warning.  A repo whose index or blobstore this process cannot write
        (a read-only mount, another user's files) behaves as one without
        ``write``, and its explicit writes raise
        :class:`~provenance.errors.PermissionDenied` saying why.
    trusted : bool
        Whether values and recorded inputs that can run code when loaded
        (pickles) may be loaded from this repo.  ``False`` for a repo that
        others write to and whose writers you do not trust: only values of
        safe serializers (``json``, ``npy``, parquet), archived files and
        composites load, and the rest raise
        :class:`~provenance.UntrustedValue` (see :mod:`.trust`).
    mmap_mode : {None, "r", "c"}
        Map the values of serializers that can (``npy``) from a blobstore on
        local disk instead of reading them, unless the artifact records its
        own ``mmap_mode`` load kwarg; a mapped value is checked for size
        only (see :mod:`.reading`).

    Raises
    ------
    IndexDamaged
        If the index is a zero-length SQLite file while the blobstore holds
        blobs (a lost or truncated index, which must not pass for a new one).
    """

    kind = "sql"
    #: Arguments whose serialized size is over this many bytes are recorded by
    #: hash and summary only (the ``max_stored_input`` setting; see
    #: :mod:`.stored_inputs`); ``None``: no bound.
    max_stored_input: int | None = None
    #: The size the repo is kept under by evicting least recently used
    #: artifacts after a store (the ``max_size`` setting; see :mod:`.eviction`).
    max_size: int | None = None

    def __init__(
        self,
        index: SqlIndex | SqliteFileIndex,
        blobstore: Blobstore,
        *,
        name: str | None = None,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
        trusted: bool = True,
        mmap_mode: str | None = None,
    ) -> None:
        self.index = index
        self.blobstore = blobstore
        self.name = name
        self.read = bool(read)
        self._write_flag = bool(write)
        self.delete_allowed = bool(delete)
        self.trusted = bool(trusted)
        self.mmap_mode = check_map_mode("mmap_mode", mmap_mode)
        if index.empty_file is not None:
            self._check_empty_index(index.empty_file)

    @property
    def write(self) -> bool:
        """Whether the repo stores what it computes (its flag, and what it can write)."""
        return self._write_flag and self.cannot_write is None

    @write.setter
    def write(self, value: bool) -> None:
        self._write_flag = bool(value)

    @property
    def cannot_write(self) -> str | None:
        """Why a repo configured to write cannot (a read-only index or store), or ``None``."""
        if not self._write_flag:
            return None
        reason = self.index.read_only
        if reason is not None and reason != "write: false":
            return f"its index is read-only: {reason}"
        if self.blobstore.cannot_write is not None:
            return f"its blobstore is read-only: {self.blobstore.cannot_write}"
        return None

    def _check_empty_index(self, path: str) -> None:
        # A zero-length file is what a lost or truncated index looks like: beside
        # stored blobs it must not become a new index, whose gc would see
        # every blob as unreferenced.
        if next(iter(self.blobstore._keys()), None) is not None:
            raise IndexDamaged(
                f"the index {path} is an empty (zero-length) file, but its blobstore "
                f"{self.blobstore!r} holds blobs: the index was lost or truncated.  "
                "Restore it from a backup (nothing was written to it)."
            )
        self.index.adopt_empty_file()

    # -- identity across processes ----------------------------------------------

    def spec(self) -> dict[str, Any]:
        """A config dict that rebuilds this repo in another process."""
        return {
            "type": "sql",
            "db": self.index.db,
            "schema": self.index.schema,
            "engine_kwargs": self.index.engine_kwargs or None,
            "store": self.blobstore.spec(),
            "read": self.read,
            "write": self._write_flag,
            "delete": self.delete_allowed,
            "trusted": self.trusted,
            "max_stored_input": self.max_stored_input,
            "max_size": self.max_size,
            "mmap_mode": self.mmap_mode,
        }

    def shareable_spec(self) -> dict[str, Any] | None:
        """:meth:`spec`, or ``None`` if the repo lives only in this process."""
        if self.index._memory:
            return None
        try:
            return self.spec()
        except TypeError:
            return None

    def __reduce__(self) -> tuple[Any, ...]:
        spec = self.shareable_spec()
        if spec is None:
            raise pickle.PicklingError(f"{self!r} lives in this process only and cannot be sent")
        return (repo_from_spec, (spec,))

    def reduce_artifact(self, artifact_id: str) -> tuple[Any, ...] | None:
        """How an artifact of this repo pickles: a reference by spec and id, if shareable."""
        spec = self.shareable_spec()
        return None if spec is None else (artifact_from_spec, (spec, artifact_id))

    # -- reading ------------------------------------------------------------------

    def _require(self, flag: str) -> None:
        if flag == "write" and self.cannot_write is not None:
            raise PermissionDenied(f"{self!r} cannot be written: {self.cannot_write}")
        allowed = self.delete_allowed if flag == "delete" else getattr(self, flag)
        if not allowed:
            raise PermissionDenied(f"{self!r} is not configured to {flag} ({flag}: false)")

    def lookup(self, artifact_id: str) -> Artifact | None:
        """The artifact with this (already validated) id, or ``None``; the hot path."""
        row = self.index.get(artifact_id)
        return None if row is None else Artifact(self, row)

    def get_artifact(self, artifact_id: str) -> Artifact:
        """The artifact with this id.

        Raises
        ------
        InvalidId
            If the id is malformed.
        ArtifactNotFound
            If the repo has no such artifact (also a ``KeyError``).
        """
        self._require("read")
        artifact = self.lookup(check_id(artifact_id))
        if artifact is None:
            raise ArtifactNotFound(f"artifact {artifact_id} is not in {self!r}")
        return artifact

    def get_artifacts(self, artifact_ids: Iterable[str]) -> dict[str, Artifact]:
        """The artifacts among ``artifact_ids`` that exist, by id (batched queries)."""
        self._require("read")
        ids = [check_id(i) for i in artifact_ids]
        return {i: Artifact(self, row) for i, row in self.index.get_many(ids).items()}

    def __contains__(self, artifact_or_id: object) -> bool:
        try:
            artifact_id = check_id(artifact_id_of(artifact_or_id))
        except (TypeError, InvalidId):
            return False  # what cannot be an id is not in the repo, as in the original
        return self.index.exists(artifact_id)

    def find_artifacts(
        self,
        *,
        name: str | None = None,
        version: int | None = None,
        value_id: str | None = None,
        fn_name: str | None = None,
        tags: Sequence[str] | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Artifact]:
        """Artifacts matching every given criterion, newest first.

        Parameters
        ----------
        name, version, value_id : optional
            Exact matches.
        fn_name : str, optional
            The qualified name of the function that computed them.
        tags : sequence of str, optional
            Artifacts carrying all these tags.
        custom_fields : mapping, optional
            Exact matches of top-level custom fields (str, int, float, bool).
        limit : int, optional
        """
        self._require("read")
        rows = self.index.find(name=name, version=version, value_id=value_id, fn_name=fn_name,
                               tags=tags, custom_fields=custom_fields, limit=limit)  # fmt: skip
        return [Artifact(self, row) for row in rows]

    def load_value(self, artifact: Artifact) -> Any:
        """Deserialize an artifact's value, checking the bytes against their hash.

        Raises
        ------
        BlobNotFound
            If the blob is missing.
        CorruptBlob
            If the stored bytes do not hash to the recorded blob id.
        UntrustedValue
            If the repo is not trusted and loading the value could run code.
        """
        self._require("read")
        if artifact.composite:
            return composite_value(self, artifact)
        blob_id = artifact.blob_id
        if blob_id is None:
            raise BlobNotFound(f"artifact {artifact.id} ({artifact.name}) has no stored value")
        if artifact.serializer == "file":
            if not self.blobstore.exists(blob_id):
                raise BlobNotFound(
                    f"the archived file of artifact {artifact.id} ({artifact.name}) is missing: "
                    f"blob {blob_id} is not in {self.blobstore!r}"
                )
            return ArchivedFile(self, blob_id)
        try:
            return self._deserialize(artifact, blob_id)
        except MissingDependency as exc:
            raise MissingDependency(
                f"artifact {artifact.id} ({artifact.name}) was stored with the "
                f"{artifact.serializer!r} serializer: {exc}"
            ) from exc

    def _deserialize(self, artifact: Artifact, blob_id: str) -> Any:
        serializer = get_serializer(artifact.serializer)
        check_value(self, artifact, serializer)
        inline = artifact._row[_VALUE_INLINE]
        data = None if inline is None else bytes(inline)
        try:
            return deserialize(self, artifact, serializer, data)
        except FileNotFoundError:
            raise BlobNotFound(
                f"the value of artifact {artifact.id} ({artifact.name}) is missing: "
                f"blob {blob_id} is not in {self.blobstore!r}"
            ) from None
        except BlobNotFound as exc:
            raise BlobNotFound(
                f"the value of artifact {artifact.id} ({artifact.name}) is missing: {exc}"
            ) from None

    # -- writing ------------------------------------------------------------------

    def store_value(
        self,
        value: Any,
        serializer: str,
        dump_kwargs: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
        inline_limit: int = INLINE_LIMIT,
    ) -> StoredValue:
        """Serialize ``value``: into the row when small, else into the blobstore.

        The value is hashed while it is written.  Up to ``inline_limit``
        bytes it stays in memory and goes into the index row; a larger value
        spills to a staging file on the store's own filesystem (where
        possible) that is moved into place under its hash, so the blob
        appears complete or not at all.  ``overwrite`` replaces a stored blob
        of the same key (one found corrupt).
        """
        self._require("write")
        try:
            ser = get_serializer(serializer)
            return serialize(self.blobstore, value, ser, dump_kwargs, overwrite, inline_limit)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or isinstance(exc, StorageFull):
                raise
            where = self.blobstore.staging_dir() or tempfile.gettempdir()
            raise StorageFull(
                exc.errno,
                f"no space left on the device of {where}, where {self!r} stages values: "
                f"{exc.strerror}; free some space (provenance gc) and retry",
                exc.filename or where,
            ) from exc

    def store_file(self, blob_id: str, path: str, *, overwrite: bool = False) -> None:
        """Copy a file into the blobstore under ``blob_id`` (streamed, atomic)."""
        self._require("write")
        self.blobstore.put_file(blob_id, path, overwrite=overwrite)

    def store_bytes(self, data: bytes) -> str:
        """Store raw bytes under their hash and return the key."""
        self._require("write")
        key = hash_bytes(data)
        self.blobstore.put(key, data)
        return key

    def put_row(
        self,
        row: Mapping[str, Any],
        edges: Sequence[tuple[str, str]] = (),
        tags: Sequence[str] = (),
        *,
        replace: bool = False,
        code: tuple[str, str, Mapping[str, str]] | None = None,
    ) -> bool:
        """Index an artifact whose blob is already stored; whether it was new.

        ``code`` is ``(fingerprint, normalized source, packages)`` of the
        row's ``code_fingerprint``, stored once per fingerprint.
        """
        self._require("write")
        return self.index.put(row, edges, tags, replace=replace, code=code)

    def code_source(self, fingerprint: str) -> dict[str, Any] | None:
        """The stored normalized source of a code fingerprint (:mod:`provenance.fingerprint`)."""
        return self.index.code_source(fingerprint)

    def delete_artifact(self, artifact_id: str) -> bool:
        """Remove an artifact from the index (its blob stays for ``gc``)."""
        self._require("delete")
        return self.index.delete(check_id(artifact_id))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<provenance.Repository{label} {self.index!r} {self.blobstore!r}>"


class ChainedRepository(OriginalRepositoryMethods):
    """Several repositories searched in order; new artifacts go to every writable one.

    Parameters
    ----------
    repos : sequence of Repository
        In lookup order, typically a fast local repo before a shared one.
    """

    kind = "chained"

    def __init__(
        self,
        repos: Sequence[Repository],
        *,
        name: str | None = None,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        if not repos:
            raise ConfigError("a chained repo needs at least one repo in 'repos'")
        self.repos = list(repos)
        self.name = name
        self.read = bool(read)
        self.write = bool(write) and any(r.write for r in self.repos)
        self.delete_allowed = bool(delete)

    @property
    def trusted(self) -> bool:
        """Whether every member is trusted.

        Trust belongs to the member that holds an artifact (its values are
        read from there), so a chain has no setting of its own.
        """
        return all(r.trusted for r in self.repos)

    @property
    def blobstore(self) -> Blobstore:
        return self._writable()[0].blobstore

    def shareable_spec(self) -> dict[str, Any] | None:
        specs = [r.shareable_spec() for r in self.repos]
        if any(s is None for s in specs):
            return None
        return {
            "type": "chained",
            "repos": specs,
            "read": self.read,
            "write": self.write,
            "delete": self.delete_allowed,
        }

    def spec(self) -> dict[str, Any]:
        spec = self.shareable_spec()
        if spec is None:
            raise TypeError(f"{self!r} includes a repo that lives only in this process")
        return spec

    def __reduce__(self) -> tuple[Any, ...]:
        return (repo_from_spec, (self.spec(),))

    def _readable(self) -> list[Repository]:
        return [r for r in self.repos if r.read]

    def _writable(self) -> list[Repository]:
        repos = [r for r in self.repos if r.write]
        if not repos or not self.write:
            raise PermissionDenied(f"{self!r} has no writable repo")
        return repos

    def lookup(self, artifact_id: str) -> Artifact | None:
        for repo in self._readable():
            artifact = repo.lookup(artifact_id)
            if artifact is not None:
                return artifact
        return None

    def get_artifact(self, artifact_id: str) -> Artifact:
        artifact = self.lookup(check_id(artifact_id))
        if artifact is None:
            raise ArtifactNotFound(f"artifact {artifact_id} is in none of the repos of {self!r}")
        return artifact

    def get_artifacts(self, artifact_ids: Iterable[str]) -> dict[str, Artifact]:
        wanted = [check_id(i) for i in artifact_ids]
        found: dict[str, Artifact] = {}
        for repo in self._readable():
            missing = [i for i in wanted if i not in found]
            if not missing:
                break
            found.update(repo.get_artifacts(missing))
        return found

    def __contains__(self, artifact_or_id: object) -> bool:
        return any(artifact_or_id in r for r in self._readable())

    def find_artifacts(self, **criteria: Any) -> list[Artifact]:
        seen: dict[str, Artifact] = {}
        for repo in self._readable():
            for artifact in repo.find_artifacts(**criteria):
                seen.setdefault(artifact.id, artifact)
        result = sorted(seen.values(), key=lambda a: (a.computed_at, a.id), reverse=True)
        limit = criteria.get("limit")
        return result[:limit] if limit is not None else result

    def load_value(self, artifact: Artifact) -> Any:
        return (artifact.repo or self._readable()[0]).load_value(artifact)

    def store_value(
        self,
        value: Any,
        serializer: str,
        dump_kwargs: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
    ) -> StoredValue:
        repos = self._writable()
        stored = repos[0].store_value(value, serializer, dump_kwargs, overwrite=overwrite)
        if stored.inline is None:
            for repo in repos[1:]:
                repos[0].blobstore.copy_to(repo.blobstore, [stored.blob_id])
        return stored

    def store_bytes(self, data: bytes) -> str:
        keys = {r.store_bytes(data) for r in self._writable()}
        return keys.pop()

    def store_file(self, blob_id: str, path: str, *, overwrite: bool = False) -> None:
        # Every member that gets the row gets the blob.
        for repo in self._writable():
            repo.store_file(blob_id, path, overwrite=overwrite)

    def put_row(
        self,
        row: Mapping[str, Any],
        edges: Sequence[tuple[str, str]] = (),
        tags: Sequence[str] = (),
        *,
        replace: bool = False,
        code: tuple[str, str, Mapping[str, str]] | None = None,
    ) -> bool:
        results = [
            r.put_row(row, edges, tags, replace=replace, code=code) for r in self._writable()
        ]
        return results[0]

    def code_source(self, fingerprint: str) -> dict[str, Any] | None:
        for repo in self._readable():
            found = repo.code_source(fingerprint)
            if found is not None:
                return found
        return None

    def delete_artifact(self, artifact_id: str) -> bool:
        if not self.delete_allowed:
            raise PermissionDenied(f"{self!r} is not configured to delete (delete: false)")
        return any([r.delete_artifact(artifact_id) for r in self.repos if r.delete_allowed])

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<provenance.ChainedRepository{label} {self.repos!r}>"


def memory_repo(
    name: str | None = None,
    *,
    read: bool = True,
    write: bool = True,
    trusted: bool = True,
    mmap_mode: str | None = None,
) -> Repository:
    """A repository that lives in this process's memory (tests, notebooks)."""
    from .index.sql import SqlIndex  # an in-memory database: only SqlIndex has one

    return Repository(
        SqlIndex("sqlite://"),
        MemoryStore(),
        name=name,
        read=read,
        write=write,
        delete=True,
        trusted=trusted,
        mmap_mode=mmap_mode,
    )


# -- rebuilding repos in other processes -------------------------------------------

_spec_lock = threading.Lock()
_repos_by_spec: dict[str, Any] = {}


def _spec_key(spec: Mapping[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def remember_repo(repo: Any) -> None:
    """Register a configured repo so unpickled references in this process reuse it."""
    spec = repo.shareable_spec()
    if spec is not None:
        with _spec_lock:
            _repos_by_spec.setdefault(_spec_key(spec), repo)


def repo_from_spec(spec: Mapping[str, Any]) -> Any:
    """The repo described by ``spec`` (see :meth:`Repository.spec`), built once per process."""
    key = _spec_key(spec)
    with _spec_lock:
        repo = _repos_by_spec.get(key)
    if repo is not None:
        return repo
    repo = build_repo_from_spec(spec)
    with _spec_lock:
        return _repos_by_spec.setdefault(key, repo)


def artifact_from_spec(spec: Mapping[str, Any], artifact_id: str) -> Artifact:
    """Load an artifact by id from the repo described by ``spec``."""
    return repo_from_spec(spec).get_artifact(artifact_id)


def build_repo_from_spec(spec: Mapping[str, Any]) -> Any:
    """Rebuild a repo from :meth:`Repository.spec` (in a worker process)."""
    spec = dict(spec)
    if spec.get("type") == "chained":
        return ChainedRepository(
            [build_repo_from_spec(s) for s in spec["repos"]],
            read=spec.get("read", True),
            write=spec.get("write", True),
            delete=spec.get("delete", False),
        )
    store_spec = dict(spec.pop("store"))
    store = build_blobstore("store", store_spec, {})
    index = open_index(
        spec["db"],
        schema=spec.get("schema"),
        engine_kwargs=spec.get("engine_kwargs"),
        read_only=not spec.get("write", True),
    )
    repo = Repository(
        index,
        store,
        read=spec.get("read", True),
        write=spec.get("write", True),
        delete=spec.get("delete", False),
        trusted=spec.get("trusted", True),
        mmap_mode=spec.get("mmap_mode"),
    )
    repo.max_stored_input = spec.get("max_stored_input")
    repo.max_size = spec.get("max_size")
    return repo
