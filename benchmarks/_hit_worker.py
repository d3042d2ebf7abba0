"""Run in a fresh process: call ``small_fn(i, "abc", 2.5)`` for i < n through one library.

Usage::

    python benchmarks/_hit_worker.py LIB ROOT N MODE [--profile HTML]

``MODE`` is ``populate`` (every call a miss: fill the cache) or ``hit`` (every
call must be served from the cache).  Prints one JSON object on stdout:

``setup_s``
    From the top of this script (after interpreter start-up) until the cached
    function is ready: importing the library and loading its configuration.
``call_s``
    Seconds of each call, in order (the first one included).
``ran``
    How many times the function really ran: ``n`` when populating, 0 for hits.

Interpreter start-up is excluded; everything the library does in this process
(imports, opening the repository, first-call work) is included.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def main(argv: list[str]) -> int:
    lib, root, n_text, mode = argv[:4]
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    n = int(n_text)

    import _subjects  # noqa: PLC0415  (benchmarks/ is sys.path[0] when run as a script)

    fn = _subjects.make_cached(lib, root, _subjects.small_fn)
    t_ready = time.perf_counter()
    setup_s = t_ready - _T0

    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()

    call_s, bad = _subjects.time_small_calls(fn, n)

    if profiler is not None and profile:
        profiler.stop()
        with open(profile, "w", encoding="utf-8") as f:
            f.write(profiler.output_text(unicode=False, color=False, show_all=False))

    if bad:
        print(f"wrong results for i in {bad[:5]}", file=sys.stderr)
        return 2
    json.dump(
        {
            "lib": lib,
            "mode": mode,
            "n": n,
            "setup_s": setup_s,
            "call_s": call_s,
            "ran": _subjects.CALLS,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
