"""The web view's Starlette application: its routes and the gate in front of them.

Every request passes :class:`Gate` first:

* the ``Host`` header must name the loopback address the server listens on
  (a page elsewhere cannot reach it by rebinding a DNS name to 127.0.0.1);
* the token must come with it, as ``?token=`` (which also sets a cookie
  for the pages that follow, as Jupyter does), the cookie, or an
  ``Authorization: token ...`` header; it is compared in constant time;
* only ``GET`` and ``HEAD``: the view is read-only.

Pages are Jinja2 templates with autoescaping on: a name or value holding
``<script>`` is shown as text.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..errors import require
from . import flows, sets, views

__all__ = ["COOKIE", "Gate", "make_app"]

#: The cookie that carries the token after the first page.
COOKIE = "provenance_ui_token"
_HERE = Path(__file__).parent


class Gate:
    """ASGI middleware: refuse a request without the token, from another host, or not a GET."""

    def __init__(self, app: Any, token: str, hosts: frozenset[str]) -> None:
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "") not in self.hosts:
            return await _refuse(send, 421, "this server answers only on its loopback address")
        if scope["method"] not in ("GET", "HEAD"):
            return await _refuse(send, 405, "provenance ui is read-only")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        cookie = SimpleCookie(headers.get("cookie", "")).get(COOKIE)
        auth = headers.get("authorization", "")
        candidates = [given, cookie.value if cookie else "", auth.removeprefix("token ").strip()]
        if not any(c and hmac.compare_digest(c, self.token) for c in candidates):
            return await _refuse(
                send, 403, "a token is required: open the URL that `provenance ui` printed"
            )
        if given:

            async def with_cookie(message: Any) -> None:
                if message["type"] == "http.response.start":
                    value = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                    message["headers"] = [*message["headers"], (b"set-cookie", value.encode())]
                await send(message)

            return await self.app(scope, receive, with_cookie)
        return await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def make_app(repo: Any, token: str, *, port: int = 8700) -> Any:
    """The application serving ``repo``, behind :class:`Gate` with ``token``.

    Parameters
    ----------
    repo : Repository
        What the pages show.
    token : str
        The secret every request must carry.
    port : int
        The port the server listens on: the ``Host`` headers accepted are
        ``127.0.0.1:port`` and ``localhost:port``.
    """
    require("starlette", "ui", "provenance ui")
    require("jinja2", "ui", "provenance ui")
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    if not token or len(token) < 16:
        raise ValueError("token must be a secret of at least 16 characters")
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    env.filters.update(views.FILTERS)
    routes = [
        Route("/", views.artifacts, methods=["GET"]),
        Route("/artifacts/{artifact_id}", views.artifact, methods=["GET"]),
        Route("/artifacts/{artifact_id}/lineage", views.lineage, methods=["GET"]),
        Route("/artifacts/{artifact_id}/preview", views.value_preview, methods=["GET"]),
        Route("/compare", views.compare, methods=["GET"]),
        Route("/flows", flows.flows_page, methods=["GET"]),
        Route("/flows/{flow}", flows.flow_page, methods=["GET"]),
        Route("/flows/{flow}/{run}", flows.run_page, methods=["GET"]),
        Route("/flows/{flow}/{run}/{step}", flows.step_page, methods=["GET"]),
        Route("/flows/{flow}/{run}/{step}/{task}", flows.task_page, methods=["GET"]),
        Route("/sets", sets.sets_page, methods=["GET"]),
        Route("/sets/{set_id}", sets.set_page, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers=views.HANDLERS)
    app.state.repo, app.state.env = repo, env
    return Gate(app, token, frozenset({f"127.0.0.1:{port}", f"localhost:{port}"}))
