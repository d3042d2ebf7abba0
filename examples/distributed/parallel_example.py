"""Run decorated functions in worker processes with joblib (and Dask, if installed).

The repo is configured once, here in the parent.  Workers need no set-up: a
decorated function sent to a worker carries the parent's repo, so what a
worker computes is a cache hit in the parent afterwards, and the other way
round; proxies keep their lineage across processes.

    python examples/distributed/parallel_example.py
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Worker processes import the task module by name too.
os.environ["PYTHONPATH"] = os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])

from joblib import Parallel, delayed  # noqa: E402
from tasks import simulate, summarize  # noqa: E402

import provenance as p  # noqa: E402


def main() -> None:
    home = os.path.abspath(os.environ.get("PROVENANCE_HOME", ".provenance"))
    p.load_config(
        {
            "blobstores": {"disk": {"type": "disk", "cachedir": os.path.join(home, "blobs")}},
            "artifact_repos": {
                "shared": {
                    "type": "sql",
                    # A PostgreSQL URL here lets workers on other machines share it.
                    "db": "sqlite:///" + os.path.join(home, "provenance.db"),
                    "store": "disk",
                }
            },
            "default_repo": "shared",
        }
    )
    start = time.perf_counter()
    results = Parallel(n_jobs=2, backend="loky")(delayed(simulate)(seed) for seed in range(8))
    print(f"joblib: 8 simulations in {time.perf_counter() - start:.2f} s")

    start = time.perf_counter()
    again = [simulate(seed) for seed in range(8)]  # computed by the workers: cache hits here
    print(f"parent: the same 8 calls in {time.perf_counter() - start:.3f} s (cache hits)")
    assert [a.artifact.id for a in again] == [r.artifact.id for r in results]

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        summary = summarize(results)
    else:
        with (
            LocalCluster(n_workers=2, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            summary = client.submit(summarize, results).result()
        print("dask: summarized in a worker")
    print(f"summary {dict(summary)}; lineage: {len(summary.artifact.input_artifact_ids)} inputs")


if __name__ == "__main__":
    main()
