"""A script the client tests run as a separate process.

Usage: ``python client_script.py MODE [ARGS...]``

``implicit``          two decorated calls outside any run, then a normal exit
``die``               one decorated call outside any run, then an uncaught error
``run FLOW``          one call in an explicit run of FLOW; prints the run's pathspec
``race FLOW``         print ``ready``, wait for a line on stdin, then as ``run FLOW``

The repo is the default one (``$PROVENANCE_HOME`` or ``./.provenance``) unless
``CLIENT_SCRIPT_CONFIG`` holds a JSON configuration.
"""

from __future__ import annotations

import json
import os
import sys

import provenance as p


@p.provenance()
def double(x: int) -> int:
    return 2 * x


def main(argv: list[str]) -> None:
    config = os.environ.get("CLIENT_SCRIPT_CONFIG")
    if config:
        p.load_config(json.loads(config))
    mode = argv[0]
    if mode == "implicit":
        double(1)
        double(2)
        print("done")
    elif mode == "die":
        double(3)
        raise RuntimeError("the script died")
    elif mode in ("run", "race"):
        if mode == "race":
            print("ready", flush=True)
            sys.stdin.readline()
        with p.run(argv[1]) as r:
            double(os.getpid())
        print(r.pathspec)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
