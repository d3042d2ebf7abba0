"""Metaflow's "store artifacts across steps" tutorial, with decorated functions as steps.

Each step is a ``@provenance`` function; ``provenance.run`` groups the calls
into a run of the flow ``ArtFlow``.  ``start`` stores ``some_data``,
``middle`` updates it, ``end`` reads it.  Run it twice: the second run is
served from the cache, and the client view records that too.

    python examples/client/art_flow.py --run-id-file artifacts-run.txt
    python examples/client/browse.py artifacts-run.txt
"""

from __future__ import annotations

import argparse

import provenance as p


# A step that sets named values returns a dict with returns_composite=True:
# each key becomes its own data artifact (here: some_data).
@p.provenance(returns_composite=True)
def start() -> dict[str, list[int]]:
    return {"some_data": [1, 2, 3]}


@p.provenance(returns_composite=True)
def middle(some_data: list[int]) -> dict[str, list[int]]:
    print(f"the data artifact is: {list(some_data)}")
    # A new list: changing an input in place would change the artifact it came from.
    return {"some_data": [*some_data[:2], 4]}


@p.provenance()
def end(some_data: list[int]) -> str:
    print(f"the data artifact is: {list(some_data)}")
    return f"finished with {len(some_data)} items"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-id-file", help="write the run id to this file")
    parser.add_argument("--tag", action="append", default=[], help="a user tag for the run")
    args = parser.parse_args()

    with p.run("ArtFlow", tags=args.tag) as run:
        # Passing a step's output into the next step records the lineage.
        state = start()
        state = middle(state["some_data"])
        end(state["some_data"])
    print(f"run {run.pathspec} finished")
    if args.run_id_file:
        with open(args.run_id_file, "w") as f:
            f.write(run.id)


if __name__ == "__main__":
    main()
