"""Start-up: whole fresh processes, from the shell's point of view, against joblib and diskcache.

Every figure is the wall time of one whole process (``subprocess`` timed
with ``time.perf_counter``: interpreter start, imports, work, exit), the
median over rounds in which every side runs once, in turn.  The processes
import this tree's ``provenance`` (it is put first on ``PYTHONPATH``).

Rows (time limits from issue 16, target 2):

* ``startup_help``: ``provenance --help`` (the console script), at most
  150 ms; beside ``python -c pass`` (the interpreter alone) and
  ``python -m provenance --help``.
* ``startup_import``: ``python -c "import provenance"``, at most 100 ms;
  beside ``import joblib`` and ``import diskcache``.
* ``startup_first_hit``: import, load the default config (an SQLite index
  and a disk blobstore) and the first hit of a cached function, at most
  120 ms; beside ``joblib.Memory`` and ``diskcache.Cache.memoize`` doing
  the same (import, open the cache, first hit).
* ``startup_ls``: ``provenance ls`` on a repo of 1,000 artifacts, at most
  200 ms; beside a script that reads the same rows with :mod:`sqlite3`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from _harness import (
    BENCH_DIR,
    REPO_ROOT,
    Context,
    Figure,
    Row,
    alternate,
    benchmark,
    limit_row,
    median,
    na_row,
)

_WORKER = os.path.join(BENCH_DIR, "_startup_worker.py")
_MS = 1e3
_UNIT = "ms/process"
#: ``provenance ls`` is timed on a repo of this many artifacts.
LS_ARTIFACTS = 1000


def _env(**extra: str) -> dict[str, str]:
    """The environment of the measured processes: this tree first on the path, no user config."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROVENANCE_CONFIG", "PROVENANCE_HOME")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _console_script() -> list[str]:
    """How to run ``provenance``: the console script installed beside this interpreter.

    Not the first ``provenance`` on ``PATH``, which may be a shim (pyenv's is
    a shell script that execs another program) whose own start-up is not
    provenance's.  ``python -m provenance`` if the script is not installed.
    """
    beside = os.path.join(os.path.dirname(sys.executable), "provenance")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return [beside]
    return [sys.executable, "-m", "provenance"]


def _process(cmd: Sequence[str], cwd: str, env: dict[str, str]) -> Callable[[], float]:
    """A side of :func:`alternate`: run ``cmd`` once, return its wall time in ms."""

    def run() -> float:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        elapsed = (time.perf_counter() - t0) * _MS
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}: {tail}")
        return elapsed

    return run


def _measure(ctx: Context, sides: dict[str, Callable[[], float]]) -> dict[str, Figure]:
    """Alternate fresh processes of every side; one discarded warm-up round."""
    # Several runs each: a process start is short and noisy.
    rounds = ctx.pick(max(11, ctx.rounds), ctx.rounds)
    samples = alternate(rounds, sides, warmup=1)
    return {name: Figure(median(s), _UNIT, s) for name, s in samples.items()}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _info(benchmark_name: str, peer: str, ours: Figure, theirs: Figure, notes: str) -> Row:
    """A row beside a peer with no target: the ratio is printed for information."""
    return Row(benchmark_name, peer, ours, theirs, None, "info", notes)


