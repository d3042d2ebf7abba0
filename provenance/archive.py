"""Archiving files into a repository (``archive_file`` and ``@provenance(archive_file=True)``).

The file becomes an artifact whose identity is its contents; its value is an
:class:`~provenance.storage.archived.ArchivedFile` (re-exported here).
"""

from __future__ import annotations

import os
from typing import Any

from .decorator import provenance
from .hashing import hash_file
from .storage.archived import ArchivedFile, normalized_extension

__all__ = ["ArchivedFile", "archive_file"]


def archive_file(
    filename: str | os.PathLike[str],
    name: str | None = None,
    delete_original: bool = False,
    custom_fields: dict[str, Any] | None = None,
    preserve_ext: bool = False,
) -> Any:
    """(beta) Copy (or move) a file into the default repo and return it as a proxy.

    The artifact's identity is the file's contents (and its extension when
    ``preserve_ext``): archiving a changed file gives a new artifact.  The
    copy is streamed, never read whole into memory.

    Parameters
    ----------
    filename : str or path
        The file to archive.
    name : str, optional
        The artifact name (``archive_file`` by default).
    delete_original : bool
        Remove the original once the archived copy is stored.
    custom_fields : dict, optional
        Saved with the artifact.
    preserve_ext : bool
        Keep the file's extension (lower case, ``.jpeg`` as ``.jpg`` and
        ``.mpeg`` as ``.mpg``, as the original library did) on the stored blob,
        so it can be previewed with the usual tools.  It is then part of the
        value id (``<content hash>.jpg``) and of the artifact id.

    Returns
    -------
    ArtifactProxy
        Wrapping an :class:`ArchivedFile`.
    """
    path = os.fspath(filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"cannot archive {path!r}: no such file")
    content_hash = hash_file(path)
    # As in the original, the extension is part of the identity: .JPEG and .jpg alike.
    ext = normalized_extension(path) if preserve_ext else ""

    @provenance(
        name=name or "archive_file",
        archive_file=True,
        delete_original_file=delete_original,
        preserve_file_ext=preserve_ext,
        custom_fields=custom_fields,
        ignore=["filename"],
    )
    def _archive_file(content_hash: str, extension: str, filename: str) -> str:
        return filename

    result = _archive_file(content_hash, ext, path)
    # On a cache hit the same bytes are already archived, so the original can
    # go now that its copy is known to be stored.
    if delete_original and os.path.exists(path) and hash_file(path) == result.content_hash:
        os.unlink(path)
    return result
