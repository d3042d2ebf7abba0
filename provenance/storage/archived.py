"""Archived files: a file held in a blobstore, usable wherever a path is.

An archived file is stored as a blob keyed by the hash of its contents (plus
its extension with ``preserve_ext``).  Its value is an :class:`ArchivedFile`,
a path-like object: ``open(value)`` reads the archived bytes whatever the
blobstore (a store without local files materializes a verified copy on
first use).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from typing import Any

from ..errors import CorruptBlob
from ..hashing import hash_file, hash_value
from .proxies import TransformedProxy, _proxy_of

__all__ = ["ArchivedFile", "blob_key_for_file", "normalized_extension"]

_EXT = re.compile(r"\.[A-Za-z0-9_-]{1,32}\Z")
#: Files already checked against their hash, with the (size, mtime) they had.
_verified: dict[str, tuple[int, int]] = {}
_lock = threading.Lock()


#: The original library's spellings of an extension, kept in value ids.
_EXT_ALIASES = {"mpeg": "mpg", "jpeg": "jpg"}


def normalized_extension(path: str) -> str:
    """The extension of ``path`` as the original library kept it: ``.MPEG`` is ``.mpg``.

    Lower case, stripped, with ``jpeg`` and ``mpeg`` shortened; ``""`` when
    there is none.

    Raises
    ------
    ValueError
        If the extension is not up to 32 letters, digits, ``_`` or ``-``
        (it becomes part of a blob key).
    """
    ext = os.path.splitext(path)[1].strip().lower()
    if not ext:
        return ""
    if not _EXT.match(ext):
        raise ValueError(
            f"cannot preserve the extension {ext!r} of {path!r}: extensions must be up to "
            "32 letters, digits, '_' or '-'"
        )
    return "." + _EXT_ALIASES.get(ext[1:], ext[1:])


def blob_key_for_file(path: str, preserve_ext: bool) -> tuple[str, str]:
    """``(content_hash, blob_key)`` of a file.

    With ``preserve_ext`` the key is the content hash plus the
    :func:`normalized_extension`, and it is the archived artifact's value id,
    as in the original library; otherwise both are the content hash.
    """
    digest = hash_file(path)
    return digest, digest + (normalized_extension(path) if preserve_ext else "")


def _materialized_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), f"provenance-files-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


class ArchivedFile(os.PathLike):
    """A file archived in a repository; use it wherever a path is expected.

    It is its own proxy: it carries ``.artifact`` and records lineage when
    passed to a decorated function, and being a real ``os.PathLike`` (not a
    wrapper) it works with every function that takes a path, ``os.stat``
    included.

    Parameters
    ----------
    repo : Repository
        The repo whose blobstore holds the file.
    blob_id : str
        The blob key: the content hash, with the extension if preserved.
    artifact : Artifact, optional
        The artifact it is the value of.
    """

    def __init__(self, repo: Any, blob_id: str, artifact: Any = None) -> None:
        self.repo = repo
        self.blob_id = blob_id
        self._artifact = artifact

    @property
    def artifact(self) -> Any:
        """The artifact whose value this file is."""
        if self._artifact is None:
            raise AttributeError("this ArchivedFile is not attached to an artifact")
        return self._artifact

    @property
    def _provenance_value_id_(self) -> str:
        # Read by provenance.hashing: an archived file hashes as its contents, and
        # its extension when one was preserved (a function may look at its path).
        # The proxy rule needs a 32-character id, so the extension is hashed in.
        if "." not in self.blob_id:
            return self.blob_id
        return hash_value(("archived file", self.content_hash, self.extension))

    @property
    def extension(self) -> str:
        """The preserved extension (``".jpg"``), or ``""``."""
        head, dot, ext = self.blob_id.partition(".")
        return dot + ext

    @property
    def content_hash(self) -> str:
        """The xxh3-128 hash of the file's bytes."""
        return self.blob_id.split(".", 1)[0]

    def _check(self, path: str) -> str:
        stat = os.stat(path)
        seen = (stat.st_size, stat.st_mtime_ns)
        if _verified.get(path) != seen:
            actual = hash_file(path)
            if actual != self.content_hash:
                raise CorruptBlob(
                    f"archived file {self.blob_id} is corrupt: its bytes hash to {actual}"
                )
            with _lock:
                _verified[path] = seen
        return path

    def __fspath__(self) -> str:
        store = self.repo.blobstore
        local = store.local_path(self.blob_id)
        if local is not None and os.path.exists(local):
            return self._check(local)
        dest = os.path.join(_materialized_dir(), self.blob_id)
        if not os.path.exists(dest):
            store.materialize(self.blob_id, dest)
        try:
            return self._check(dest)
        except CorruptBlob:
            # A damaged local copy: fetch it again (the store's copy is checked too).
            store.materialize(self.blob_id, dest)
            return self._check(dest)

    @property
    def path(self) -> str:
        """The local path of the archived file."""
        return self.__fspath__()

    def abspath(self) -> str:
        """The absolute local path of the archived file (the original library's method)."""
        return os.path.abspath(self.__fspath__())

    @property
    def in_repo(self) -> bool:
        """Always True: an ``ArchivedFile`` is the file as stored (the original's attribute)."""
        return True

    def transform_value(self, transformer_fn: Any) -> TransformedProxy:
        """``transformer_fn(self)`` as a proxy that keeps this file's artifact.

        For instance ``archived.transform_value(pd.read_csv)``: the frame
        records lineage to the archived file (see
        :meth:`ArtifactProxy.transform_value <provenance.ArtifactProxy.transform_value>`).
        """
        return TransformedProxy(transformer_fn(self), self.artifact)

    def read_bytes(self) -> bytes:
        """The archived bytes."""
        with open(self, "rb") as f:
            return f.read()

    def __str__(self) -> str:
        return self.__fspath__()

    def __repr__(self) -> str:
        return f"<ArchivedFile {self.blob_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArchivedFile) and other.blob_id == self.blob_id

    def __hash__(self) -> int:
        return hash(self.blob_id)

    def __reduce__(self) -> tuple[Any, ...]:
        if self._artifact is not None:
            return (_proxy_of, (self._artifact,))
        return (ArchivedFile, (self.repo, self.blob_id))
