"""A moto S3 server for the S3 benchmark, run as a process of its own.

Usage::

    python benchmarks/_s3_server.py [DELAY_MS]

Binds a free port on 127.0.0.1, prints ``READY <port>`` on stdout and serves
until killed.  ``DELAY_MS`` (default 0) makes every request wait that long
before moto handles it, without using any CPU: a stand-in for the network
round trip to a real S3 endpoint (moto on localhost has none).

This is what ``python -m moto.server`` runs (moto's WSGI application in
werkzeug's threaded server) without the request log, on a port chosen by the
operating system, so that no other process can take it first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any


def main(argv: list[str]) -> int:
    delay = float(argv[0]) / 1e3 if argv else 0.0

    import logging

    logging.getLogger("werkzeug").disabled = True  # no line per request
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app: Any = DomainDispatcherApplication(create_backend_app)
    if delay > 0:
        inner = app

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            time.sleep(delay)
            return inner(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
