"""What identifying a call costs: fingerprinting a module's code, re-hashing a proxy's value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import _fingerprint_subject
from _harness import BENCH_DIR, Context, Figure, Row, alternate, benchmark, limit_row, median

_SUBJECT = os.path.join(BENCH_DIR, "_fingerprint_subject.py")
_MS = 1e3
_US = 1e6


# -- 1. the code fingerprint of a 1,000-line module, in a fresh process ----------------


def _fingerprint_worker(side: str, directory: str) -> dict[str, Any]:
    """Run ``_fingerprint_subject.py SIDE DIR`` in a fresh interpreter; its JSON report."""
    proc = subprocess.run(
        [sys.executable, _SUBJECT, side, directory],
        capture_output=True,
        text=True,
        cwd=BENCH_DIR,
        timeout=300,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{side} fingerprint worker exited with {proc.returncode}: {tail}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@benchmark("fingerprint_module")
def fingerprint_module(ctx: Context) -> list[Row]:
    """Fresh process: the first code fingerprint of a 1,000-line module's entry point (ms)."""
    directory = os.path.join(ctx.tmpdir, "module")
    os.makedirs(directory)
    path = _fingerprint_subject.write_module(directory)
    with open(path, encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    # Fresh processes are cheap next to the rest of the run but noisy: more
    # rounds than the default, alternating the two sides.
    rounds = ctx.pick(2 * ctx.rounds + 1, ctx.rounds)
    reports: dict[str, list[dict[str, Any]]] = {"provenance": [], "joblib": []}
    try:
        import joblib  # noqa: F401
    except ImportError:
        sides = ["provenance"]
    else:
        sides = ["provenance", "joblib"]

    def side(name: str) -> Any:
        def run() -> float:
            report = _fingerprint_worker(name, directory)
            reports[name].append(report)
            return float(report["first_s"]) * _MS

        return run

    # The first process compiles the module to bytecode: one discarded round.
    samples = alternate(rounds, {name: side(name) for name in sides}, warmup=1)
    ours = samples["provenance"]
    mine = reports["provenance"][1:]
    helpers = {r["helpers"] for r in mine}
    if helpers != {_fingerprint_subject.HELPERS}:
        raise RuntimeError(
            f"the fingerprint covers {sorted(helpers)} of the "
            f"{_fingerprint_subject.HELPERS} helpers, expected all of them"
        )
    if len({r["digest"] for r in mine}) != 1:
        raise RuntimeError("the fingerprint differs between processes")
    again = median([r["again_s"] * _MS for r in mine])
    kept = median([r["kept_s"] * _US for r in mine])
    imports = median([r["import_provenance_s"] * _MS for r in mine])
    module_import = median([r["import_module_s"] * _MS for r in mine])
    fig = Figure(median(ours), "ms", ours)
    what = (
        f"{lines:,}-line module, {_fingerprint_subject.HELPERS} helpers in a tree, "
        f"2 classes, constants; {mine[0]['parts']} parts, "
        f"{mine[0]['source_lines']} lines of normalized source"
    )
    rows = [
        limit_row(
            "fingerprint_module",
            fig,
            20.0,
            "< 20 ms",
            f"{what}; first code_fingerprint(entry) in {rounds} fresh processes: median "
            f"{median(ours):.1f}, min {min(ours):.1f}, max {max(ours):.1f} ms; "
            f"the walk again with the file parsed {again:.1f} ms; kept on the decorated "
            f"function after that: {kept:.1f} us; left out: import of "
            f"provenance {imports:.0f} ms, of the module {module_import:.1f} ms",
            lines=lines,
            rounds=rounds,
            min_ms=min(ours),
            max_ms=max(ours),
            again_ms=again,
            kept_us=kept,
            import_provenance_ms=imports,
            import_module_ms=module_import,
        )
    ]
    if "joblib" in samples:
        theirs = samples["joblib"]
        rows.append(
            Row(
                "fingerprint_module",
                "joblib get_func_code",
                fig,
                Figure(median(theirs), "ms", theirs),
                None,
                "info",
                f"joblib reads the entry point's own {reports['joblib'][-1]['source_lines']} "
                f"lines, no helper: min {min(theirs):.2f}, max {max(theirs):.2f} ms",
            )
        )
    return rows


# -- 2. hashing an artifact proxy of a mutable value ----------------------------------

#: The values the decorated function of ``proxy_rehash`` returns, by name.
_PAYLOAD: dict[str, Any] = {}


def prepared(name: str) -> Any:
    """Return the value prepared under ``name`` (built before the call)."""
    return _PAYLOAD[name]


def _repeats(fn: Any, value: Any, at_least_s: float = 0.05) -> int:
    """How many calls of ``fn(value)`` make a sample of ``at_least_s`` (timer noise)."""
    fn(value)  # the first call may pay for a page fault or a dispatch-cache miss
    t0 = time.perf_counter()
    fn(value)
    once = time.perf_counter() - t0
    return max(1, min(100_000, int(at_least_s / max(once, 1e-7))))


@benchmark("proxy_rehash")
def proxy_rehash(ctx: Context) -> list[Row]:
    """hash_value(proxy) vs hash_value(value): 256 MB array, list, dict (ms); tuple, str (us)."""
    import numpy as np

    import provenance as p
    from provenance import hash_value

    array_mb = ctx.pick(256, 16)
    list_items = ctx.pick(100_000, 10_000)
    dict_items = 10_000
    rng = np.random.default_rng(0)
    cases: list[tuple[str, Any, bool, str]] = [
        ("array", rng.random(array_mb * (1 << 20) // 8), True, f"{array_mb} MB float64 array"),
        ("list", list(range(list_items)), True, f"list of {list_items:,} ints"),
        (
            "dict",
            {f"key{i}": float(i) / 7 for i in range(dict_items)},
            True,
            f"dict of {dict_items:,} str -> float items",
        ),
        # Immutable: not hashed again, whatever their size (tuples of up to 64 items).
        ("tuple", tuple(float(i) for i in range(64)), False, "tuple of 64 floats (immutable)"),
        ("str", "x" * (1 << 20), False, "1 MB str (immutable)"),
    ]
    _PAYLOAD.update({name: value for name, value, _, _ in cases})
    fn = p.provenance(version=1)(prepared)
    proxies: dict[str, Any] = {}
    try:
        with p.using_repo(p.memory_repo()):
            for name, *_ in cases:
                proxies[name] = fn(name)  # a miss: the proxy of the value returned
    finally:
        _PAYLOAD.clear()

    rows: list[Row] = []
    for name, _, mutable, what in cases:
        proxy = proxies[name]
        if not isinstance(proxy, p.ArtifactProxy):
            raise RuntimeError(f"{name}: the decorated function did not return a proxy")
        plain = proxy.__wrapped__  # the very value the proxy holds
        if hash_value(proxy) != hash_value(plain):
            raise RuntimeError(f"{name}: the proxy does not hash as its value")
        repeats = _repeats(hash_value, plain)

        def side(value: Any, repeats: int = repeats) -> Any:
            def run() -> float:
                t0 = time.perf_counter()
                for _ in range(repeats):
                    hash_value(value)
                return (time.perf_counter() - t0) / repeats

            return run

        # Two figures within a few percent of each other: at least 5 rounds, even quick.
        rounds = max(ctx.rounds, 5)
        samples = alternate(rounds, {"proxy": side(proxy), "plain": side(plain)}, warmup=1)
        unit, scale = ("ms", _MS) if mutable else ("us", _US)
        ours = [s * scale for s in samples["proxy"]]
        theirs = [s * scale for s in samples["plain"]]
        note = f"{what}; {repeats:,} call{'s' if repeats > 1 else ''} per sample; " + (
            "the proxy's value is hashed again and compared with its id"
            if mutable
            else "an immutable value is not hashed again: the proxy's id is used"
        )
        rows.append(
            Row(
                f"proxy_rehash ({name})",
                "plain hash_value",
                Figure(median(ours), unit, ours),
                Figure(median(theirs), unit, theirs),
                0.9 if mutable else None,
                ">= 0.9x (no slower)" if mutable else "info",
                note,
                extra={"repeats": repeats},
            )
        )
    return rows
