"""Configuration: building repos and blobstores from a dict or YAML, and process-wide settings.

The config format is the original library's::

    blobstores:
      local_disk: {type: disk, cachedir: /data/provenance/blobs, delete: true}
    artifact_repos:
      local: {type: sql, db: "sqlite:////data/provenance/index.db", store: local_disk}
    default_repo: local

Each blobstore and repo has a ``type`` and the flags ``read``, ``write``
and ``delete``, and a repo the setting ``trusted`` (default true: pickled
values and inputs may be loaded from it; false for a shared repo whose
writers you do not trust); an entry may name a ``prototype`` entry whose keys
it inherits.  A mistake raises :class:`~provenance.errors.ConfigError` naming
the offending key (``artifact_repos.local.store``).

Relative paths in a config file (``cachedir``, an SQLite ``db``...) are
relative to the file; in a dict, to the directory it is loaded in.

With no configuration loaded, the repository is found the way git finds
``.git`` (:mod:`provenance.storage.discovery`): ``$PROVENANCE_CONFIG``,
``$PROVENANCE_HOME``, else the nearest ``provenance.yaml`` or
``.provenance/`` in the current directory or above it, else a new SQLite
index and disk blobstore under ``./.provenance``.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, PermissionDenied, RepoNotFound

# The process-wide settings moved to their own module; these names stay
# importable from here, as before (the decorator reads ``_generation`` here).
from .settings import (
    CODE_IDENTITY_MODES,  # noqa: F401
    _check_code_identity,
    _generation,  # noqa: F401
    _set_code_identity,
    generation,  # noqa: F401
    get_check_mutations,
    get_code_identity,
    get_read_only,
    get_record_tasks,
    get_use_cache,
    new_generation,  # noqa: F401
    set_check_mutations,
    set_code_identity,
    set_read_only,
    set_record_tasks,
    set_use_cache,
    settings,
)
from .storage import discovery
from .storage.blobstores import Blobstore
from .storage.eviction import check_can_delete
from .storage.index import open_index
from .storage.repos import ChainedRepository, Repository, memory_repo, remember_repo
from .storage.specs import (
    ORIGINAL_REPO_KEYS,
    REPO_KEYS,
    build_blobstore,
    check_keys,
    entry_type,
    map_mode,
    original_keys,
    rebase_repo,
    rebase_store,
    sql_url,
    trusted,
)
from .storage.specs import flags as repo_flags
from .storage.stored_inputs import parse_size

__all__ = [
    "Config",
    "current_config",
    "default_config",
    "from_config",
    "get_check_mutations",
    "get_code_identity",
    "get_default_repo",
    "get_repo_by_name",
    "get_read_only",
    "get_record_tasks",
    "get_use_cache",
    "load_config",
    "load_located",
    "load_yaml_config",
    "set_check_mutations",
    "set_code_identity",
    "set_default_repo",
    "set_read_only",
    "set_record_tasks",
    "set_use_cache",
    "using_repo",
]


@dataclass
class Config:
    """The objects built from one configuration.

    Attributes
    ----------
    blobstores : dict
        Blobstores by name.
    repos : dict
        Repositories by name.
    default_repo : str or None
        The name of the default repo (None once ``set_default_repo(None)``).
    source : dict
        The configuration they were built from.
    file : str or None
        The YAML file it was read from, if any.
    reason : str or None
        Why this configuration is the one in use, when it was chosen without
        being loaded by the program (see :mod:`provenance.storage.discovery`).
    """

    blobstores: dict[str, Blobstore]
    repos: dict[str, Any]
    default_repo: str | None
    source: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    reason: str | None = None

    @classmethod
    def current(cls) -> Config:
        """The current configuration (the original's ``Config.current()``)."""
        return current_config()

    @classmethod
    def set_current(cls, config: Config) -> None:
        """Make ``config`` current (the original's ``Config.set_current``)."""
        if not isinstance(config, Config):
            raise TypeError(f"Config.set_current() takes a Config, got {type(config).__name__}")
        global _current
        for repo in config.repos.values():
            remember_repo(repo)
        with _lock:
            _current = config


# -- building -------------------------------------------------------------------


def _resolve_prototypes(section: str, items: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(items, Mapping):
        raise ConfigError(f"'{section}' must be a mapping of names to settings")

    def full(name: str, seen: tuple[str, ...]) -> dict[str, Any]:
        entry = items[name]
        if not isinstance(entry, Mapping):
            raise ConfigError(f"'{section}.{name}' must be a mapping of settings")
        entry = dict(entry)
        proto = entry.pop("prototype", None)
        if proto is None:
            return entry
        if proto not in items:
            raise ConfigError(f"'{section}.{name}.prototype' names unknown entry {proto!r}")
        if proto in seen:
            raise ConfigError(f"'{section}.{name}.prototype' forms a cycle: {seen + (proto,)}")
        return {**full(proto, seen + (proto,)), **entry}

    return {str(name): full(name, (name,)) for name in items}


def _build_repo(
    name: str,
    where: str,
    entry: Mapping[str, Any],
    stores: Mapping[str, Blobstore],
    built: Mapping[str, Any],
) -> Any:
    kind = entry_type(where, entry, REPO_KEYS)
    trust = trusted(where, entry, kind)  # first: a chain's 'trusted' gets its own message
    check_keys(where, entry, REPO_KEYS[kind] | ORIGINAL_REPO_KEYS)
    original_keys(where, entry)
    flags = repo_flags(where, entry, False)
    bound = parse_size(f"{where}.max_stored_input", entry.get("max_stored_input"))
    max_size = parse_size(f"{where}.max_size", entry.get("max_size"))
    maps = map_mode(where, entry)

    def store(required: bool) -> Blobstore | None:
        ref = entry.get("store")
        if ref is None:
            if required:
                raise ConfigError(f"'{where}.store' (the name of its blobstore) is missing")
            return None
        if isinstance(ref, Mapping):
            return build_blobstore(f"{where}.store", ref, stores)
        if ref not in stores:
            raise ConfigError(f"'{where}.store' names unknown blobstore {ref!r}")
        return stores[ref]

    if kind == "memory":
        repo = memory_repo(
            name, read=flags["read"], write=flags["write"], trusted=trust, mmap_mode=maps
        )
        explicit = store(False)
        if explicit is not None:
            repo.blobstore = explicit
        repo.max_stored_input, repo.max_size = bound, max_size
        return repo
    if kind == "sql":
        db = sql_url(where, entry.get("db"), str(entry["type"]))
        index = open_index(
            db,
            schema=entry.get("schema"),
            create_db=bool(entry.get("create_db", True)),
            create_schema=bool(entry.get("create_schema", True)),
            upgrade_db=bool(entry.get("upgrade_db", False)),
            engine_kwargs=entry.get("engine_kwargs"),
            read_only=not flags["write"],
        )
        blobstore = store(True)
        assert blobstore is not None
        repo = Repository(index, blobstore, name=name, trusted=trust, mmap_mode=maps, **flags)
        if max_size is not None:
            check_evictable(where, repo)
        repo.max_stored_input, repo.max_size = bound, max_size
        return repo
    names = entry.get("repos")
    if not isinstance(names, list) or not names:
        raise ConfigError(f"'{where}.repos' must be a non-empty list of repo names")
    members = []
    for n in names:
        if n not in built:
            raise ConfigError(f"'{where}.repos' names unknown or later-defined repo {n!r}")
        members.append(built[n])
    return ChainedRepository(members, name=name, **flags)


def check_evictable(where: str, repo: Repository) -> None:
    """A repo with ``max_size`` must be allowed to delete artifacts and blobs."""
    try:
        check_can_delete(repo, blobs=True)
    except PermissionDenied as exc:
        raise ConfigError(f"'{where}.max_size' needs a repo that can evict: {exc}") from None


def from_config(
    config: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Build the blobstores and repos a config describes, without making them current.

    Parameters
    ----------
    config : mapping
        The configuration.
    base_dir : path, optional
        What relative paths in it are relative to (default: the current
        directory).

    Returns
    -------
    dict
        ``{'blobstores': {name: Blobstore}, 'repos': {name: repo}}``.
    """
    if isinstance(config, (str, os.PathLike)):
        raise ConfigError(
            f"a config must be a mapping, got the path {os.fspath(config)!r}: "
            "to load a YAML file, call load_yaml_config(path)"
        )
    if not isinstance(config, Mapping):
        raise ConfigError(f"a config must be a mapping, got {type(config).__name__}")
    allowed = {
        "blobstores", "artifact_repos", "default_repo", "silence_warnings", "code_identity",
        "record_tasks",
    }  # fmt: skip
    for key in config:
        if key not in allowed:
            raise ConfigError(f"unknown top-level config key {key!r}; allowed: {sorted(allowed)}")
    if "code_identity" in config:
        _check_code_identity(config["code_identity"], "'code_identity'")
    if not isinstance(config.get("record_tasks", True), bool):
        raise ConfigError(f"'record_tasks' must be true or false, got {config['record_tasks']!r}")
    base = os.path.abspath(base_dir) if base_dir is not None else os.getcwd()
    store_entries = {
        name: rebase_store(entry, base)
        for name, entry in _resolve_prototypes("blobstores", config.get("blobstores") or {}).items()
    }
    repo_entries = {
        name: rebase_repo(entry, base)
        for name, entry in _resolve_prototypes(
            "artifact_repos", config.get("artifact_repos") or {}
        ).items()
    }

    stores: dict[str, Blobstore] = {}
    # Chained stores refer to others by name: build plain ones first.
    for name, entry in sorted(store_entries.items(), key=lambda kv: kv[1].get("type") == "chained"):
        stores[name] = build_blobstore(f"blobstores.{name}", entry, stores)

    repos: dict[str, Any] = {}
    for name, entry in sorted(repo_entries.items(), key=lambda kv: kv[1].get("type") == "chained"):
        repos[name] = _build_repo(name, f"artifact_repos.{name}", entry, stores, repos)
    return {"blobstores": stores, "repos": repos}


# -- the process-wide state -----------------------------------------------------------

_lock = threading.RLock()
_current: Config | None = None
_default_override: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "provenance_repo", default=None
)


_active_overrides: dict[int, Any] = {}


def provenance_home() -> str:
    """Where the default repo and the local state live: the ``.provenance`` directory.

    ``$PROVENANCE_HOME``, else the nearest ``.provenance/`` (or the one beside
    the nearest ``provenance.yaml``) in the current directory or above it,
    else ``./.provenance`` (see :mod:`provenance.storage.discovery`).
    """
    return discovery.locate().home


def default_config(home: str | None = None) -> dict[str, Any]:
    """The configuration used when none is loaded."""
    home = os.path.abspath(home or provenance_home())
    return {
        "blobstores": {
            "default": {"type": "disk", "cachedir": os.path.join(home, "blobs"), "delete": True}
        },
        "artifact_repos": {
            "default": {
                "type": "sql",
                "db": "sqlite:///" + os.path.join(home, "provenance.db"),
                "store": "default",
                "delete": True,
            }
        },
        "default_repo": "default",
    }


def load_config(
    config: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
) -> Config:
    """Build the repos of ``config`` and make it the current configuration.

    Parameters
    ----------
    config : mapping
        The configuration (see the module's docstring).
    base_dir : path, optional
        What relative paths in it are relative to (default: the current
        directory); :func:`load_yaml_config` passes the file's directory.

    Raises
    ------
    ConfigError
        If the config is malformed; the message names the key.
    """
    return _load(config, base_dir, None, None)


def _load(
    config: Mapping[str, Any],
    base_dir: str | os.PathLike[str] | None,
    file: str | None,
    reason: str | None,
) -> Config:
    objs = from_config(config, base_dir=base_dir)
    default = config.get("default_repo")
    if default is None and len(objs["repos"]) == 1:
        default = next(iter(objs["repos"]))
    if default is None:
        raise ConfigError("'default_repo' is missing (the name of the repo to use by default)")
    if default not in objs["repos"]:
        raise ConfigError(f"'default_repo' names unknown repo {default!r}")
    cfg = Config(
        objs["blobstores"], objs["repos"], str(default), copy.deepcopy(dict(config)), file, reason
    )
    if "code_identity" in config:
        _set_code_identity(config["code_identity"])
    if "record_tasks" in config:
        settings.record_tasks = config["record_tasks"]
    for repo in cfg.repos.values():
        remember_repo(repo)
    global _current
    with _lock:
        _current = cfg
    return cfg


def load_yaml_config(filename: str | os.PathLike[str]) -> Config:
    """Load a YAML config file (parsed with ``yaml.safe_load``) and make it current.

    Relative paths in it are relative to the file's directory.

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or a malformed config (the message
        names the file and the key).
    """
    return _load_file(os.fspath(filename), None)


def _load_file(filename: str, reason: str | None) -> Config:
    import yaml

    path = os.path.abspath(filename)
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {filename} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {filename} is a directory, not a YAML file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename} is not valid YAML: {exc}") from None
    if not isinstance(config, Mapping):
        raise ConfigError(f"{filename} must hold a mapping at the top level")
    try:
        return _load(config, os.path.dirname(path), path, reason)
    except ConfigError as exc:
        if type(exc) is not ConfigError or filename in str(exc):
            raise
        raise ConfigError(f"{filename}: {exc}") from None


def load_located(location: discovery.Location) -> Config:
    """Load the configuration a :class:`~provenance.storage.discovery.Location` names."""
    if location.config_file is not None:
        return _load_file(location.config_file, location.reason)
    home = location.home
    return _load(default_config(home), home, None, location.reason)


def current_config() -> Config:
    """The current configuration, building the default one on first use."""
    global _current
    cfg = _current
    if cfg is not None:
        return cfg
    with _lock:
        if _current is None:
            load_located(discovery.locate())
        assert _current is not None
        return _current


def get_repo_by_name(repo_name: str) -> Any:
    """The configured repo called ``repo_name``.

    Raises
    ------
    RepoNotFound
        If no repo of that name is configured (also a ``KeyError``).
    """
    repos = current_config().repos
    try:
        return repos[repo_name]
    except KeyError:
        raise RepoNotFound(
            f"no repo named {repo_name!r} is configured; configured repos: "
            f"{', '.join(sorted(repos)) or '(none)'}"
        ) from None


def resolve_repo(repo_or_name: Any = None) -> Any:
    """A repo from a repo object, a configured repo name, or ``None`` (the default repo).

    Raises
    ------
    RepoNotFound
        For ``None`` when there is no default repo (``set_default_repo(None)``).
    """
    if repo_or_name is None:
        repo = get_default_repo()
        if repo is None:
            raise RepoNotFound(
                "there is no default repo (set_default_repo(None) cleared it): pass repo=... "
                "or call provenance.set_default_repo() with a repo or a configured repo name"
            )
        return repo
    if isinstance(repo_or_name, str):
        return get_repo_by_name(repo_or_name)
    if not hasattr(repo_or_name, "lookup"):
        raise TypeError(f"expected a repo or a configured repo name, got {repo_or_name!r}")
    return repo_or_name


def _coerce_repo(repo_or_name: Any) -> Any:
    if repo_or_name is None:
        raise TypeError("expected a repo or a configured repo name, got None")
    return resolve_repo(repo_or_name)


def set_default_repo(repo_or_name: Any) -> None:
    """Make a repo (or a configured repo name) the process-wide default.

    ``None`` clears it, as in the original library: :func:`get_default_repo`
    then returns ``None``, and a decorated function that names no repo
    raises :class:`~provenance.RepoNotFound` before it runs.
    """
    if repo_or_name is None:
        with _lock:
            current_config().default_repo = None
        return
    repo = _coerce_repo(repo_or_name)
    cfg = current_config()
    with _lock:
        name = repo.name if repo.name in cfg.repos and cfg.repos[repo.name] is repo else None
        if name is None:
            name = repo.name or f"repo-{id(repo):x}"
            cfg.repos[name] = repo
            remember_repo(repo)
        cfg.default_repo = name


def get_default_repo() -> Any:
    """The repo used when a decorated function names none.

    Inside :func:`using_repo`, the repo it set; otherwise the current
    config's default repo.
    """
    repo = _default_override.get()
    if repo is not None:
        return repo
    cfg = current_config()
    return None if cfg.default_repo is None else cfg.repos[cfg.default_repo]


@contextlib.contextmanager
def using_repo(repo_or_name: Any) -> Iterator[Any]:
    """Use another default repo inside a ``with`` block.

    The change is local to the current thread (and asyncio task): other
    threads keep their default.
    """
    repo = _coerce_repo(repo_or_name)
    token = _default_override.set(repo)
    key = object()
    with _lock:
        _active_overrides[id(key)] = repo
    try:
        yield repo
    finally:
        with _lock:
            _active_overrides.pop(id(key), None)
        _default_override.reset(token)


def repo_for_workers() -> Any:
    """The repo a decorated function sent to another process should use.

    The current thread's repo, as :func:`get_default_repo` gives it.  In a
    thread with no :func:`using_repo` of its own (the thread in which
    ``joblib`` or ``dask`` pickle tasks, say) a single :func:`using_repo`
    active elsewhere in the process wins, so that
    ``with using_repo(r): Parallel()(...)`` sends ``r`` to the workers.
    """
    repo = _default_override.get()
    if repo is not None:
        return repo
    with _lock:
        active = {id(r): r for r in _active_overrides.values()}
    if len(active) == 1:
        return next(iter(active.values()))
    return get_default_repo()


def indexes_sharing(store: Any) -> list[Any]:
    """The index of every configured repo whose values are kept in ``store``.

    A blob that any of them refers to is not garbage: ``gc`` and deletions
    keep it.
    """
    indexes: dict[int, Any] = {}
    for configured in current_config().repos.values():
        for other in getattr(configured, "repos", [configured]):
            if _same_store(other.blobstore, store):
                indexes.setdefault(id(other.index), other.index)
    return list(indexes.values())


def _same_store(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a.spec() == b.spec())
    except TypeError:  # a store that lives in this process only
        return False
