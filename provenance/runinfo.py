"""What is recorded about the process that computed an artifact."""

from __future__ import annotations

import getpass
import os
import platform
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ._version import __version__
from .storage.validate import check_json
from .workspace import code_dir, git_state, module_packages

__all__ = ["artifact_run_info", "get_run_info", "set_run_info_fn"]

_STARTED_AT = datetime.now(timezone.utc)
_lock = threading.Lock()
_fn: Callable[[dict[str, Any]], Any] | None = None
_cached: tuple[int, dict[str, Any], Any] | None = None


#: Where Metaflow looks for the user (``metaflow.util.get_username``), in order;
#: ``root`` is skipped, as there.
METAFLOW_USER_VARS = ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER")


def _user() -> str:
    """Who runs this process: ``PROVENANCE_USER``, then Metaflow's chain, then the login.

    ``PROVENANCE_USER`` is taken as it is; then, as Metaflow does,
    ``METAFLOW_USER``, ``SUDO_USER``, ``USERNAME`` and ``USER``, skipping
    ``root`` (so a Metaflow user's environment gives the same namespace);
    then the login name (``root`` included), else ``unknown``.
    """
    if os.environ.get("PROVENANCE_USER"):
        return os.environ["PROVENANCE_USER"]
    for var in METAFLOW_USER_VARS:
        value = os.environ.get(var)
        if value and value != "root":
            return value
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return "unknown"


def _platform() -> str:
    """``platform.platform()`` without the processor, which it asks a ``uname -p`` process for.

    A process started and waited for costs more than a whole cache hit; the
    processor is blank on most systems anyway.
    """
    system, release, machine = platform.system(), platform.release(), platform.machine()
    parts = [system, release, machine]
    if system == "Linux":
        libc, version = platform.libc_ver()
        if libc:
            parts += ["with", libc + version]
    elif system == "Darwin":
        parts = ["macOS", platform.mac_ver()[0] or release, machine]
    return "-".join(p.replace(" ", "_") for p in parts if p)


def _default_run_info() -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "host": {
            "nodename": platform.node(),
            "platform": _platform(),
            "machine": platform.machine(),
            "system": platform.system(),
            "release": platform.release(),
            "cpu_count": os.cpu_count(),
        },
        "process": {
            "pid": os.getpid(),
            "cmdline": list(sys.argv),
            "cwd": os.getcwd(),
            "executable": sys.executable,
        },
        "user": _user(),
        "python_version": platform.python_version(),
        "provenance_version": __version__,
        "started_at": _STARTED_AT.isoformat(),
        # Read from the files under .git: no process is spawned (see workspace).
        "git": git_state(),
    }


def set_run_info_fn(fn: Callable[[dict[str, Any]], Any] | None) -> None:
    """Extend the run info recorded with each artifact.

    ``fn`` is called once per process with the default run-info dict; it may
    update the dict in place or return a new one (to add a git ref or a build
    id, say).  ``None`` removes the hook.
    """
    global _fn, _cached
    if fn is not None and not callable(fn):
        raise TypeError(f"set_run_info_fn expects a callable, got {fn!r}")
    with _lock:
        _fn = fn
        _cached = None


def artifact_run_info(module_name: str | None) -> dict[str, Any]:
    """The run info stored with an artifact computed by a function of ``module_name``.

    The process's (:func:`get_run_info`), with the git state read again as
    the value is stored (the commit may have moved in a long session),
    whether the work tree was dirty (``git status``: only here, never on a
    cache hit), and the installed packages the function's module imports,
    with their versions (:mod:`provenance.workspace`).  What a
    ``set_run_info_fn`` hook set under ``git`` or ``packages`` is kept.
    """
    info = get_run_info()
    extra: dict[str, Any] = {}
    if "git" not in info or info["git"] == _default_git():
        # The function's own work tree: its code may live outside the main script's.
        extra["git"] = git_state(code_dir(module_name), dirty=True)
    if "packages" not in info:
        extra["packages"] = module_packages(module_name)
    return {**info, **extra} if extra else info


def _default_git() -> Any:
    cached = _cached
    return None if cached is None else cached[2]


def get_run_info() -> dict[str, Any]:
    """The run info of this process (computed once; again after a fork)."""
    global _cached
    cached = _cached
    pid = os.getpid()
    if cached is not None and cached[0] == pid:
        return cached[1]
    with _lock:
        info = _default_run_info()
        default_git = info["git"]
        if _fn is not None:
            result = _fn(info)
            if result is not None:
                info = dict(result)
        # A JSON column of every artifact: refused here, before a call runs.
        check_json(info, "the run info (set_run_info_fn)")
        _cached = (pid, info, default_git)
        return info
