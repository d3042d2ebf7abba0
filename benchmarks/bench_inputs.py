"""Big arguments on a miss: provenance, which stores them, against joblib.Memory, which does not."""

from __future__ import annotations

import gc
import os
import tempfile
import time
from typing import Any

import _subjects
from _harness import Context, Figure, Row, alternate, benchmark, info_row, median

_MS = 1e3
_MB = 2**20


def summed(a: Any, k: int) -> dict[str, float]:
    """A function of a big array with a small result (a second argument makes calls differ)."""
    _subjects.CALLS += 1
    return {"n": int(a.shape[0]), "k": k}


def _settle() -> None:
    # Dirty pages of the last round's files must not throttle this round's writes.
    gc.collect()
    if hasattr(os, "sync"):
        os.sync()


@benchmark("cache_miss_big_arg")
def cache_miss_big_arg(ctx: Context) -> list[Row]:
    """In process: a miss whose argument is a new 256 MB float64 array each round (ms per call)."""
    import numpy as np

    import provenance

    mb = ctx.pick(256, 32)
    root = tempfile.mkdtemp(prefix="miss_big_arg-", dir=ctx.tmpdir)
    base = np.random.default_rng(0).random(mb * _MB // 8)
    fns = {lib: _subjects.make_cached(lib, root, summed) for lib in ("provenance", "joblib")}
    repo = provenance.get_default_repo()
    counter = [0]
    details: dict[str, list[float]] = {"hash_ms": [], "stored_mb": []}

    def fresh() -> Any:
        # A value never passed before: every timed call is a miss.
        counter[0] += 1
        arr = base.copy()
        arr[0] = -counter[0]
        return arr

    def side(lib: str) -> Any:
        fn = fns[lib]

        def run() -> float:
            arr = fresh()
            _settle()
            before = _subjects.CALLS
            t0 = time.perf_counter()
            result = fn(arr, 1)
            elapsed = time.perf_counter() - t0
            if before + 1 != _subjects.CALLS or _subjects.unwrap(result)["n"] != arr.shape[0]:
                raise RuntimeError(f"{lib}: the call was not a miss returning the right result")
            if lib == "provenance":
                artifact = result.artifact
                details["hash_ms"].append((artifact.input_id_duration or 0.0) * _MS)
                stored = artifact.inputs_json["a"]["$input"]
                details["stored_mb"].append(stored["size"] / _MB)
                # Keep the disk and the page cache clean: 256 MB per round.
                path = repo.blobstore.local_path(stored["blob"])
                if path is not None:
                    os.unlink(path)
            return elapsed

        return run

    # The warm-up round pays for imports (numpy's serializer, cloudpickle) and
    # for opening the index.
    samples = alternate(ctx.rounds, {lib: side(lib) for lib in fns}, warmup=1)
    ours = [s * _MS for s in samples["provenance"]]
    theirs = [s * _MS for s in samples["joblib"]]
    hash_ms = median(details["hash_ms"][1:])
    stored_mb = median(details["stored_mb"][1:])
    rows = [
        Row(
            "cache_miss_big_arg",
            "joblib.Memory",
            Figure(median(ours), "ms/call", ours),
            Figure(median(theirs), "ms/call", theirs),
            1.0,
            ">= 1x (no slower)",
            f"{mb} MB float64 argument, new each round; provenance records it (hashing it "
            f"into the id {hash_ms:.0f} ms, {stored_mb:.0f} MB npy blob written), "
            "joblib.Memory hashes it and stores only the result",
            extra={"mb": mb, "hash_ms": details["hash_ms"][1:]},
        ),
        _stored_once(ctx, fns["provenance"], repo, base, mb),
    ]
    return rows


def _stored_once(ctx: Context, fn: Any, repo: Any, arr: Any, mb: int) -> Row:
    """10 misses with the same big argument (and a different small one) store it once."""
    calls = 10
    store = repo.blobstore
    keys_now = list(store.keys())  # noqa: SIM118  (a blobstore, not a dict)
    before = {key: store.size(key) for key in keys_now}
    t0 = time.perf_counter()
    artifacts = [fn(arr, k).artifact for k in range(calls)]
    elapsed = (time.perf_counter() - t0) * _MS
    keys_now = list(store.keys())  # noqa: SIM118
    added = sum(store.size(key) for key in keys_now if key not in before)
    keys = {a.inputs_json["a"]["$input"]["blob"] for a in artifacts}
    if len(keys) != 1:
        raise RuntimeError(f"{calls} calls with the same argument stored {len(keys)} inputs")
    return info_row(
        "big_arg_stored_once",
        Figure(added / _MB, "MB stored", [added / _MB]),
        f"{calls} misses with the same {mb} MB argument (and k = 0..{calls - 1}): "
        f"{added / _MB:.1f} MB written in all ({calls * arr.nbytes / _MB:,.0f} MB if "
        f"stored per call), one shared input blob; {elapsed / calls:.0f} ms per call",
        calls=calls,
        mb=mb,
    )
