"""FlowSpec flows against Metaflow itself: the tutorial's runs, a wide foreach, parallel workers.

Issue 17's targets, each the wall time of whole processes
(``subprocess.run`` timed with ``time.perf_counter``), the two libraries in
turn in every round, medians after one discarded warm-up round:

* ``flow_tutorial_first_run``: ``python art_flow.py run`` of Metaflow's
  artifacts tutorial on an empty repository (a new directory each round),
  at least 3x faster than Metaflow's local ``run``;
* ``flow_tutorial_second_run``: the same again on the repository of the
  first (every step a hit), at least 5x faster than Metaflow (which has no
  memoization: its second run is its first);
* ``flow_foreach``: a foreach over 1,000 items, each a trivial step, on an
  empty repository, at least 50x faster; the per-task overhead of both is
  reported;
* ``flow_max_workers``: ``--max-workers 2`` on a foreach of 8 steps that
  each sleep 1 s: under 4.5 s (Metaflow's figure beside it).

The flow files are the same text for both, but for the import line.
Metaflow runs with its local datastore and metadata.  Without Metaflow
installed (it is a benchmark-only peer), its columns are n/a.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from _harness import (
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

_MS = 1e3
_UNIT = "ms/process"

TUTORIAL = """
from {lib} import FlowSpec, step

class ArtFlow(FlowSpec):

    @step
    def start(self):
        self.some_data = [1,2,3] # define artifact state
        self.next(self.middle)

    @step
    def middle(self):
        print(f'the data artifact is: {{self.some_data}}')
        self.some_data = [1,2,4] # update artifact state
        self.next(self.end)

    @step
    def end(self):
        print(f'the data artifact is: {{self.some_data}}')

if __name__ == '__main__':
    ArtFlow()
"""

FOREACH = """
import time
from {lib} import FlowSpec, step

class WideFlow(FlowSpec):

    @step
    def start(self):
        self.items = list(range({items}))
        self.next(self.each, foreach='items')

    @step
    def each(self):
        time.sleep({sleep})
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(f'total {{self.total}}')

if __name__ == '__main__':
    WideFlow()
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "PROVENANCE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env["USER"] = "bench"
    env["METAFLOW_DEFAULT_DATASTORE"] = "local"
    env["METAFLOW_DEFAULT_METADATA"] = "local"
    return env


class _Flow:
    """One library's flow file, run as a whole process in a working directory."""

    def __init__(self, root: str, lib: str, name: str, source: str, args: list[str]) -> None:
        self.root = os.path.join(root, lib.split(".")[0])
        os.makedirs(self.root, exist_ok=True)
        self.path = os.path.join(self.root, name)
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(source.replace("{lib}", lib))
        self.args = args
        self.env = _env()

    def run(self, cwd: str, expect: str) -> float:
        cmd = [sys.executable, self.path, *self.args]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=3600)  # fmt: skip
        elapsed = time.perf_counter() - t0
        if done.returncode != 0 or expect not in done.stdout:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}: {tail}")
        return elapsed

    def fresh(self, expect: str) -> Callable[[], float]:
        """A run in a new, empty working directory each time (no repository yet)."""

        def run() -> float:
            cwd = tempfile.mkdtemp(dir=self.root)
            try:
                return self.run(cwd, expect)
            finally:
                shutil.rmtree(cwd, ignore_errors=True)

        return run

    def again(self, expect: str, first: str) -> Callable[[], float]:
        """A run in one working directory that keeps its repository between runs."""
        cwd = tempfile.mkdtemp(dir=self.root)
        self.run(cwd, first)  # the first run, untimed: every later one finds its tasks

        def run() -> float:
            return self.run(cwd, expect)

        return run


def _source(template: str, **values: object) -> str:
    """The template filled in, but for ``{lib}``, which each side fills with its import."""
    return template.format(lib="{lib}", **values)


def _metaflow() -> str:
    if importlib.util.find_spec("metaflow") is None:
        return "metaflow is not installed (pip install metaflow)"
    return ""


def _ms(samples: list[float]) -> Figure:
    values = [s * _MS for s in samples]
    return Figure(median(values), _UNIT, values)


