"""Storage built from plain data: the entries of a config, or the spec a repo pickles as.

The checks here name the offending key (``'blobstores.disk.cachedir' is
missing``), so a bad config fails before anything is stored.  Repositories
are assembled from these parts by :mod:`provenance.storage.repos` (a spec)
and :mod:`provenance.config` (a named config entry).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, MissingDependency, is_installed, require_installed
from .blobstores import Blobstore, ChainedStore, DiskStore, MemoryStore
from .blobstores.disk import check_mode
from .blobstores.fsspec import FsspecStore
from .blobstores.s3 import S3Store
from .reading import check_map_mode

__all__ = [
    "BLOBSTORE_KEYS",
    "FLAGS",
    "REPO_KEYS",
    "build_blobstore",
    "check_keys",
    "check_sql_driver",
    "ORIGINAL_REPO_KEYS",
    "entry_type",
    "flags",
    "map_mode",
    "original_keys",
    "rebase_repo",
    "rebase_store",
    "sql_url",
    "trusted",
]

FLAGS = ("read", "write", "delete")

BLOBSTORE_KEYS: dict[str, set[str]] = {
    "memory": set(),
    "disk": {"cachedir", "path", "fsync", "mode"},
    "chained": {"stores", "read_through_write"},
    "s3": {"bucket", "prefix", "basepath", "endpoint_url", "s3_config", "cachedir"},
    "fsspec": {"url", "storage_options", "cachedir", "cleanup_cachedir"},
    # The original library's SFTP and GCS stores, as fsspec stores (see _fsspec_args).
    "sftp": {
        "basepath",
        "ssh_config",
        "known_hosts",
        "host_key_policy",
        "cachedir",
        "cleanup_cachedir",
        "always_check_remote",
    },
    "gs": {
        "bucket",
        "basepath",
        "project",
        "storage_options",
        "cachedir",
        "cleanup_cachedir",
        "always_check_remote",
    },
}
REPO_KEYS: dict[str, set[str]] = {
    "sql": {
        "db",
        "store",
        "schema",
        "create_db",
        "create_schema",
        "upgrade_db",
        "engine_kwargs",
        "trusted",
        "max_stored_input",
        "max_size",
        "mmap_mode",
    },
    "memory": {"store", "trusted", "max_stored_input", "max_size", "mmap_mode"},
    # No "trusted": a chain's values are read from its members, whose own
    # setting decides (see trusted()).
    "chained": {"repos"},
}
#: Keys the original library took on every blobstore and every repository.
#: ``read_through_write`` on a store lets a chain copy into it the blobs it
#: read from a later store (the chain's own key says whether it copies).
#: ``on_duplicate_key`` is moot here: a blob's key is the hash of its bytes,
#: so a second put of a key is the same bytes and is skipped, and every read
#: checks the bytes against the key; all four of the original's values are
#: accepted and behave as ``skip``.  Repositories accept ``read_through_write``
#: and ignore it: a chained repository never copies what it reads (promote does).
ORIGINAL_STORE_KEYS = {"read_through_write", "on_duplicate_key"}
ORIGINAL_REPO_KEYS = {"read_through_write"}
ON_DUPLICATE_KEY = ("skip", "overwrite", "check_collision", "raise")

REPO_ALIASES = {"sqlite": "sql", "postgres": "sql", "postgresql": "sql", "sqlalchemy": "sql"}


def flags(where: str, entry: Mapping[str, Any], delete_default: bool) -> dict[str, bool]:
    out = {}
    for flag in FLAGS:
        value = entry.get(flag, delete_default if flag == "delete" else True)
        if not isinstance(value, bool):
            raise ConfigError(f"'{where}.{flag}' must be true or false, got {value!r}")
        out[flag] = value
    return out


def trusted(where: str, entry: Mapping[str, Any], kind: str) -> bool:
    """An entry's ``trusted`` setting (default true): may its pickles be loaded?"""
    if kind == "chained" and "trusted" in entry:
        raise ConfigError(
            f"'{where}.trusted' is not a setting of a chained repo: its values are loaded "
            "from the member repo that holds them, so set trusted on each member in "
            f"'{where}.repos'"
        )
    value = entry.get("trusted", True)
    if not isinstance(value, bool):
        raise ConfigError(f"'{where}.trusted' must be true or false, got {value!r}")
    return value


