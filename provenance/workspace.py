"""What the code that computed an artifact was: its git commit, and the packages its module imports.

Both go into the run info of each stored artifact
(:func:`provenance.runinfo.artifact_run_info`):

* ``git``: ``{"root", "commit", "branch", "dirty"}`` of the git work tree
  holding the main script (or the current directory, in a notebook or a
  session).  The commit and branch are read from the files under ``.git``
  (``HEAD``, the ref, ``packed-refs``; a linked work tree's ``gitdir:``
  file), which costs a few small reads and no process.  Whether tracked
  files differ from the commit needs ``git status``: it is asked only when an
  artifact is stored (a cache hit never spawns a process), at most once per
  :data:`DIRTY_TTL` seconds per work tree (so a loop of misses in a big
  repository does not wait on it each time: the answer may be that old),
  and with a timeout; ``dirty`` is ``None`` when it cannot be told (no
  ``git`` program, a timeout, an error).
* ``packages``: the top-level installed packages that the function's module
  has imported (its globals that are modules, or that come from one), with
  their versions: what a reader needs to rebuild the environment.  The
  fingerprint records the packages the code *reached*
  (:mod:`provenance.fingerprint`); this is the wider list of the module's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import types
from typing import Any

from .codebase import is_user_module, library_name, package_version

__all__ = ["DIRTY_TTL", "code_dir", "git_state", "module_packages"]

#: How long (seconds) an answer of ``git status`` is reused for the same work tree.
DIRTY_TTL = 30.0
#: How long ``git status`` may take before ``dirty`` is recorded as unknown.
DIRTY_TIMEOUT = 1.0

_lock = threading.Lock()
_dirty: dict[tuple[int, str], tuple[float, bool | None]] = {}


def _work_tree(start: str) -> tuple[str, str] | None:
    """``(work tree, git directory)`` of the repository holding ``start``, if any."""
    directory = os.path.abspath(start)
    while True:
        dot_git = os.path.join(directory, ".git")
        if os.path.isdir(dot_git):
            return directory, dot_git
        if os.path.isfile(dot_git):  # a linked work tree or a submodule: "gitdir: <path>"
            try:
                with open(dot_git, encoding="utf-8") as f:
                    text = f.read().strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                target = text[len("gitdir:") :].strip()
                return directory, os.path.normpath(os.path.join(directory, target))
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return None


def _common_dir(git_dir: str) -> str:
    # A linked work tree keeps its HEAD but shares refs with the main repository.
    common = _read(os.path.join(git_dir, "commondir"))
    return os.path.normpath(os.path.join(git_dir, common)) if common else git_dir


def _resolve(git_dir: str, ref: str) -> str | None:
    for base in dict.fromkeys((git_dir, _common_dir(git_dir))):
        found = _read(os.path.join(base, ref))
        if found:
            return found
        packed = _read(os.path.join(base, "packed-refs"))
        for line in (packed or "").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    return None  # a branch with no commit yet


def _installed(path: str) -> bool:
    """Whether ``path`` lies in an installed package or the interpreter (not the user's code)."""
    roots = {sys.prefix, sys.base_prefix, *(p for p in sys.path if "-packages" in p)}
    return any(path.startswith(os.path.join(os.path.abspath(r), "")) for r in roots if r)


def _start_dir() -> str:
    # The main script's directory, unless the main script is a tool's
    # (pytest, ipython, jupyter): then the directory it was run in.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if isinstance(path, str) and not _installed(os.path.abspath(path)):
        return os.path.dirname(os.path.abspath(path))
    return os.getcwd()


def code_dir(module_name: str | None) -> str:
    """The directory of the module's file: the work tree whose commit made its code.

    Falls back to :func:`_start_dir` for a module with no file (a notebook's
    ``__main__``) or one that is installed.
    """
    path = getattr(sys.modules.get(module_name or ""), "__file__", None)
    if isinstance(path, str) and not _installed(os.path.abspath(path)):
        return os.path.dirname(os.path.abspath(path))
    return _start_dir()


def git_state(start: str | None = None, *, dirty: bool = False) -> dict[str, Any] | None:
    """The git commit (and branch) of the work tree holding ``start``; ``None`` outside one.

    Parameters
    ----------
    start : str, optional
        A directory (default: the main script's, else the current one).
    dirty : bool, default False
        Also ask ``git status`` whether tracked files changed (see the
        module's docstring); otherwise nothing is spawned.
    """
    found = _work_tree(start or _start_dir())
    if found is None:
        return None
    root, git_dir = found
    head = _read(os.path.join(git_dir, "HEAD"))
    if head is None:
        return None
    branch = None
    if head.startswith("ref:"):
        ref = head[len("ref:") :].strip()
        branch = ref.removeprefix("refs/heads/")
        commit = _resolve(git_dir, ref)
    else:
        commit = head  # a detached HEAD
    state: dict[str, Any] = {"root": root, "commit": commit, "branch": branch}
    if dirty:
        state["dirty"] = _is_dirty(root)
    return state


def _is_dirty(root: str) -> bool | None:
    key = (os.getpid(), root)
    now = time.monotonic()
    with _lock:
        cached = _dirty.get(key)
    if cached is not None and now - cached[0] < DIRTY_TTL:
        return cached[1]
    answer: bool | None = None
    program = shutil.which("git")
    if program is not None:
        try:
            done = subprocess.run(
                [program, "-C", root, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=DIRTY_TIMEOUT,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # a reader takes no lock
            )  # fmt: skip
            if done.returncode == 0:
                answer = bool(done.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            answer = None
    with _lock:
        _dirty[key] = (now, answer)
    return answer


def module_packages(module_name: str | None) -> dict[str, str]:
    """The installed top-level packages ``module_name`` has imported, with their versions.

    Read from the module's globals (modules, and the module of each function
    or class imported by name); the standard library, this library and the
    user's own modules are left out.  Unknown versions are ``"unknown"``.
    """
    module = sys.modules.get(module_name or "")
    if module is None:
        return {}
    tops: set[str] = set()
    for value in list(vars(module).values()):
        name: Any = None
        if isinstance(value, types.ModuleType):
            name = value.__name__
        elif callable(value):
            name = getattr(value, "__module__", None)
        if not isinstance(name, str) or not name:
            continue
        top = name.partition(".")[0]
        if top in tops or top.startswith("_") or library_name(top):
            continue
        if is_user_module(top):
            continue
        tops.add(top)
    return {top: package_version(top) or "unknown" for top in sorted(tops)}
