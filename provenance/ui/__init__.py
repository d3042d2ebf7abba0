"""``provenance ui``: a local, read-only web view of a repository.

A person browses what a repository holds: the artifacts (searchable, a page
at a time by keyset, so a page costs the same on a million of them), one
artifact with its inputs, the run and task that made it, a preview of its
value within the repository's trust, and its lineage as a drawing whose
nodes open the artifacts they stand for.

The pieces:

* :mod:`.app`, the Starlette application: its routes and the gate every
  request passes (the token, the host, read-only methods);
* :mod:`.queries`, what a page shows, read through the index's own
  listings and the repository's public methods;
* :mod:`.drawing`, the lineage as inline SVG drawn by graphviz ``dot``;
* :mod:`.preview`, a value shown small, never unpickled from an untrusted
  repository;
* :mod:`.server`, :func:`serve`: uvicorn on 127.0.0.1 with a random token,
  as Jupyter does.

Everything here needs the ``ui`` extra (``pip install 'provenance[ui]'``):
Starlette, uvicorn and Jinja2.  The page's script, htmx, is vendored in
``static/`` with its licence, so the page works offline.
"""

from __future__ import annotations

from typing import Any

__all__ = ["make_app", "serve"]


def make_app(repo: Any, token: str, **options: Any) -> Any:
    """The ASGI application of the web view of ``repo`` (see :func:`.app.make_app`)."""
    from .app import make_app as _make_app

    return _make_app(repo, token, **options)


def serve(repo: Any = None, **options: Any) -> None:
    """Serve the web view of ``repo`` until interrupted (see :func:`.server.serve`)."""
    from .server import serve as _serve

    _serve(repo, **options)
