"""Hashing values: provenance.hash_value against joblib.hash."""

from __future__ import annotations

import time
from typing import Any

from _harness import Context, Figure, Row, alternate, benchmark, median, na_row

_MS = 1e3


def _dataframe(mb: int, numeric_only: bool) -> Any:
    """A DataFrame of about ``mb`` MB (deep memory usage).

    The mixed one has the columns of a typical table: floats, integers, a
    timestamp, a categorical and a string column (about a quarter of its
    memory); the numeric one only floats and integers.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    if numeric_only:
        n = mb * (1 << 20) // 32
        return pd.DataFrame(
            {
                "a": rng.random(n),
                "b": rng.integers(0, 1 << 40, n),
                "c": rng.normal(size=n),
                "d": rng.integers(0, 1000, n),
            }
        )
    n = mb * (1 << 20) // 95
    users = np.array([f"user{i:05d}" for i in range(50_000)], dtype=object)
    return pd.DataFrame(
        {
            "price": rng.random(n),
            "quantity": rng.integers(0, 1 << 40, n),
            "score": rng.random(n).astype("float32"),
            "when": pd.date_range("2024-01-01", periods=n, freq="s"),
            # pandas' default string dtype for the installed version.
            "user": pd.Series(users[rng.integers(0, len(users), n)].tolist()),
            "country": pd.Categorical(rng.integers(0, 100, n).astype(str)),
        }
    )


@benchmark("hashing")
def hashing(ctx: Context) -> list[Row]:
    """hash_value vs joblib.hash: a 256 MB array, a 100 MB DataFrame, a 100,000-item dict (ms)."""
    import numpy as np

    from provenance import hash_value

    try:
        import joblib
    except ImportError as exc:
        return [na_row("hashing", "joblib.hash", None, None, "", f"joblib: {exc}")]

    array_mb = ctx.pick(256, 32)
    frame_mb = ctx.pick(100, 16)
    dict_items = ctx.pick(100_000, 20_000)
    cases: list[tuple[str, Any, float, str, str]] = []
    arr = np.random.default_rng(0).random(array_mb * (1 << 20) // 8)
    cases.append(("hash_array", arr, 10.0, ">= 10x faster", f"{array_mb} MB float64 array"))
    try:
        import pandas  # noqa: F401
    except ImportError:
        pandas_missing = True
    else:
        pandas_missing = False
        mixed = _dataframe(frame_mb, numeric_only=False)
        numeric = _dataframe(frame_mb, numeric_only=True)
        for label, frame, what in (
            ("hash_dataframe", mixed, "floats, ints, timestamps, strings, categorical"),
            ("hash_dataframe_numeric", numeric, "floats and ints only"),
        ):
            mb = frame.memory_usage(deep=True).sum() / 2**20
            shape = f"{frame.shape[0]:,} x {frame.shape[1]}"
            cases.append(
                (label, frame, 5.0, ">= 5x faster", f"{mb:.0f} MB DataFrame {shape}: {what}")
            )
    items = {f"key{i}": i for i in range(dict_items)}
    cases.append(
        ("hash_dict", items, 2.0, ">= 2x faster", f"dict of {dict_items:,} str -> int items")
    )

    rows: list[Row] = []
    if pandas_missing:
        rows.append(na_row("hash_dataframe", "joblib.hash", None, 5.0, ">= 5x faster", "no pandas"))
    for label, value, min_ratio, target, what in cases:
        if hash_value(value) != hash_value(value):
            raise RuntimeError(f"{label}: hash_value is not deterministic")

        def side(fn: Any, value: Any = value) -> Any:
            def run() -> float:
                t0 = time.perf_counter()
                fn(value)
                return time.perf_counter() - t0

            return run

        samples = alternate(
            ctx.rounds, {"provenance": side(hash_value), "joblib": side(joblib.hash)}, warmup=1
        )
        ours = [s * _MS for s in samples["provenance"]]
        theirs = [s * _MS for s in samples["joblib"]]
        note = what
        if label in ("hash_array", "hash_dataframe", "hash_dataframe_numeric"):
            nbytes = value.nbytes if label == "hash_array" else value.memory_usage(deep=True).sum()
            gb = nbytes / 2**30
            note += f"; {gb / (median(ours) / _MS):.1f} vs {gb / (median(theirs) / _MS):.2f} GB/s"
        rows.append(
            Row(
                label,
                "joblib.hash",
                Figure(median(ours), "ms", ours),
                Figure(median(theirs), "ms", theirs),
                min_ratio,
                target,
                note,
            )
        )
    return rows
