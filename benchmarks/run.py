"""Run provenance's benchmarks against its peers and print one table.

Usage::

    python benchmarks/run.py                 # every benchmark, full size (a few minutes)
    python benchmarks/run.py --quick         # small sizes, fewer rounds (under a minute)
    python benchmarks/run.py --only cache_hit_small
    python benchmarks/run.py --list

Benchmarks live in ``benchmarks/bench_*.py`` as functions registered with
``@benchmark(name)`` (see ``_harness.py``); every such module is imported
here.  Results and machine info are written to ``--json`` and the table as
Markdown to ``--markdown``: by default ``benchmarks/results/latest.{json,md}``
for a full run of every benchmark, ``latest-quick.{json,md}`` for ``--quick``,
and nothing for a run of some benchmarks (``--only``).  The exit code is 0
when every benchmark ran, whether or not its target was met, and 1 if one
failed.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)

from _harness import (  # noqa: E402
    BENCHMARKS,
    Context,
    format_markdown,
    format_table,
    machine_info,
    write_json,
    write_text,
)

RESULTS_DIR = os.path.join(BENCH_DIR, "results")


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load_benchmarks() -> None:
    """Import every ``bench_*.py`` module so that its benchmarks register."""
    for path in sorted(glob.glob(os.path.join(BENCH_DIR, "bench_*.py"))):
        importlib.import_module(os.path.splitext(os.path.basename(path))[0])


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and fewer rounds (checks that the benchmarks run)",
    )
    parser.add_argument(
        "--json",
        default=None,
        metavar="PATH",
        help="where to write results and machine info (default: results/latest.json for a "
        "full run, results/latest-quick.json with --quick, none with --only); '-' for none",
    )
    parser.add_argument(
        "--markdown",
        default=None,
        metavar="PATH",
        help="where to write the table as Markdown with the machine info (default: as "
        "--json, with .md); '-' for none",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (may be repeated)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="alternating rounds per benchmark (default 5, quick 3)",
    )
    parser.add_argument(
        "--tmpdir",
        default=None,
        help="where to create the benchmark caches (default: the system temp dir)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    load_benchmarks()
    if args.list:
        for bench in BENCHMARKS.values():
            print(f"{bench.name:24} {bench.description}")
        return 0
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    rounds = args.rounds or (3 if args.quick else 5)
    stem = None if args.only else ("latest-quick" if args.quick else "latest")
    json_path = args.json or (os.path.join(RESULTS_DIR, f"{stem}.json") if stem else "-")
    md_path = args.markdown or (os.path.join(RESULTS_DIR, f"{stem}.md") if stem else "-")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rows = []
    errors = []
    durations = {}
    #: The process's peak resident memory so far, after each benchmark.
    peak_rss_mb: dict[str, float | None] = {}
    # The machine is described before the run, while it is as idle as it will be.
    machine = machine_info()
    tmp_root = tempfile.mkdtemp(prefix="provenance-bench-", dir=args.tmpdir)
    started = time.perf_counter()
    try:
        for name in names:
            log(f"[{name}] running ({'quick' if args.quick else 'full'}, {rounds} rounds)")
            t0 = time.perf_counter()
            bench_tmp = tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_root)
            ctx = Context(quick=args.quick, rounds=rounds, tmpdir=bench_tmp, log=log)
            try:
                rows.extend(BENCHMARKS[name].fn(ctx))
            except Exception as exc:
                errors.append(
                    {
                        "benchmark": name,
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(),
                    }
                )
                log(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
            finally:
                shutil.rmtree(bench_tmp, ignore_errors=True)
            durations[name] = time.perf_counter() - t0
            peak_rss_mb[name] = _peak_rss_mb()
            log(f"[{name}] done in {durations[name]:.1f} s")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    print(format_table(rows))
    for err in errors:
        print(f"ERROR in {err['benchmark']}: {err['error']}")
    total = time.perf_counter() - started
    load = machine.get("load_average")
    load_text = (
        f"; load average at start {load[0]:.1f} on {machine['cpu_count']} cpus" if load else ""
    )
    summary = (
        f"total {total:.0f} s ({'quick' if args.quick else 'full'}, {rounds} rounds){load_text}"
    )
    print(summary)

    if md_path != "-":
        text = format_markdown(
            rows,
            machine,
            f"`{' '.join(['python', 'benchmarks/run.py', *argv])}`: {summary}.",
        )
        for err in errors:
            text += f"\nERROR in {err['benchmark']}: {err['error']}\n"
        write_text(md_path, text)
        print(f"table written to {md_path}")
    if json_path != "-":
        write_json(
            json_path,
            {
                "machine": machine,
                "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
                "quick": args.quick,
                "rounds": rounds,
                "total_seconds": total,
                "durations_seconds": durations,
                "peak_rss_mb": peak_rss_mb,
                "results": [row.to_json() for row in rows],
                "errors": errors,
            },
        )
        print(f"results written to {json_path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
