"""A script the concurrency and fault tests run as separate processes.

Usage: ``python worker_script.py CONFIG_JSON MODE [ARGS...]``

``race START``      wait until time START, then make one shared call
``write N``         make calls 0..N-1 (values large enough to be blobs)
``promote ID REPO`` promote an artifact into the named repo
``big_input START K MB``  wait until START, then call ``column_sum`` with a
                    seeded MB-megabyte array (the same in every process) and K
"""

from __future__ import annotations

import json
import sys
import time

import provenance as p


@p.provenance()
def shared(x: int) -> dict[str, object]:
    time.sleep(0.2)
    return {"x": x, "data": list(range(5000))}


@p.provenance()
def chunk(i: int) -> bytes:
    # Large values go to the blobstore, small ones into the index row.
    return bytes([i % 256]) * (20_000 if i % 2 else 100)


@p.provenance()
def column_sum(a: object, k: int) -> float:
    return float(a.sum()) * k  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    p.load_config(json.loads(argv[0]))
    mode = argv[1]
    if mode == "race":
        start = float(argv[2])
        while time.time() < start:
            time.sleep(0.001)
        r = shared(42)
        print(r.artifact.id, r.artifact.value_id)
    elif mode == "write":
        for i in range(int(argv[2])):
            chunk(i)
            if i == 0:
                print("ready", flush=True)
        print("done")
    elif mode == "promote":
        start = float(argv[4])
        while time.time() < start:
            time.sleep(0.001)
        p.promote(argv[2], argv[3])
        print("promoted")
    elif mode == "big_input":
        import numpy as np

        start, k, mb = float(argv[2]), int(argv[3]), int(argv[4])
        a = np.random.default_rng(7).random(mb * 2**20 // 8)
        print("ready", flush=True)
        while time.time() < start:
            time.sleep(0.001)
        print(column_sum(a, k).artifact.id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