def map_mode(where: str, entry: Mapping[str, Any]) -> str | None:
    """An entry's ``mmap_mode`` setting (default none): ``"r"`` or ``"c"`` maps npy values."""
    return check_map_mode(f"'{where}.mmap_mode'", entry.get("mmap_mode"), ConfigError)


def check_keys(where: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
    for key in entry:
        if key not in allowed and key not in FLAGS and key != "type":
            raise ConfigError(
                f"unknown key '{where}.{key}'; allowed keys: "
                f"{', '.join(sorted(allowed | set(FLAGS) | {'type'}))}"
            )


def entry_type(where: str, entry: Mapping[str, Any], known: Mapping[str, Any]) -> str:
    kind = entry.get("type")
    if kind is None:
        raise ConfigError(f"'{where}.type' is missing")
    kind = REPO_ALIASES.get(kind, kind) if known is REPO_KEYS else kind
    if kind not in known:
        raise ConfigError(
            f"'{where}.type' is {entry.get('type')!r}; known types: {', '.join(sorted(known))}"
        )
    return str(kind)


def original_keys(where: str, entry: Mapping[str, Any]) -> bool:
    """Check the original library's keys of an entry; its ``read_through_write`` flag."""
    flag = entry.get("read_through_write", True)
    if not isinstance(flag, bool):
        raise ConfigError(f"'{where}.read_through_write' must be true or false, got {flag!r}")
    duplicate = entry.get("on_duplicate_key", "skip")
    if duplicate not in ON_DUPLICATE_KEY:
        raise ConfigError(
            f"'{where}.on_duplicate_key' is {duplicate!r}; one of {', '.join(ON_DUPLICATE_KEY)}"
        )
    return flag


def build_blobstore(
    where: str, entry: Mapping[str, Any], built: Mapping[str, Blobstore]
) -> Blobstore:
    kind = entry_type(where, entry, BLOBSTORE_KEYS)
    check_keys(where, entry, BLOBSTORE_KEYS[kind] | ORIGINAL_STORE_KEYS)
    read_through = original_keys(where, entry)
    store = _build_store(where, kind, entry, built, read_through)
    store.accepts_read_through = read_through
    return store


def _build_store(
    where: str, kind: str, entry: Mapping[str, Any], built: Mapping[str, Blobstore], copies: bool
) -> Blobstore:
    if kind == "memory":
        return MemoryStore(**flags(where, entry, True))
    if kind == "disk":
        key = "cachedir" if "cachedir" in entry or "path" not in entry else "path"
        path = entry.get(key)
        if path is None:
            raise ConfigError(f"'{where}.cachedir' (the directory of the blobs) is missing")
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ConfigError(
                f"'{where}.{key}' must be a path (the directory of the blobs), got {path!r}"
            )
        return DiskStore(
            path,
            fsync=bool(entry.get("fsync", False)),
            mode=check_mode(f"{where}.mode", entry.get("mode")),
            **flags(where, entry, False),
        )
    if kind == "s3":
        return _build_s3_store(where, entry)
    if kind in ("fsspec", "sftp", "gs"):
        return _build_fsspec_store(where, kind, entry)
    names = entry.get("stores")
    if not isinstance(names, list) or not names:
        raise ConfigError(f"'{where}.stores' must be a non-empty list of blobstore names")
    stores = []
    for n in names:
        if isinstance(n, Mapping):
            stores.append(build_blobstore(f"{where}.stores", n, built))
        elif n not in built:
            raise ConfigError(f"'{where}.stores' names unknown blobstore {n!r}")
        else:
            stores.append(built[n])
    return ChainedStore(stores, read_through_write=copies, **flags(where, entry, False))


def _build_s3_store(where: str, entry: Mapping[str, Any]) -> Blobstore:
    s3_config = entry.get("s3_config")
    if s3_config is not None and not isinstance(s3_config, Mapping):
        raise ConfigError(f"'{where}.s3_config' must be a mapping of boto3 client options")
    if not entry.get("bucket") and not entry.get("basepath"):
        raise ConfigError(
            f"'{where}.bucket' (or '{where}.basepath: s3://bucket/prefix') is missing"
        )
    try:
        return S3Store(
            bucket=entry.get("bucket"),
            prefix=entry.get("prefix") or "",
            basepath=entry.get("basepath"),
            endpoint_url=entry.get("endpoint_url"),
            s3_config=s3_config,
            cachedir=entry.get("cachedir"),
            **flags(where, entry, False),
        )
    except ConfigError as exc:
        raise ConfigError(f"'{where}': {exc}") from None
    except MissingDependency as exc:
        raise MissingDependency(f"'{where}': {exc}") from exc


def _build_fsspec_store(where: str, kind: str, entry: Mapping[str, Any]) -> Blobstore:
    for key in ("cleanup_cachedir", "always_check_remote"):
        if not isinstance(entry.get(key, False), bool):
            raise ConfigError(f"'{where}.{key}' must be true or false, got {entry[key]!r}")
    # always_check_remote is moot: a store always asks the remote whether it
    # holds a blob (gc may have deleted one still in the local cache).
    url, options = _fsspec_args(where, kind, entry)
    try:
        return FsspecStore(
            url,
            options,
            cachedir=entry.get("cachedir"),
            cleanup_cachedir=entry.get("cleanup_cachedir", False),
            **flags(where, entry, False),
        )
    except ConfigError as exc:
        raise ConfigError(f"'{where}': {exc}") from None
    except MissingDependency as exc:
        raise MissingDependency(f"'{where}': {exc}") from exc


def _mapping(where: str, value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"'{where}' must be a mapping of {what}, got {value!r}")
    return dict(value)


def _fsspec_args(where: str, kind: str, entry: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL and storage options of an ``fsspec``, ``sftp`` or ``gs`` entry.

    ``sftp``: ``ssh_config`` (paramiko's ``SSHClient.connect`` options) names
    the server; ``sftp://<hostname><basepath>`` with the other options as
    storage options.  ``gs``: ``gs://<bucket>/<basepath>``, ``project`` a
    storage option of gcsfs.
    """
    if kind == "fsspec":
        url = entry.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(f"'{where}.url' (an fsspec URL such as sftp://host/path) is missing")
        options = _mapping(f"{where}.storage_options", entry.get("storage_options"), "options")
        return url, options
    basepath = entry.get("basepath", "")
    if not isinstance(basepath, str):
        raise ConfigError(f"'{where}.basepath' must be a path, got {basepath!r}")
    if kind == "gs":
        bucket = entry.get("bucket")
        if not isinstance(bucket, str) or not bucket:
            raise ConfigError(f"'{where}.bucket' (the GCS bucket) is missing")
        options = _mapping(f"{where}.storage_options", entry.get("storage_options"), "options")
        if entry.get("project") is not None:
            options["project"] = entry["project"]
        return f"gs://{bucket}/{basepath.strip('/')}".rstrip("/"), options
    ssh = _mapping(f"{where}.ssh_config", entry.get("ssh_config"), "SSH connection options")
    hostname = ssh.pop("hostname", None)
    if not isinstance(hostname, str) or not hostname:
        raise ConfigError(f"'{where}.ssh_config.hostname' (the SFTP server) is missing")
    if not basepath.startswith("/"):
        raise ConfigError(
            f"'{where}.basepath' must be an absolute path on the server, got {basepath!r}"
        )
    if "port" in ssh:
        try:
            ssh["port"] = int(ssh["port"])
        except (TypeError, ValueError):
            raise ConfigError(f"'{where}.ssh_config.port' must be a number") from None
    for key in ("known_hosts", "host_key_policy"):
        if key in entry:
            ssh[key] = entry[key]
    return f"sftp://{hostname}{basepath.rstrip('/') or '/'}", ssh


def sql_url(where: str, db: Any, kind: str) -> str:
    if not isinstance(db, str) or not db:
        raise ConfigError(f"'{where}.db' (an SQLAlchemy database URL) is missing")
    if "://" not in db:
        if kind in ("sqlite", "sql"):
            # A bare path is an SQLite file.
            return "sqlite:///" + os.path.abspath(os.path.expanduser(db))
        raise ConfigError(f"'{where}.db' must be an SQLAlchemy URL, got {db!r}")
    check_sql_driver(f"'{where}.db'", db)
    return db


def check_sql_driver(where: str, db: str) -> None:
    """Raise :class:`~provenance.MissingDependency` if the driver of a PostgreSQL URL is missing.

    Checked when the config is loaded (or a repository is made), so that a
    missing extra is an error that names it, not a ``ModuleNotFoundError``
    from deep inside SQLAlchemy.  A URL that names no driver
    (``postgresql://``) works with psycopg2 or psycopg 3, as the index
    engine chooses.  SQLite needs nothing; other databases are left to
    SQLAlchemy.
    """
    if not db.split("://", 1)[0].startswith("postgres"):
        return  # SQLite needs nothing, and other databases are SQLAlchemy's to report
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db)
    except ArgumentError:
        return  # the index reports a malformed URL
    if url.get_backend_name() != "postgresql":
        return
    feature = f"{where} ({url.render_as_string(hide_password=True)})"
    if url.drivername == "postgresql":
        if is_installed("psycopg2"):
            return
        module = "psycopg"
    else:
        module = url.get_driver_name()
    if module == "psycopg":
        require_installed("psycopg", "postgres", feature)
    elif not is_installed(module):
        raise MissingDependency(
            f"{feature} needs the '{module}' package: install it, or use a "
            "postgresql+psycopg:// URL with `pip install 'provenance[postgres]'`"
        )


# -- relative paths ------------------------------------------------------------------

#: The keys of a blobstore entry that hold local paths.
_STORE_PATHS = ("cachedir", "path", "known_hosts")


def _rebased(path: Any, base: str) -> Any:
    if not isinstance(path, str) or not path:
        return path  # not a path: the checks above report it
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def rebase_store(entry: Any, base: str) -> Any:
    """A blobstore entry with its relative local paths made absolute against ``base``.

    A config file's paths are relative to the file, and a dict's to the
    directory it was loaded in: resolving them when the config is loaded
    means a later ``os.chdir`` cannot move the repository.  An entry that is
    not a mapping is returned as it is, for the checks to report.
    """
    if not isinstance(entry, Mapping):
        return entry
    out = dict(entry)
    for key in _STORE_PATHS:
        if key in out:
            out[key] = _rebased(out[key], base)
    url = out.get("url")
    if entry.get("type") == "fsspec" and isinstance(url, str) and "://" not in url:
        out["url"] = _rebased(url, base)  # a bare local path
    if isinstance(out.get("stores"), list):
        out["stores"] = [rebase_store(s, base) for s in out["stores"]]
    return out


def rebase_repo(entry: Any, base: str) -> Any:
    """A repo entry with a relative SQLite path (and its inline store's paths) made absolute.

    ``db: index.db`` and ``db: sqlite:///index.db`` are relative;
    ``sqlite:////data/index.db`` and ``sqlite://`` (in memory) are not.
    """
    if not isinstance(entry, Mapping):
        return entry
    out = dict(entry)
    db = out.get("db")
    if isinstance(db, str) and db:
        if "://" not in db:
            out["db"] = _rebased(db, base)
        elif db.startswith("sqlite:///") and not db.startswith("sqlite:////"):
            path, sep, query = db[len("sqlite:///") :].partition("?")
            if path and path != ":memory:" and not path.startswith("file:"):
                out["db"] = "sqlite:///" + _rebased(path, base) + sep + query
    if isinstance(out.get("store"), Mapping):
        out["store"] = rebase_store(out["store"], base)
    return out
