"""Peak memory of storing and loading a big array or DataFrame, against numpy and pandas.

Each side runs in a fresh process (``_peak_worker.py``), so one side's
allocations never raise the other's peak; the rounds alternate.  The figure
is the peak resident memory during the operation less the resident memory
once the libraries are imported: the value and whatever the operation
allocates beside it, not the size of the libraries (the note gives both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from _harness import BENCH_DIR, Context, Figure, Row, benchmark, median, na_row

_WORKER = os.path.join(BENCH_DIR, "_peak_worker.py")


def _run(*args: str) -> dict[str, object]:
    cmd = [sys.executable, _WORKER, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH_DIR, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _peaks(ctx: Context, kind: str, mb: int, peer: str) -> dict[str, dict[str, list[float]]]:
    """Peaks less imports, imports and peaks (MB) per side and operation, per round."""
    root = os.path.join(ctx.tmpdir, f"peak-{kind}")
    os.makedirs(root)
    got: dict[str, dict[str, list[float]]] = {}

    def keep(name: str, out: dict[str, object]) -> None:
        entry = got.setdefault(name, {"peak": [], "imports": [], "total": []})
        imports, peak = float(out["imports_mb"]), float(out["peak_mb"])  # type: ignore[arg-type]
        entry["peak"].append(peak - imports)
        entry["imports"].append(imports)
        entry["total"].append(peak)

    for _ in range(ctx.rounds):
        stored = _run("provenance", "store", kind, str(mb), root)
        keep("provenance_store", stored)
        keep("provenance_load", _run("provenance", "load", kind, str(mb), root,
                                     str(stored["artifact_id"])))  # fmt: skip
        keep(f"{peer}_store", _run("peer", "store", kind, str(mb), root))
        keep(f"{peer}_load", _run("peer", "load", kind, str(mb), root))
        shutil.rmtree(root)
        os.makedirs(root)
    return got


def _rows(
    got: dict[str, dict[str, list[float]]], prefix: str, peer: str, label: str, limit: float,
    size: str,
) -> list[Row]:  # fmt: skip
    rows = []
    for op, peer_op in (("store", "to_parquet" if peer == "pandas" else "np.save"),
                        ("load", "read_parquet" if peer == "pandas" else "np.load")):  # fmt: skip
        ours, theirs = got[f"provenance_{op}"], got[f"{peer}_{op}"]
        rows.append(
            Row(
                f"{prefix}_{op}_peak",
                f"{label} {peer_op}",
                Figure(median(ours["peak"]), "MB", ours["peak"]),
                Figure(median(theirs["peak"]), "MB", theirs["peak"]),
                round(1 / limit, 3),
                f"peak <= {limit}x theirs",
                f"peak resident memory of a fresh process while it {op}s a {size}, less "
                f"its libraries (building the value is not counted); whole peak "
                f"{median(ours['total']):,.0f} vs {median(theirs['total']):,.0f} MB, of which "
                f"libraries {median(ours['imports']):,.0f} vs {median(theirs['imports']):,.0f} "
                "MB (provenance with SQLAlchemy and its index open)",
            )
        )
    return rows


@benchmark("array_memory")
def array_memory(ctx: Context) -> list[Row]:
    """Peak memory of storing / loading a 1 GB array artifact vs np.save / np.load (MB)."""
    if not os.path.exists("/proc/self/clear_refs"):
        reason = "needs Linux's /proc/self/clear_refs to reset the peak"
        return [na_row(f"array_{op}_peak", "numpy", None, 0.909, "peak <= 1.1x theirs", reason)
                for op in ("store", "load")]  # fmt: skip
    mb = ctx.pick(1024, 64)
    got = _peaks(ctx, "array", mb, "numpy")
    size = f"{mb:,} MB float64 array" if mb < 1024 else f"{mb // 1024} GB float64 array"
    return _rows(got, "array", "numpy", "numpy", 1.1, size)


@benchmark("frame_memory")
def frame_memory(ctx: Context) -> list[Row]:
    """Peak memory of storing / loading a 200 MB DataFrame artifact vs pandas' parquet (MB)."""
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return [na_row(f"frame_{op}_peak", "pandas", None, 0.833, "peak <= 1.2x theirs",
                       "no pandas or pyarrow") for op in ("store", "load")]  # fmt: skip
    if not os.path.exists("/proc/self/clear_refs"):
        reason = "needs Linux's /proc/self/clear_refs to reset the peak"
        return [na_row(f"frame_{op}_peak", "pandas", None, 0.833, "peak <= 1.2x theirs", reason)
                for op in ("store", "load")]  # fmt: skip
    mb = ctx.pick(200, 8)
    got = _peaks(ctx, "frame", mb, "pandas")
    return _rows(got, "frame", "pandas", "pandas", 1.2, f"DataFrame of _dataframe({mb})")