@benchmark("flows")
def flows(ctx: Context) -> list[Row]:
    """FlowSpec runs vs Metaflow: the tutorial first and again, a wide foreach, workers."""
    root = tempfile.mkdtemp(prefix="flows-", dir=ctx.tmpdir)
    try:
        return [
            *_tutorial(ctx, root),
            _foreach(ctx, root),
            _workers(ctx, root),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _tutorial(ctx: Context, root: str) -> list[Row]:
    expect = "the data artifact is: [1, 2, 4]"
    args = ["--no-pylint", "run"]
    ours = _Flow(root, "provenance.flow", "art_flow.py", _source(TUTORIAL), args)
    sides = {"first": ours.fresh(expect), "again": ours.again("Done! 3 tasks, 3 of them", expect)}
    reason = _metaflow()
    if not reason:
        theirs = _Flow(root, "metaflow", "art_flow.py", _source(TUTORIAL), args)
        sides["metaflow"] = theirs.fresh(expect)
    rounds = ctx.pick(max(7, ctx.rounds), 2)
    samples = alternate(rounds, sides, warmup=1)
    first, again = _ms(samples["first"]), _ms(samples["again"])
    peer = "metaflow run (local)"
    if reason:
        return [
            na_row("flow_tutorial_first_run", peer, first, 3.0, ">= 3x faster", reason),
            na_row("flow_tutorial_second_run", peer, again, 5.0, ">= 5x faster", reason),
        ]
    mf = _ms(samples["metaflow"])
    note = "Metaflow's artifacts tutorial, whole process, python art_flow.py run"
    return [
        Row("flow_tutorial_first_run", peer, first, mf, 3.0, ">= 3x faster",
            f"{note}, on an empty repository each round"),
        Row("flow_tutorial_second_run", peer, again, mf, 5.0, ">= 5x faster",
            f"{note}, on the repository of the first: every step a hit (Metaflow has no "
            "memoization: its second run is a first)"),
    ]  # fmt: skip


def _foreach(ctx: Context, root: str) -> Row:
    items = ctx.pick(1000, 20)
    source = _source(FOREACH, items=items, sleep=0)
    expect = f"total {sum(i * i for i in range(items))}"
    # Metaflow refuses a foreach of more than 100 items unless told.
    args = ["--no-pylint", "run", "--max-num-splits", str(2 * items)]
    ours = _Flow(root, "provenance.flow", "wide_flow.py", source, args)
    sides = {"ours": ours.fresh(expect)}
    reason = _metaflow()
    if not reason:
        theirs = _Flow(root, "metaflow", "wide_flow.py", source, args)
        sides["metaflow"] = theirs.fresh(expect)
    # Metaflow starts a process per task: a thousand take minutes, so few rounds.
    rounds = ctx.pick(3, 1)
    samples = alternate(rounds, sides, warmup=0)
    mine = _ms(samples["ours"])
    tasks = items + 3
    peer = "metaflow run (local)"
    if reason:
        return na_row("flow_foreach", peer, mine, 50.0, ">= 50x faster", reason)
    mf = _ms(samples["metaflow"])
    return Row(
        "flow_foreach", peer, mine, mf, 50.0, ">= 50x faster",
        f"a foreach over {items:,} items, each a trivial step ({tasks:,} tasks), whole process "
        f"on an empty repository; per task {mine.value / tasks:.2f} ms against "
        f"{mf.value / tasks:.1f} ms (Metaflow's default --max-workers 16)",
        extra={"items": items, "tasks": tasks},
    )  # fmt: skip


def _workers(ctx: Context, root: str) -> Row:
    items, sleep = 8, ctx.pick(1.0, 0.25)
    source = _source(FOREACH, items=items, sleep=sleep)
    expect = f"total {sum(i * i for i in range(items))}"
    args = ["--no-pylint", "run", "--max-workers", "2"]
    ours = _Flow(root, "provenance.flow", "sleep_flow.py", source, args)
    sides = {"ours": ours.fresh(expect)}
    reason = _metaflow()
    if not reason:
        theirs = _Flow(root, "metaflow", "sleep_flow.py", source, args)
        sides["metaflow"] = theirs.fresh(expect)
    samples = alternate(ctx.pick(3, 1), sides, warmup=0)
    mine = _ms(samples["ours"])
    limit = 4500.0 * sleep
    mf = f"; Metaflow {median(samples['metaflow']):.2f} s" if not reason else ""
    return limit_row(
        "flow_max_workers", mine, limit, f"< {limit / 1e3:.1f} s",
        f"--max-workers 2 on a foreach of {items} steps that each sleep {sleep:g} s, whole "
        f"process on an empty repository (forkserver workers){mf}",
    )  # fmt: skip
