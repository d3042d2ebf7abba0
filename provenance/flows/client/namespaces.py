"""What the client reads: the namespace that filters objects and the metadata provider.

The process-wide selection state lives here: ``_namespace`` (set by
:func:`namespace`, ``_UNSET`` until first read) and ``_provider`` (the
``(description, repo)`` chosen by :func:`metadata`, ``None`` for the default
repo), both guarded by ``_state_lock``.  :func:`_current_repo` gives the repo
every client object reads.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ... import journal
from ...config import (
    current_config,
    default_config,
    from_config,
    get_repo_by_name,
    resolve_repo,
)
from ...errors import ConfigError, MetaflowTaggingError
from ...runinfo import _user
from ...storage.blobstores import MemoryStore
from ...storage.index import open_index
from ...storage.repos import Repository
from ...storage.validate import MAX_TAG, check_text

# -- namespaces --------------------------------------------------------------------

_UNSET: Any = object()
_state_lock = threading.Lock()
_namespace: Any = _UNSET
_provider: Any = None  # (description, repo) chosen by metadata(), None for the default


def default_namespace() -> str:
    """Go back to the default namespace, ``user:<name>``, and return it.

    The name comes from ``PROVENANCE_USER``, then ``USER`` / ``USERNAME``.
    """
    global _namespace
    with _state_lock:
        _namespace = f"user:{_user()}"
        return str(_namespace)


def namespace(ns: str | None) -> str | None:
    """Switch the namespace (a tag) that filters every object; ``None`` shows all.

    Returns
    -------
    str or None
        The namespace now in effect (:func:`get_namespace`).
    """
    global _namespace
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise MetaflowTaggingError(f"a namespace is a non-empty tag string or None, got {ns!r}")
    if ns is not None:
        check_text(ns, "the namespace", MAX_TAG, error=MetaflowTaggingError)
    with _state_lock:
        _namespace = ns
    return ns


def get_namespace() -> str | None:
    """The namespace that filters objects now (``None``: no filtering)."""
    if _namespace is _UNSET:
        return default_namespace()
    return _namespace


# -- metadata providers ------------------------------------------------------------


def _runs_member(repo: Any) -> Any:
    # Runs are recorded in a chained repo's first writable member.
    if hasattr(repo, "repos"):
        writable = [r for r in repo.repos if r.write]
        return writable[0] if writable else repo.repos[0]
    return repo


def _local_repo(directory: str) -> Any:
    directory = os.path.abspath(os.path.expanduser(directory))
    home = directory
    if not os.path.isfile(os.path.join(home, "provenance.db")):
        home = os.path.join(directory, ".provenance")
    if not os.path.isfile(os.path.join(home, "provenance.db")):
        raise ConfigError(
            f"metadata('local@{directory}'): no provenance store there "
            f"(looked for {directory}/.provenance/provenance.db and {directory}/provenance.db)"
        )
    return home, from_config(default_config(home))["repos"]["default"]


def _url_repo(url: str) -> Any:
    # A configured repo on that database brings its blobstore along.
    for repo in current_config().repos.values():
        for member in getattr(repo, "repos", [repo]):
            index = getattr(member, "index", None)
            if index is not None and index.db == url:
                return member
    index = open_index(url, create_db=False, read_only=True)
    return Repository(index, MemoryStore(), name=None, read=True, write=False)


def metadata(ms: str) -> str:
    """Choose the repository the client reads.

    Parameters
    ----------
    ms : str
        A configured repo name, an SQLAlchemy URL (``sqlite:///...``,
        ``postgresql+psycopg://...``), ``local@<dir>`` for a directory holding
        a ``.provenance`` store, or a path to such a directory.

    Returns
    -------
    str
        :func:`get_metadata`, the provider now in use.
    """
    global _provider
    if not isinstance(ms, str) or not ms:
        raise ConfigError(
            f"metadata() expects a repo name, a database URL or local@<dir>, got {ms!r}"
        )
    if ms.startswith("local@"):
        home, repo = _local_repo(ms[len("local@") :])
        chosen = (f"local@{home}", repo)
    elif "://" in ms:
        repo = _url_repo(ms)
        chosen = (f"sql@{repo.index.url.render_as_string(hide_password=True)}", repo)
    elif ms.startswith("repo@"):
        chosen = (ms, get_repo_by_name(ms[len("repo@") :]))
    elif os.path.isdir(ms):
        home, repo = _local_repo(ms)
        chosen = (f"local@{home}", repo)
    else:
        chosen = (f"repo@{ms}", get_repo_by_name(ms))
    with _state_lock:
        _provider = chosen
    return get_metadata()


def get_metadata() -> str:
    """The provider the client reads: ``repo@<name>``, ``sql@<url>`` or ``local@<dir>``."""
    provider = _provider
    if provider is not None:
        return str(provider[0])
    repo = resolve_repo(None)
    return f"repo@{repo.name}" if repo.name else f"repo@{repo!r}"


def default_metadata() -> str:
    """Go back to reading the default repo; returns :func:`get_metadata`."""
    global _provider
    with _state_lock:
        _provider = None
    return get_metadata()


def _current_repo() -> Any:
    provider = _provider
    repo = _runs_member(provider[1] if provider is not None else resolve_repo(None))
    if getattr(repo, "write", False) and hasattr(repo, "index"):
        # Tasks that other processes journaled while the index was down are read too.
        journal.replay_pending(repo.index)
    return repo
