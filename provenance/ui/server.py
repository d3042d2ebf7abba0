"""Serving the web view: uvicorn on the loopback address, with a random token.

The URL printed carries the token (as Jupyter's does), so another user of
the machine, who can reach 127.0.0.1 too, cannot read the repository.
"""

from __future__ import annotations

import secrets
import sys
import webbrowser
from collections.abc import Callable
from typing import Any

from ..errors import require

__all__ = ["HOST", "serve", "url_of"]

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
    require("uvicorn", "ui", "provenance ui")
    import uvicorn

    from .. import config
    from .app import make_app

    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be from 0 to 65535, got {port!r}")
    repo = repo if repo is not None else config.resolve_repo()
    secret: str = token or secrets.token_urlsafe(24)
    say = announce or (lambda url: print(f"provenance ui serving {repo!r} at\n    {url}",
                                        file=sys.stderr, flush=True))  # fmt: skip

    class Server(uvicorn.Server):
        # The port is known once the socket is bound (port 0 picks one).
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
            gate.hosts = frozenset({f"{HOST}:{bound}", f"localhost:{bound}"})
            url = url_of(bound, secret)
            say(url)
            if open_browser:
                webbrowser.open(url)

    gate = make_app(repo, secret, port=port)
    server = Server(uvicorn.Config(gate, host=HOST, port=int(port), log_level="warning",
                                   lifespan="off"))  # fmt: skip
    server.run()
