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


def _string_frame(mb: int, dtype: str) -> Any:
    """A DataFrame of about ``mb`` MB (deep memory usage) of four string columns.

    Short repeated ids, a word, free text of 0-80 characters with some accents
    and about 5% missing values: the string side of a typical table.  ``dtype``
    is ``"str"`` (pandas 3's default string dtype, Arrow-backed when pyarrow is
    installed) or ``"object"`` (pandas 2's default).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    words = np.array(["alpha", "beta", "gamma", "délta", "epsilon", "zêta", "eta", "theta"])

    def build(n: int) -> Any:
        ids = np.char.add("id", rng.integers(0, 10**6, n).astype(str))
        text = [" ".join(words[rng.integers(0, len(words), k)]) for k in rng.integers(0, 12, n)]
        notes: list[str | None] = list(text)
        for i in rng.integers(0, n, n // 20):
            notes[i] = None
        return pd.DataFrame(
            {
                "id": pd.Series(ids.tolist(), dtype=dtype),
                "word": pd.Series(words[rng.integers(0, len(words), n)].tolist(), dtype=dtype),
                "text": pd.Series(text, dtype=dtype),
                "note": pd.Series(notes, dtype=dtype),
            }
        )

    sample = build(10_000)
    per_row = sample.memory_usage(deep=True).sum() / len(sample)
    return build(int(mb * (1 << 20) / per_row))


@benchmark("hashing")
def hashing(ctx: Context) -> list[Row]:
    """hash_value vs joblib.hash: a 256 MB array, 50-100 MB DataFrames, a 100,000-item dict (ms)."""
    import numpy as np

    from provenance import hash_value

    try:
        import joblib
    except ImportError as exc:
        return [na_row("hashing", "joblib.hash", None, None, "", f"joblib: {exc}")]

    array_mb = ctx.pick(256, 32)
    frame_mb = ctx.pick(100, 16)
    strings_mb = ctx.pick(50, 8)
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
        import pandas as pd

        mixed = _dataframe(frame_mb, numeric_only=False)
        numeric = _dataframe(frame_mb, numeric_only=True)
        str_frame = _string_frame(strings_mb, "str")
        str_kind = f"pandas {pd.__version__} str dtype ({str_frame['id'].dtype.storage}-backed)"
        object_frame = _string_frame(strings_mb, "object")
        for label, frame, what in (
            ("hash_dataframe", mixed, "floats, ints, timestamps, strings, categorical"),
            ("hash_dataframe_numeric", numeric, "floats and ints only"),
            ("hash_dataframe_strings", str_frame, f"4 string columns, {str_kind}, 5% missing"),
            ("hash_dataframe_object_strings", object_frame, "4 object columns of str, 5% None"),
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
        if label.startswith(("hash_array", "hash_dataframe")):
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
