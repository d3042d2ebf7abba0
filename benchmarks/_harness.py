"""The benchmark harness: a registry of benchmarks, alternating timing, machine info.

A benchmark is a function registered with :func:`benchmark`.  It receives a
:class:`Context` (quick mode, number of rounds, a private temporary directory)
and returns a list of :class:`Row`, one per peer it was compared with.  Each
row holds provenance's figure and the peer's, in the same unit; lower is
better, so ``ratio = peer / ours`` and a ratio above 1 means provenance is
faster.

Measurements of provenance and its peers are taken alternately, one of each
per round (see :func:`alternate`), and the median over rounds is reported, so
slow drifts of the machine (other load, CPU frequency, page cache) hit every
side alike.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "Context",
    "Figure",
    "Row",
    "alternate",
    "benchmark",
    "format_markdown",
    "format_table",
    "info_row",
    "limit_row",
    "machine_info",
    "median",
    "na_row",
    "write_json",
    "write_text",
]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Figure:
    """One measured figure: a value in ``unit`` (lower is better), with its samples."""

    value: float
    unit: str
    samples: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{_fmt(self.value)} {self.unit}"


@dataclass
class Row:
    """One line of the results table: provenance against one peer on one benchmark."""

    benchmark: str
    peer: str
    ours: Figure | None
    theirs: Figure | None
    #: provenance must be at least this many times faster (peer / ours >= min_ratio).
    min_ratio: float | None
    target: str
    notes: str = ""
    #: why the comparison could not be made (peer not installed, failed...), or "".
    na_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.theirs is None or self.ours.value <= 0:
            return None
        return self.theirs.value / self.ours.value

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or self.min_ratio is None:
            return None
        return ratio >= self.min_ratio

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["met"] = self.met
        return out


def na_row(
    benchmark: str,
    peer: str,
    ours: Figure | None,
    min_ratio: float | None,
    target: str,
    reason: str,
) -> Row:
    """A row whose peer could not be measured (reported as n/a with the reason)."""
    return Row(benchmark, peer, ours, None, min_ratio, target, na_reason=reason)


def limit_row(
    benchmark: str, ours: Figure, limit: float, target: str, notes: str = "", **extra: Any
) -> Row:
    """A row whose target is an absolute limit on provenance's figure (no peer).

    The limit stands in the peer's column (``peer`` reads ``limit``), so the
    ratio is the headroom ``limit / ours``: met when it is at least 1.
    """
    return Row(
        benchmark,
        "limit",
        ours,
        Figure(limit, ours.unit),
        1.0,
        target,
        notes,
        extra={"limit": limit, **extra},
    )


def info_row(benchmark: str, ours: Figure, notes: str = "", **extra: Any) -> Row:
    """A row that reports a figure with no target (shown as ``info``)."""
    return Row(benchmark, "-", ours, None, None, "info", notes, extra=dict(extra))


@dataclass
class Context:
    """What a benchmark is given to run with."""

    quick: bool
    rounds: int
    tmpdir: str
    log: Callable[[str], None]

    def pick(self, full: Any, quick: Any) -> Any:
        """``quick`` in ``--quick`` mode, else ``full``."""
        return quick if self.quick else full


@dataclass
class Benchmark:
    name: str
    fn: Callable[[Context], list[Row]]
    description: str


#: Registered benchmarks, in the order they run.
BENCHMARKS: dict[str, Benchmark] = {}


BenchFn = Callable[[Context], list[Row]]


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    """Register ``fn(ctx) -> list[Row]`` as the benchmark ``name``.

    The first line of its docstring is its description in ``--list``.
    """

    def register(fn: BenchFn) -> BenchFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        BENCHMARKS[name] = Benchmark(name, fn, doc[0] if doc else "")
        return fn

    return register


def alternate(
    rounds: int, sides: dict[str, Callable[[], float]], *, warmup: int = 0
) -> dict[str, list[float]]:
    """Run each side once per round, in turn, and collect the figures they return.

    Each side is a callable returning its own figure (seconds, or seconds per
    call), so it can exclude its setup.  ``warmup`` rounds run first and are
    discarded.
    """
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(warmup + rounds):
        for name, fn in sides.items():
            value = fn()
            if r >= warmup:
                samples[name].append(value)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- reporting ---------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(rows: list[Row]) -> str:
    """The results as one plain-text table (notes under their row)."""
    header = ["benchmark", "vs peer", "provenance", "peer", "ratio", "target", "met"]
    lines: list[list[str]] = []
    notes: list[str] = []
    for row in rows:
        lines.append(_cells(row))
        note = row.na_reason and f"n/a: {row.na_reason}"
        notes.append("; ".join(n for n in (note, row.notes) if n))
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(header)]
    sep = "  "

    def fmt(cells: list[str]) -> str:
        return sep.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [fmt(header), sep.join("-" * w for w in widths)]
    for line, note in zip(lines, notes):
        out.append(fmt(line))
        if note:
            out.append(f"    {note}")
    out.append(
        "ratio = peer time / provenance time (>1: provenance is faster; on a 'limit' row, "
        "limit / provenance time); figures are medians over alternating rounds"
    )
    return "\n".join(out)


def _cells(row: Row) -> list[str]:
    ratio = row.ratio
    met = row.met
    return [
        row.benchmark,
        row.peer,
        str(row.ours) if row.ours else "n/a",
        str(row.theirs) if row.theirs else "n/a",
        f"{ratio:.2f}x" if ratio is not None else "n/a",
        row.target,
        "n/a" if met is None else ("met" if met else "NOT MET"),
    ]


def machine_summary(machine: dict[str, Any]) -> list[str]:
    """A few lines saying what the figures were measured on."""
    ram = machine.get("ram_bytes")
    versions = machine.get("versions") or {}
    commit = machine.get("git_commit")
    dirty = " (uncommitted changes)" if machine.get("git_dirty") else ""
    load = machine.get("load_average")
    lines = [
        f"Measured {machine.get('date', '?')} on {machine.get('cpu_model', '?')}, "
        f"{machine.get('cpu_affinity') or machine.get('cpu_count')} cpus"
        + (f", {ram / 2**30:.0f} GB RAM" if ram else "")
        + f", {machine.get('platform', '?')}.",
        f"Python {machine.get('python', '?')}; "
        + ", ".join(f"{name} {v}" for name, v in versions.items() if v)
        + (f"; provenance at commit {commit[:12]}{dirty}" if commit else "")
        + ".",
    ]
    if load:
        lines.append(f"Load average at the start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}.")
    return lines


def format_markdown(rows: list[Row], machine: dict[str, Any], summary: str = "") -> str:
    """The results as a Markdown table (details in the last column), then the machine."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    header = ["benchmark", "vs", "provenance", "peer", "ratio", "target", "met", "details"]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        note = row.na_reason and f"n/a: {row.na_reason}"
        details = "; ".join(n for n in (note, row.notes) if n)
        out.append("| " + " | ".join(esc(c) for c in [*_cells(row), details]) + " |")
    out.append("")
    out.append(
        "ratio = peer time / provenance time (above 1: provenance is faster; for a `limit` "
        "row, the limit / provenance's time); figures are medians over alternating rounds."
    )
    out.append("")
    out.extend(f"- {line}" for line in machine_summary(machine))
    if summary:
        out.append(f"- {summary}")
    return "\n".join(out) + "\n"


# -- machine info ------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    """What the figures were measured on and with (for comparing versions)."""
    status = _git("status", "--porcelain")
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "ram_bytes": _ram_bytes(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "versions": {
            name: _version(name)
            for name in (
                "provenance",
                "joblib",
                "cachier",
                "diskcache",
                "metaflow",
                "numpy",
                "pandas",
                "SQLAlchemy",
                "xxhash",
                "wrapt",
                "cloudpickle",
                "boto3",
                "moto",
                "networkx",
                "graphviz",
            )
        },
    }


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary name, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: str, payload: dict[str, Any]) -> None:
    write_text(path, json.dumps(payload, indent=2, default=str) + "\n")
