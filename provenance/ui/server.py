"""Serving the web view: uvicorn on the loopback address, with a random token.

The URL printed carries the token (as Jupyter's does), so another user of
the machine, who can reach 127.0.0.1 too, cannot read the repository.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any

from ..errors import require

__all__ = ["HOST", "serve", "serve_in_thread", "url_of"]

#: The only address served: never another interface.
HOST = "127.0.0.1"


def url_of(port: int, token: str) -> str:
    """The address to open, token included."""
    return f"http://{HOST}:{port}/?token={token}"


def serve(
    repo: Any = None,
    *,
    port: int = 8700,
    token: str | None = None,
    open_browser: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the web view of ``repo`` (the configured default when omitted) until interrupted.

    Parameters
    ----------
    port : int
        The port on 127.0.0.1; 0 lets the system choose one.
    token : str, optional
        The secret the URL carries; a random one when omitted.
    open_browser : bool
        Open the URL in the user's browser once the server is up.
    announce : callable, optional
        Given the URL once the server listens (by default, printed to stderr).
    """
    from .. import config

    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be from 0 to 65535, got {port!r}")
    repo = repo if repo is not None else config.resolve_repo()
    secret: str = token or secrets.token_urlsafe(24)
    say = announce or (lambda url: print(f"provenance ui serving {repo!r} at\n    {url}",
                                        file=sys.stderr, flush=True))  # fmt: skip
    sock = _listen(int(port))
    url = url_of(sock.getsockname()[1], secret)

    def started() -> None:
        say(url)
        if open_browser:
            webbrowser.open(url)

    _server(repo, secret, sock, started).run(sockets=[sock])


def _listen(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1 on ``port`` (0: a free one), so the app knows its port."""
    # IPPROTO_TCP named: asyncio turns Nagle off only on sockets that say they
    # are TCP, and with it on, every response after the first on a kept-alive
    # connection waited 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot listen on {HOST}:{port}: {exc.strerror}; give another port, "
            "or 0 for any free one"
        ) from None  # fmt: skip
    return sock


def _server(
    repo: Any, token: str, sock: socket.socket, started: Callable[[], None] | None = None
) -> Any:
    """The uvicorn server of the view on ``sock``; ``started`` is called once it listens."""
    require("uvicorn", "ui", "provenance ui")
    import uvicorn

    from .app import make_app

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if started is not None and not self.should_exit:
                started()

    gate = make_app(repo, token, port=sock.getsockname()[1])
    return Server(uvicorn.Config(gate, log_level="warning", lifespan="off"))


def serve_in_thread(repo: Any, token: str, *, timeout: float = 30.0) -> tuple[Any, str]:
    """Serve ``repo`` on a free port in a daemon thread: the server and its base URL.

    For a program that drives the view itself (the benchmark, the docs'
    screenshots); ``server.should_exit = True`` stops it.  Every request
    still needs ``token``.
    """
    sock = _listen(0)
    server = _server(repo, token, sock)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web view did not start within {timeout} s")
        time.sleep(0.01)
    return server, f"http://{HOST}:{sock.getsockname()[1]}"
