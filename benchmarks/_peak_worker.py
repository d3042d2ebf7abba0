"""One side of a peak-memory comparison, in a fresh process (see bench_memory.py).

Usage::

    python _peak_worker.py SIDE OP KIND MB ROOT [ARTIFACT_ID]

``SIDE`` is ``provenance`` or ``peer`` (numpy for arrays, pandas for
frames), ``OP`` is ``store`` or ``load``, ``KIND`` is ``array`` or
``frame``.  The libraries are imported (and provenance configured) first,
and the resident memory then is ``imports_mb``; the value is built (to
store), the peak resident memory is reset (``/proc/self/clear_refs``), so
what the building left behind does not count, and the operation runs.
Prints one JSON line: ``imports_mb``, the peak during the operation
(``peak_mb``), and for a provenance store the artifact id.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import _subjects


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    # "5" resets the peak resident set size (VmHWM) to the current one.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def stored(key: int) -> Any:
    """The decorated function: returns the value built before the call."""
    return _PAYLOAD.pop("value")


_PAYLOAD: dict[str, Any] = {}


def _build(kind: str, mb: int, key: int) -> Any:
    if kind == "array":
        import numpy as np

        value = np.random.default_rng(key).random(mb * (1 << 20) // 8)
        return value
    from bench_hashing import _dataframe

    frame = _dataframe(mb, numeric_only=False)
    frame.iloc[0, 0] = float(key)
    return frame


def main() -> None:
    side, op, kind, mb_text, root = sys.argv[1:6]
    mb = int(mb_text)
    out: dict[str, Any] = {}
    npy = os.path.join(root, "peer.npy")
    parquet = os.path.join(root, "peer.parquet")
    if kind == "frame":
        import pandas as pd
    else:
        import numpy as np
    if side == "provenance":
        import provenance

        provenance.load_config(_subjects.provenance_config(os.path.join(root, "provenance")))
        provenance.get_default_repo()
    key = int(time.time() * 1e6) % (1 << 30)
    out["imports_mb"] = _status_mb("VmRSS")
    value = _build(kind, mb, key) if op == "store" else None
    if value is not None:
        _PAYLOAD["value"] = value
        del value
    _reset_peak()
    if side == "provenance" and op == "store":
        proxy = provenance.provenance(name="peak_subject")(stored)(key)
        out["artifact_id"] = proxy.artifact.id
        out["serializer"] = proxy.artifact.serializer
    elif side == "provenance":
        loaded = provenance.load_proxy(sys.argv[6])
        len(loaded)  # a proxy loads on first use
    elif op == "store" and kind == "array":
        np.save(npy, _PAYLOAD.pop("value"))
    elif op == "store":
        _PAYLOAD.pop("value").to_parquet(parquet, engine="pyarrow")
    elif kind == "array":
        loaded = np.load(npy)
    else:
        loaded = pd.read_parquet(parquet, engine="pyarrow")
    out["peak_mb"] = _status_mb("VmHWM")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
