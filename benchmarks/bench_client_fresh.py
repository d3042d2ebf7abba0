"""Client reads in a fresh process against Metaflow's client, each on its own 200 runs.

Issue 16, target 3: ``Run('F/3').data.x`` and ``Flow('F').latest_run`` in a
new Python process, on a flow of 200 runs, at least as fast as Metaflow's
client reading the same flow run by Metaflow itself.

Setup, once per invocation, in a temporary directory that both libraries use
as a user's working directory (``.provenance`` and ``.metaflow`` in it):

* Metaflow runs ``_metaflow_art_flow.py`` (the artifacts tutorial's shape:
  ``start`` sets ``x``, ``middle`` updates it, ``end``) 200 times with its
  local datastore and metadata, two runs at a time; the run started with
  ``--n 3`` is the one read.
* provenance records 200 runs of the same three steps (``_client_worker.py
  fill``: ``with provenance.run("F"):`` around three decorated functions).

Both sides read in their default namespace, ``user:bench`` (``USER=bench``
when recording and reading), so they read the same logical thing: the third
run's ``x`` (``[3, 4, 6]``), and the latest run.  Every figure is the wall
time of one whole process (``subprocess.run`` timed with
``time.perf_counter``), the median over rounds in which every side runs
once, in turn, after one discarded warm-up round.  ``--quick`` uses 3 runs
(the fewest that hold ``F/3``), to stay well within CI's minute.
Without Metaflow installed, the rows are n/a and provenance is still timed.
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
from concurrent.futures import ThreadPoolExecutor

from _harness import (
    BENCH_DIR,
    REPO_ROOT,
    Context,
    Figure,
    Row,
    alternate,
    benchmark,
    median,
    na_row,
)

_WORKER = os.path.join(BENCH_DIR, "_client_worker.py")
_FLOW = os.path.join(BENCH_DIR, "_metaflow_art_flow.py")
_MS = 1e3
_UNIT = "ms/process"
_TARGET = ">= 1x (no slower)"
#: The run both sides read: its x is [3, 4, 6].
_READ_N = 3


def _env() -> dict[str, str]:
    """Both libraries' environment: this tree first on the path, one user, local stores."""
    drop = ("PROVENANCE_CONFIG", "PROVENANCE_HOME", "PROVENANCE_USER", "METAFLOW_USER",
            "SUDO_USER", "USERNAME", "METAFLOW_HOME", "METAFLOW_PROFILE")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("METAFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env["USER"] = "bench"
    env["METAFLOW_DEFAULT_DATASTORE"] = "local"
    env["METAFLOW_DEFAULT_METADATA"] = "local"
    return env


def _run(cmd: Sequence[str], cwd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}: {tail}")
    return done


def _metaflow_runs(ctx: Context, work: str, env: dict[str, str], runs: int) -> dict[int, str]:
    """Have Metaflow run the flow ``runs`` times (two at a time); ``{n: run id}``."""
    ids_dir = os.path.join(work, "metaflow-ids")
    os.makedirs(ids_dir, exist_ok=True)

    def one(n: int) -> tuple[int, str]:
        id_file = os.path.join(ids_dir, f"{n}.txt")
        _run([sys.executable, _FLOW, "--quiet", "--no-pylint", "run", "--n", str(n),
              "--run-id-file", id_file], work, env)  # fmt: skip
        if n % 50 == 0:
            ctx.log(f"  metaflow: run {n} of {runs} done")
        with open(id_file, encoding="utf-8") as f:
            return n, f.read().strip()

    # The first run alone: two first runs race to create ``.metaflow`` (and one
    # fails with FileExistsError).  Then in order of n, two at a time, and the
    # last alone again: Metaflow orders runs by a creation time in milliseconds,
    # so two runs started together can tie and either be its ``latest_run``.
    ids = dict([one(1)])
    with ThreadPoolExecutor(max_workers=2) as pool:
        ids |= dict(pool.map(one, range(2, runs)))
    return ids | dict([one(runs)])


class _Side:
    """One library's fresh-process read, as a side of :func:`alternate`."""

    def __init__(self, cmd: list[str], work: str, env: dict[str, str], expect: str) -> None:
        self.cmd, self.work, self.env, self.expect = cmd, work, env, expect
        self.in_process: list[float] = []
        self.imports: list[float] = []

    def __call__(self) -> float:
        t0 = time.perf_counter()
        done = _run(self.cmd, self.work, self.env)
        elapsed = (time.perf_counter() - t0) * _MS
        if done.stdout.strip() != self.expect:
            raise RuntimeError(f"{' '.join(self.cmd)} read {done.stdout.strip()!r}, "
                               f"expected {self.expect!r}")  # fmt: skip
        shares = dict(line.split(": ", 1) for line in done.stderr.splitlines() if ": " in line)
        self.in_process.append(float(shares["in-process"]) * _MS)
        self.imports.append(float(shares["import"]) * _MS)
        return elapsed


def _floor(work: str, env: dict[str, str]) -> Callable[[], float]:
    def run() -> float:
        t0 = time.perf_counter()
        _run([sys.executable, "-c", "pass"], work, env)
        return (time.perf_counter() - t0) * _MS

    return run


def _shares(side: _Side, warmup: int) -> tuple[float, float]:
    return median(side.in_process[warmup:]), median(side.imports[warmup:])


@benchmark("client_fresh")
def client_fresh(ctx: Context) -> list[Row]:
    """Fresh process: Run('F/3').data.x and Flow('F').latest_run, vs Metaflow (ms/process)."""
    runs = ctx.pick(200, _READ_N)
    work = tempfile.mkdtemp(prefix="client-fresh-", dir=ctx.tmpdir)
    env = _env()
    try:
        return _measure(ctx, work, env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(ctx: Context, work: str, env: dict[str, str], runs: int) -> list[Row]:
    py = sys.executable
    t0 = time.perf_counter()
    _run([py, _WORKER, "fill", str(runs)], work, env)
    ctx.log(f"  provenance: {runs} runs recorded in {time.perf_counter() - t0:.1f} s")

    na_reason = ""
    ids: dict[int, str] = {}
    if importlib.util.find_spec("metaflow") is None:
        na_reason = "metaflow is not installed (pip install metaflow)"
    else:
        t0 = time.perf_counter()
        try:
            ids = _metaflow_runs(ctx, work, env, runs)
        except RuntimeError as exc:  # a peer that cannot run is reported, not fatal
            na_reason = f"Metaflow could not run the flow: {exc}"
        else:
            ctx.log(f"  metaflow: {runs} runs in {time.perf_counter() - t0:.1f} s (2 at a time)")

    data_expect = str([_READ_N, _READ_N + 1, _READ_N + 3])
    readers = {
        "ours-data": _Side([py, _WORKER, "provenance", "data", str(_READ_N)], work, env,
                           data_expect),
        "ours-latest": _Side([py, _WORKER, "provenance", "latest"], work, env, str(runs)),
    }  # fmt: skip
    if ids:
        # The last run started after every other had finished (_metaflow_runs).
        latest = ids[runs]
        readers["mf-data"] = _Side([py, _WORKER, "metaflow", "data", ids[_READ_N]], work, env,
                                 data_expect)  # fmt: skip
        readers["mf-latest"] = _Side([py, _WORKER, "metaflow", "latest"], work, env, latest)
    warmup = 1
    rounds = ctx.pick(max(11, ctx.rounds), ctx.rounds)
    sides: dict[str, Callable[[], float]] = {**readers, "pass": _floor(work, env)}
    samples = alternate(rounds, sides, warmup=warmup)
    figs = {name: Figure(median(s), _UNIT, s) for name, s in samples.items()}
    floor = figs["pass"].value

    rows = []
    for what, label, ours_cmd, mf_cmd in (
        ("data", "client_fresh_run_data", f"Run('F/{_READ_N}').data.x", "Run('F/<id>').data.x"),
        ("latest", "client_fresh_latest_run", "Flow('F').latest_run.id",
         "Flow('F').latest_run.id"),
    ):  # fmt: skip
        ours, ours_in, ours_imp = figs[f"ours-{what}"], *_shares(readers[f"ours-{what}"], warmup)
        peer = f"metaflow {mf_cmd}"
        if not ids:
            rows.append(na_row(label, peer, ours, 1.0, _TARGET, na_reason))
            continue
        theirs, mf_in, mf_imp = figs[f"mf-{what}"], *_shares(readers[f"mf-{what}"], warmup)
        rows.append(
            Row(
                label,
                peer,
                ours,
                theirs,
                1.0,
                _TARGET,
                f"a fresh `python` importing the client and reading {ours_cmd} on a flow of "
                f"{runs} runs (start/middle/end, each library's own runs, default namespace); "
                f"in-process (after the interpreter started) {ours_in:.0f} ms vs "
                f"{mf_in:.0f} ms, of which the import of provenance.client {ours_imp:.0f} ms "
                f"vs metaflow {mf_imp:.0f} ms; outside the script (interpreter start, exit) "
                f"{ours.value - ours_in:.0f} vs {theirs.value - mf_in:.0f} ms; "
                f"`python -c pass` takes {floor:.0f} ms",
                extra={
                    "runs": runs,
                    "in_process_ms": [ours_in, mf_in],
                    "import_ms": [ours_imp, mf_imp],
                    "python_pass_ms": floor,
                },
            )
        )
    return rows
