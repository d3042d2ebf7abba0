"""Read back what ../flows/art_flow.py recorded, with Metaflow's client API.

python examples/flows/art_flow.py run --run-id-file artifacts-run.txt
python examples/client/browse.py artifacts-run.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

from provenance.client import Flow, Metaflow, Run, get_namespace


def main() -> None:
    run_id = Path(sys.argv[1]).read_text().strip() if len(sys.argv) > 1 else None

    # A run by its id, as art_flow.py wrote it.
    if run_id:
        some_data = Run(f"ArtFlow/{run_id}").data.some_data
        print(f"Run('ArtFlow/{run_id}').data.some_data = {list(some_data)}")

    # The latest run of the flow, and the one before it.
    flow = Flow("ArtFlow")
    latest = flow.latest_run
    assert latest is not None
    print(f"latest run {latest.pathspec}: some_data = {list(latest.data.some_data)}")
    print(f"flows in namespace {get_namespace()}: {[f.id for f in Metaflow()]}")
    print(f"runs of ArtFlow, newest first: {[r.id for r in flow]}")

    # Steps, tasks and their data artifacts, with where cached values came from.
    for step in latest:
        for task in step:
            status = "cached" if "cached" in task.tags else "computed"
            origin = f" (first computed by {task.origin_pathspec})" if task.origin_pathspec else ""
            outputs = ", ".join(f"{a.id} sha={a.sha[:12]} size={a.size}" for a in task.artifacts)
            print(f"  {task.pathspec:<24} {status}{origin}: {outputs}")

    # The value is also the artifact: its lineage is a step away.
    some_data = latest["middle"].task["some_data"].data
    print(f"middle's some_data was computed from: {some_data.artifact.input_artifact_ids}")
    print(f"tags of {latest.pathspec}: {sorted(latest.tags)}")


if __name__ == "__main__":
    main()
