"""Exporting an artifact's value to a file in its natural format (``provenance export``).

The bytes a serializer stores are already a file of a known format: the
parquet serializers write Parquet, ``npy`` a NumPy ``.npy`` file, ``json``
JSON text, and an archived file is kept as itself.  Exporting copies those
bytes, checked against their hash, to a path of the user's choosing, with
the format's extension; nothing is deserialized, so nothing can run, and a
repo that is not trusted exports as well as one that is.

A pickled value (``joblib``, ``cloudpickle``) is exported the same way, as
the serializer's own bytes, with ``.joblib`` or ``.pkl``: the result says
so, since loading such a file runs whatever its writer put in it.  A value
of a serializer registered elsewhere is exported as its stored bytes, with
the serializer's name as extension.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import BlobNotFound, CorruptBlob, InvalidValue
from ..hashing import hash_file
from .lineage import coerce_artifact

__all__ = ["FORMATS", "Exported", "export_artifact"]

#: Serializer name to ``(extension, what the file is)``.
FORMATS: dict[str, tuple[str, str]] = {
    "pd_df_parquet": ("parquet", "a Parquet file"),
    "pd_series_parquet": ("parquet", "a Parquet file (the series as a one-column table)"),
    "npy": ("npy", "a NumPy .npy file"),
    "json": ("json", "JSON text"),
    "joblib": ("joblib", "a joblib pickle"),
    "cloudpickle": ("pkl", "a pickle (cloudpickle)"),
}
#: Serializers whose files run code when loaded: the result warns.
_PICKLES = {"joblib": "joblib.load(path)", "cloudpickle": "pickle.load(open(path, 'rb'))"}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Exported:
    """What :func:`export_artifact` wrote.

    Attributes
    ----------
    path : str
        The file written.
    format : str
        Its format: ``parquet``, ``npy``, ``json``, ``file`` (an archived
        file as itself), ``joblib``, ``pkl``, or a serializer's name.
    size : int
        Bytes written.
    note : str or None
        What a reader should know: a pickle runs code when loaded.
    """

    path: str
    format: str
    size: int
    note: str | None = None


def _format_of(artifact: Any) -> tuple[str, str, str | None]:
    """``(format, extension with its dot or "", note)`` of an artifact's stored bytes."""
    serializer = artifact.serializer
    if serializer == "file":
        blob_id = artifact.blob_id or ""
        return "file", os.path.splitext(blob_id)[1], None
    ext, what = FORMATS.get(serializer, (_UNSAFE_NAME.sub("_", serializer), ""))
    note = None
    if serializer in _PICKLES:
        note = (
            f"{what}, as the {serializer!r} serializer stored it: loading it runs code, so "
            f"load it ({_PICKLES[serializer]}) only if you trust whoever wrote the repo"
        )
    elif serializer not in FORMATS:
        note = f"the bytes the {serializer!r} serializer stored, as they are"
    return ext, f".{ext}", note


def _target(artifact: Any, path: str, ext: str, force: bool) -> str:
    """The file to write: ``path``, or ``<name><ext>`` inside it if it is a directory."""
    if os.path.isdir(path):
        name = _UNSAFE_NAME.sub("_", str(artifact.name)).lstrip(".") or artifact.id
        path = os.path.join(path, name + ext)
        if os.path.isdir(path):
            raise IsADirectoryError(f"cannot export to {path}: it is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot export to {path}: no directory {parent}")
    if os.path.lexists(path) and not force:
        raise FileExistsError(
            errno.EEXIST, f"{path} exists already: pass force=True to overwrite it", path
        )
    return path


@contextlib.contextmanager
def _stored_bytes(artifact: Any) -> Iterator[str]:
    """A local file holding the artifact's stored bytes (a copy for a value kept in its row)."""
    inline = artifact._get("value_inline")
    if inline is None:
        with artifact.repo.blobstore.open_local(artifact.blob_id) as local:
            yield local
        return
    fd, tmp = tempfile.mkstemp(prefix="provenance-export-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(inline))
        yield tmp
    finally:
        os.unlink(tmp)


def export_artifact(
    artifact_or_id: Any, path: str | os.PathLike[str], force: bool = False, repo: Any = None
) -> Exported:
    """Write an artifact's value to ``path`` in its natural format, verified.

    Parquet for a DataFrame or Series stored with parquet, ``.npy`` for an
    array, JSON for a JSON value, an archived file as itself; a pickled
    value as the serializer's bytes (``.joblib``, ``.pkl``), which
    :attr:`Exported.note` warns about.  The bytes are copied as stored and
    checked against their hash; nothing is loaded.

    Parameters
    ----------
    artifact_or_id : Artifact, ArtifactProxy or str
        What to export (an id is looked up in ``repo``).
    path : str or path
        The file to write, or a directory to write ``<name>.<ext>`` in.
    force : bool
        Overwrite an existing file.
    repo : Repository or str, optional
        Where to look up an id (the default repo if omitted).

    Returns
    -------
    Exported

    Raises
    ------
    FileExistsError
        If the file exists and ``force`` is false (checked before anything
        is read; so are a missing directory and a directory in the way).
    InvalidValue
        If the artifact is a composite: its members are exported one by one.
    BlobNotFound
        If the value is not stored (a read-only call, or a missing blob).
    CorruptBlob
        If the stored bytes do not match their hash; nothing is left at
        ``path``.
    """
    artifact = coerce_artifact(artifact_or_id, repo)
    if artifact.composite:
        members = artifact.repo.load_value(artifact).member_ids if artifact.repo else {}
        listed = ", ".join(f"{k} ({i[:12]})" for k, i in members.items())
        raise InvalidValue(
            f"artifact {artifact.id} ({artifact.name}) is a composite: export its members "
            f"one by one: {listed}",
            field="artifact",
        )
    if artifact.repo is None or artifact.blob_id is None:
        raise BlobNotFound(f"artifact {artifact.id} ({artifact.name}) has no stored value")
    fmt, ext, note = _format_of(artifact)
    target = _target(artifact, os.fspath(path), ext, force)
    digest = artifact.blob_id.split(".", 1)[0]
    # Beside the target, so that it appears whole (by rename) or not at all;
    # created as open() would, with the umask's permissions.
    tmp = os.path.join(os.path.dirname(os.path.abspath(target)), f".export-{uuid.uuid4().hex}")
    try:
        with _stored_bytes(artifact) as local, open(local, "rb") as src:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        actual = hash_file(tmp)
        if actual != digest:
            raise CorruptBlob(
                f"the stored value of artifact {artifact.id} ({artifact.name}) is corrupt: "
                f"blob {artifact.blob_id} hashes to {actual}; nothing was exported"
            )
        size = os.path.getsize(tmp)
        os.replace(tmp, target)
    except (BlobNotFound, FileNotFoundError) as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise BlobNotFound(
            f"the value of artifact {artifact.id} ({artifact.name}) is missing: blob "
            f"{artifact.blob_id} is not in {artifact.repo.blobstore!r}"
        ) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Exported(target, fmt, size, note)