@benchmark("startup")
def startup(ctx: Context) -> list[Row]:
    """Whole fresh processes: --help, import, first hit, ls on 1,000 artifacts (ms/process)."""
    work = tempfile.mkdtemp(prefix="startup-", dir=ctx.tmpdir)
    env = _env()
    py = sys.executable
    floor_side = _process([py, "-c", "pass"], work, env)
    rows: list[Row] = []

    # -- provenance --help -------------------------------------------------------
    script = _console_script()
    sides = {
        "help": _process([*script, "--help"], work, env),
        "-m": _process([py, "-m", "provenance", "--help"], work, env),
        "pass": floor_side,
    }
    got = _measure(ctx, sides)
    help_fig, floor = got["help"], got["pass"]
    how = "console script" if len(script) == 1 else "python -m provenance (no console script)"
    rows.append(limit_row("startup_help", help_fig, 150.0, "<= 150 ms",
                          f"`provenance --help` ({how}); the interpreter alone takes "
                          f"{floor.value:.0f} ms"))  # fmt: skip
    rows.append(_info("startup_help", "python -c pass", help_fig, floor,
                      f"provenance's share above the bare interpreter: "
                      f"{help_fig.value - floor.value:.0f} ms"))  # fmt: skip
    rows.append(_info("startup_help", "python -m provenance", help_fig, got["-m"],
                      "`python -m provenance --help`: the same parser through "
                      "provenance/__main__.py"))  # fmt: skip

    # -- import provenance ---------------------------------------------------------
    peers = [p for p in ("joblib", "diskcache") if _installed(p)]
    sides = {"provenance": _process([py, "-c", "import provenance"], work, env)}
    sides |= {p: _process([py, "-c", f"import {p}"], work, env) for p in peers}
    got = _measure(ctx, {**sides, "pass": floor_side})
    ours, floor = got["provenance"], got["pass"]
    rows.append(limit_row("startup_import", ours, 100.0, "<= 100 ms",
                          f'`python -c "import provenance"`; `python -c pass` '
                          f"takes {floor.value:.0f} ms"))  # fmt: skip
    for peer in ("joblib", "diskcache"):
        if peer not in got:
            rows.append(na_row("startup_import", f"import {peer}", ours, None, "info",
                               f"{peer} is not installed"))  # fmt: skip
            continue
        rows.append(_info("startup_import", f"import {peer}", ours, got[peer],
                          f"above `python -c pass`: {ours.value - floor.value:.0f} ms vs "
                          f"{got[peer].value - floor.value:.0f} ms"))  # fmt: skip

    # -- import + config + first hit -------------------------------------------------
    rows += _first_hit(ctx, work, env, floor)

    # -- provenance ls on 1,000 artifacts ---------------------------------------------
    rows += _ls(ctx, work, script, floor)
    shutil.rmtree(work, ignore_errors=True)
    return rows


def _first_hit(ctx: Context, work: str, env: dict[str, str], floor: Figure) -> list[Row]:
    libs = ["provenance", *(p for p in ("joblib", "diskcache") if _installed(p))]
    root = os.path.join(work, "hit")
    for lib in libs:  # the one miss that the hits then find
        _process([sys.executable, _WORKER, lib, root, "populate"], work, env)()
    sides = {lib: _process([sys.executable, _WORKER, lib, root, "hit"], work, env) for lib in libs}
    got = _measure(ctx, sides)
    ours = got["provenance"]
    label = {"joblib": "joblib.Memory", "diskcache": "diskcache memoize"}
    rows = [
        limit_row("startup_first_hit", ours, 120.0, "<= 120 ms",
                  "fresh process: import, load_config(default_config(ROOT)) (SQLite index + "
                  f"disk blobstore), first hit of a cached small call; `python -c pass` "
                  f"takes {floor.value:.0f} ms")
    ]  # fmt: skip
    for peer in ("joblib", "diskcache"):
        if peer not in got:
            rows.append(na_row("startup_first_hit", label[peer], ours, None, "info",
                               f"{peer} is not installed"))  # fmt: skip
            continue
        rows.append(_info("startup_first_hit", label[peer], ours, got[peer],
                          "the same in a fresh process: import, open the cache, first hit of "
                          f"the same cached call; above `python -c pass`: "
                          f"{ours.value - floor.value:.0f} ms vs "
                          f"{got[peer].value - floor.value:.0f} ms"))  # fmt: skip
    return rows


def _ls(ctx: Context, work: str, script: list[str], floor: Figure) -> list[Row]:
    root = os.path.join(work, "ls")
    fill_env = _env()
    t0 = time.perf_counter()
    _process([sys.executable, _WORKER, "provenance", root, "fill", str(LS_ARTIFACTS)],
             work, fill_env)()  # fmt: skip
    ctx.log(f"  {LS_ARTIFACTS:,} artifacts stored in {time.perf_counter() - t0:.1f} s")
    home = os.path.join(root, "provenance")
    env = _env(PROVENANCE_HOME=home)
    got = _measure(ctx, {
        "ls": _process([*script, "ls"], work, env),
        "sqlite3": _process([sys.executable, _WORKER, "sqlite-ls",
                             os.path.join(home, "provenance.db")], work, env),
    })  # fmt: skip
    ours = got["ls"]
    return [
        limit_row("startup_ls", ours, 200.0, "<= 200 ms",
                  f"`provenance ls` (the newest 50 of {LS_ARTIFACTS:,} artifacts, default "
                  f"SQLite repo); `python -c pass` takes {floor.value:.0f} ms"),
        _info("startup_ls", "raw sqlite3 script", ours, got["sqlite3"],
              "a fresh `python` that reads the same 51 rows with sqlite3 and prints the table; "
              f"above `python -c pass`: {ours.value - floor.value:.0f} ms vs "
              f"{got['sqlite3'].value - floor.value:.0f} ms"),
    ]  # fmt: skip
