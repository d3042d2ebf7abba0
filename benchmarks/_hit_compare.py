"""Small-argument cache hits of two provenance source trees, in alternating fresh processes.

Usage::

    git worktree add /tmp/prov-old COMMIT          # the version to compare with
    python benchmarks/_hit_compare.py /tmp/prov-old .                  # no version=
    python benchmarks/_hit_compare.py /tmp/prov-old . --version 1      # version=1
    git worktree remove --force /tmp/prov-old

Each tree is put first on ``PYTHONPATH`` of its own processes, so the
``provenance`` package imported is that tree's whatever is installed (the
worker checks it).  The workload is that of ``cache_hit_small``:
``_subjects.small_fn(i, "abc", 2.5)`` decorated by ``provenance.provenance()``
(or ``provenance(version=V)``), on an SQLite index plus a disk blobstore of
its own per tree.  One process per tree populates it (``N`` misses), then each
round runs one fresh hitting process per tree, in turn, after one discarded
warm-up round; every process calls the ``N`` cached calls once and checks
that none ran.  Interpreter start-up is excluded, the first call included.

Printed per tree: the median over rounds of the time per hit (all ``N``
calls / ``N``), of the steady state (median of calls 2 to ``N``), of the best
batch (the lowest mean of 100 consecutive calls: the cost of a hit when
nothing else runs, the steadiest figure on a busy machine), of the first call
and of the import plus configuration; then the ratio ``first tree /
second tree`` of each (above 1: the second tree is faster), of the medians
and, ``paired``, the median of the ratios within each round.  ``--json PATH``
writes every sample.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def worker(root: str, n: int, mode: str, version: str | None) -> int:
    """Call ``small_fn`` ``n`` times through the ``provenance`` on ``sys.path``; print JSON."""
    import _subjects  # noqa: PLC0415  (benchmarks/ is sys.path[0] when run as a script)

    import provenance  # noqa: PLC0415

    provenance.load_config(_subjects.provenance_config(root))
    kwargs: dict[str, Any] = {} if version is None else {"version": int(version)}
    fn = provenance.provenance(**kwargs)(_subjects.small_fn)
    setup_s = time.perf_counter() - _T0
    call_s, bad = _subjects.time_small_calls(fn, n)
    if bad:
        print(f"wrong results for i in {bad[:5]}", file=sys.stderr)
        return 2
    json.dump(
        {
            "provenance": os.path.dirname(os.path.abspath(provenance.__file__)),
            "setup_s": setup_s,
            "call_s": call_s,
            "ran": _subjects.CALLS,
        },
        sys.stdout,
    )
    return 0


def run_worker(tree: str, root: str, n: int, mode: str, version: str | None) -> dict[str, Any]:
    """One fresh process of ``worker`` with ``tree`` first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([tree, *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", root, str(n), mode]
    cmd += [version or "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH_DIR, env=env, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{tree} {mode}: worker exited with {proc.returncode}: {tail}")
    report: dict[str, Any] = json.loads(proc.stdout)
    want = os.path.join(os.path.realpath(tree), "provenance")
    if os.path.realpath(report["provenance"]) != want:
        raise RuntimeError(f"{tree}: the worker imported provenance from {report['provenance']}")
    expected = n if mode == "populate" else 0
    if report["ran"] != expected:
        raise RuntimeError(f"{tree} {mode}: the function ran {report['ran']} times, not {expected}")
    return report


def _best_batch(call_s: list[float], size: int = 100) -> float:
    """The lowest mean of ``size`` consecutive calls: what a call costs when nothing interrupts."""
    batches = [call_s[k : k + size] for k in range(0, len(call_s) - size + 1, size)]
    return min(sum(b) / len(b) for b in batches) if batches else statistics.mean(call_s)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        root, n, mode, version = argv[1:5]
        return worker(root, int(n), mode, None if version == "-" else version)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs=2, metavar="TREE", help="two provenance source trees")
    parser.add_argument("--n", type=int, default=1000, help="cached calls per process")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--version", default=None, help="decorate with version=V")
    parser.add_argument("--json", default=None, metavar="PATH", help="write the samples here")
    args = parser.parse_args(argv)
    trees = [os.path.abspath(t) for t in args.trees]
    tmp = tempfile.mkdtemp(prefix="hit-compare-")
    reports: dict[str, list[dict[str, Any]]] = {t: [] for t in trees}
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        roots = {t: os.path.join(tmp, str(k)) for k, t in enumerate(trees)}
        for tree in trees:
            run_worker(tree, roots[tree], args.n, "populate", args.version)
        for r in range(1 + args.rounds):  # the first round warms the page cache
            for tree in trees:
                report = run_worker(tree, roots[tree], args.n, "hit", args.version)
                if r:
                    reports[tree].append(report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None

    def figures(tree: str) -> dict[str, list[float]]:
        rs = reports[tree]
        return {
            "per_hit_us": [sum(x["call_s"]) / args.n * 1e6 for x in rs],
            "steady_us": [statistics.median(x["call_s"][1:]) * 1e6 for x in rs],
            "best_us": [_best_batch(x["call_s"][1:]) * 1e6 for x in rs],
            "first_ms": [x["call_s"][0] * 1e3 for x in rs],
            "setup_ms": [x["setup_s"] * 1e3 for x in rs],
        }

    out = {t: figures(t) for t in trees}
    version = "absent" if args.version is None else args.version
    print(f"{args.n} hits per process, {args.rounds} rounds, version={version}")
    for key in ("per_hit_us", "steady_us", "best_us", "first_ms", "setup_ms"):
        a, b = (statistics.median(out[t][key]) for t in trees)
        spread = "; ".join(f"{min(out[t][key]):.1f}-{max(out[t][key]):.1f}" for t in trees)
        # Each round ran both trees one after the other: the ratio within a
        # round cancels the machine's slow drifts.
        paired = statistics.median(x / y for x, y in zip(*(out[t][key] for t in trees)))
        print(
            f"  {key:11} {a:9.2f} {b:9.2f}   ratio {a / b:.3f}, paired {paired:.3f}"
            f"   (ranges {spread})"
        )
    if load_start and load_end:
        print(f"  load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "trees": trees,
                    "n": args.n,
                    "rounds": args.rounds,
                    "version": args.version,
                    "load_average": [load_start, load_end],
                    "figures": out,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
