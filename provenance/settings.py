"""Process-wide settings: how decorated calls behave, whatever repository they use.

Each has a ``set_``/``get_`` pair, re-exported by :mod:`provenance.config` and
by ``provenance`` (``provenance.set_use_cache``...), and some are also config
keys (``code_identity``, ``record_tasks``).  The code generation lives here
too, since changing the code identity mode bumps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = [
    "CODE_IDENTITY_MODES",
    "generation",
    "get_check_mutations",
    "get_code_identity",
    "get_read_only",
    "get_record_tasks",
    "get_use_cache",
    "new_generation",
    "set_check_mutations",
    "set_code_identity",
    "set_read_only",
    "set_record_tasks",
    "set_use_cache",
    "settings",
]

#: What ``code_identity`` may be set to (config key and :func:`set_code_identity`).
CODE_IDENTITY_MODES = ("auto", "always", "never")


def _check_code_identity(mode: Any, where: str) -> str:
    if mode not in CODE_IDENTITY_MODES:
        raise ConfigError(
            f"{where} must be one of {', '.join(map(repr, CODE_IDENTITY_MODES))}, got {mode!r}"
        )
    return str(mode)


@dataclass
class _Settings:
    #: None: impure functions raise, changed proxies warn; True: both raise; False: proxies warn.
    check_mutations: bool | None = None
    code_identity: str = "auto"
    use_cache: bool = True
    read_only: bool = False
    record_tasks: bool = True
    run_info_fn: Callable[[dict[str, Any]], Any] | None = None


settings = _Settings()

#: The code generation: bumped after each cell of an IPython session or
#: notebook (redefined helpers and %autoreload are then seen by the next
#: call) and when the code identity mode changes.  Settings own it so that
#: the settings can bump it; the fingerprints read it.
_generation = [0]


def generation() -> int:
    """A counter that changes whenever ids must be made again.

    After a notebook cell ran (code may have been redefined) or
    ``set_code_identity`` was called.
    """
    return _generation[0]


def new_generation() -> None:
    """Make decorated functions make their code fingerprints and id prefixes again."""
    _generation[0] += 1


def set_check_mutations(setting: bool | None) -> None:
    """How strictly decorated calls guard against values changed in place.

    Parameters
    ----------
    setting : bool or None
        ``None`` or ``False`` (the default, and the original library's
        default): an artifact proxy whose value was changed since it was
        made is hashed as the new value it holds, with a
        :class:`~provenance.MutatedArtifactValueWarning`.  ``True``: such a
        proxy raises :class:`~provenance.MutatedArtifactValueError` instead.
        Whatever the setting, a function that changes an argument in place
        raises :class:`~provenance.ImpureFunctionError` (checked after each
        computed call), as in the original library.
    """
    settings.check_mutations = None if setting is None else bool(setting)


def get_check_mutations() -> bool | None:
    """See :func:`set_check_mutations`."""
    return settings.check_mutations


def set_code_identity(mode: str) -> None:
    """Whether a function's code fingerprint is part of its artifact ids.

    Parameters
    ----------
    mode : {'auto', 'always', 'never'}
        ``'auto'`` (the default): the fingerprint is part of the id of
        functions decorated without ``version=``; with a version, the version
        alone identifies the code and a hit made by other code warns once.
        ``'always'``: the fingerprint is part of every id, version or not.
        ``'never'``: only the version identifies the code, without warnings
        (the original library's behaviour).  Also the config key ``code_identity``.
    """
    _set_code_identity(_check_code_identity(mode, "set_code_identity(mode)"))


def _set_code_identity(mode: str) -> None:
    settings.code_identity = mode
    new_generation()  # ids made before are made again


def get_code_identity() -> str:
    """See :func:`set_code_identity`."""
    return settings.code_identity


def set_use_cache(setting: bool) -> None:
    """Process-wide default of the decorator's ``use_cache``."""
    settings.use_cache = bool(setting)


def get_use_cache() -> bool:
    """See :func:`set_use_cache`."""
    return settings.use_cache


def set_read_only(setting: bool) -> None:
    """Process-wide default of the decorator's ``read_only``.

    With True, decorated functions use the results already stored but store
    nothing: a miss runs the function and returns its value, unstored, and
    no task is recorded.  As in the original library, it is for consuming a
    repository made elsewhere.
    """
    if not isinstance(setting, bool):
        raise TypeError(f"set_read_only() takes True or False, got {setting!r}")
    settings.read_only = setting


def get_read_only() -> bool:
    """See :func:`set_read_only`."""
    return settings.read_only


def set_record_tasks(setting: bool) -> None:
    """Whether decorated calls are recorded as tasks of a run (default True).

    Recording costs a cache hit well under a microsecond (repeated hits of
    one artifact in a run are counted in one task row), but a loop of
    millions of hits that nobody will look up in the client view can turn
    it off, process-wide.  Artifacts and their lineage are stored either
    way; only the run's task rows are left out.  Also the config key
    ``record_tasks``.
    """
    if not isinstance(setting, bool):
        raise TypeError(f"set_record_tasks() takes True or False, got {setting!r}")
    settings.record_tasks = setting


def get_record_tasks() -> bool:
    """See :func:`set_record_tasks`."""
    return settings.record_tasks
