"""Storing and loading a big DataFrame artifact, against to_parquet / read_parquet on the same disk.

A decorated function returning a DataFrame stores it with ``pd_df_parquet``
(chosen by type), so the peer is the same format written and read by hand.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

import _subjects
from _harness import Context, Figure, Row, alternate, benchmark, median, na_row
from bench_hashing import _dataframe

_MS = 1e3
_PAYLOAD: dict[str, Any] = {}


def big_frame(key: int) -> Any:
    """Return the prepared frame (``key`` only makes each call a new artifact)."""
    _subjects.CALLS += 1
    return _PAYLOAD.pop("frame")


@benchmark("frame_artifact")
def frame_artifact(ctx: Context) -> list[Row]:
    """A decorated function returning a 200 MB DataFrame: store, then load_proxy (ms)."""
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        reason = "no pandas or pyarrow"
        return [
            na_row("frame_store", "to_parquet", None, 0.8, ">= 0.8x their speed", reason),
            na_row("frame_load", "read_parquet", None, 1.0, ">= 1.0x their speed", reason),
        ]
    import provenance

    mb = ctx.pick(200, 8)
    root = os.path.join(ctx.tmpdir, "frame")
    os.makedirs(root)
    provenance.load_config(_subjects.provenance_config(os.path.join(root, "provenance")))
    repo = provenance.get_default_repo()
    fn = provenance.provenance()(big_frame)
    base = _dataframe(mb, numeric_only=False)
    parquet = os.path.join(root, "pandas", "frame.parquet")
    os.makedirs(os.path.dirname(parquet))

    loads: dict[str, list[float]] = {"provenance": [], "pandas": []}
    details: dict[str, list[Any]] = {"hash_value_ms": [], "stored_mb": [], "serializer": []}
    counter = iter(range(1 << 30))

    def fresh() -> Any:
        n = next(counter)
        frame = base.copy()
        frame.iloc[0, 0] = float(n)  # a distinct value (a new blob), built untimed
        return n, frame

    def ours() -> float:
        n, frame = fresh()
        _PAYLOAD["frame"] = frame
        del frame
        gc.collect()
        t0 = time.perf_counter()
        proxy = fn(n)
        store = time.perf_counter() - t0
        artifact = proxy.artifact
        artifact_id = artifact.id
        details["hash_value_ms"].append((artifact.hash_duration or 0.0) * _MS)
        details["stored_mb"].append((artifact.size or 0) / 2**20)
        details["serializer"].append(artifact.serializer)
        path = repo.blobstore.local_path(artifact.blob_id)
        del proxy, artifact
        gc.collect()
        t0 = time.perf_counter()
        loaded = provenance.load_proxy(artifact_id)
        len(loaded)  # the proxy loads on first use
        loads["provenance"].append(time.perf_counter() - t0)
        if loaded.shape != base.shape or loaded.iloc[0, 0] != n:
            raise RuntimeError("provenance loaded a wrong frame")
        del loaded
        if path is not None:
            os.unlink(path)
        repo.delete_artifact(artifact_id)
        return store

    def theirs() -> float:
        n, frame = fresh()
        gc.collect()
        t0 = time.perf_counter()
        frame.to_parquet(parquet, engine="pyarrow")
        save = time.perf_counter() - t0
        del frame
        gc.collect()
        t0 = time.perf_counter()
        loaded = pd.read_parquet(parquet, engine="pyarrow")
        loads["pandas"].append(time.perf_counter() - t0)
        if loaded.shape != base.shape or loaded.iloc[0, 0] != n:
            raise RuntimeError("pandas loaded a wrong frame")
        del loaded
        os.unlink(parquet)
        return save

    try:
        samples = alternate(ctx.rounds, {"provenance": ours, "pandas": theirs}, warmup=1)
    finally:
        _PAYLOAD.clear()
    store_ours = [s * _MS for s in samples["provenance"]]
    store_theirs = [s * _MS for s in samples["pandas"]]
    load_ours = [s * _MS for s in loads["provenance"][1:]]
    load_theirs = [s * _MS for s in loads["pandas"][1:]]
    hash_ms = median(details["hash_value_ms"][1:])
    stored = median(details["stored_mb"][1:])
    size = f"{base.memory_usage(deep=True).sum() / 2**20:,.0f} MB DataFrame {base.shape[0]:,} x 6"
    serializer = details["serializer"][-1]
    return [
        Row(
            "frame_store",
            "to_parquet",
            Figure(median(store_ours), "ms", store_ours),
            Figure(median(store_theirs), "ms", store_theirs),
            0.8,
            ">= 0.8x their speed",
            f"{size} (floats, ints, timestamps, strings, categorical) returned by a decorated "
            f"function into SQLite + disk as {serializer}; of which hashing the value "
            f"{hash_ms:.0f} ms; {stored:,.0f} MB blob",
            extra={"mb": mb, "hash_value_ms": details["hash_value_ms"][1:]},
        ),
        Row(
            "frame_load",
            "read_parquet",
            Figure(median(load_ours), "ms", load_ours),
            Figure(median(load_theirs), "ms", load_theirs),
            1.0,
            ">= 1.0x their speed",
            "provenance.load_proxy(id) with a fresh Artifact (value verified against its "
            "hash); both files in the page cache",
            extra={"mb": mb},
        ),
    ]
