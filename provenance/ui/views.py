"""The web view's pages: one function per route, each rendering one template.

Every parameter is checked before it reaches a query (an id must be
hexadecimal, a depth a small number, a cursor one this listing made); a
bad one is a ``400`` page naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..display.html import duration, size
from ..errors import ClientError, InvalidValue, MetaflowInvalidPathspec, NotFound
from . import queries
from .preview import preview

__all__ = [
    "FILTERS",
    "HANDLERS",
    "artifact",
    "artifacts",
    "compare",
    "lineage",
    "render",
    "value_preview",
]

#: Depths the lineage drawing may be asked for, upstream and downstream.
MAX_DEPTH = 10


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


# Sizes and durations read as the notebook cards give them.
FILTERS = {
    "size": size, "when": _when, "duration": duration, "short": lambda i: i[:10],
    "spec_url": queries.spec_url,
}  # fmt: skip


def render(request: Any, template: str, status: int = 200, **context: Any) -> Any:
    from starlette.responses import HTMLResponse

    page = request.app.state.env.get_template(template).render(request=request, **context)
    return HTMLResponse(page, status_code=status)


def _text(request: Any, key: str, limit: int = 255) -> str:
    value = request.query_params.get(key, "").strip()
    if len(value) > limit:
        raise InvalidValue(f"the {key} parameter is longer than {limit} characters")
    return value


def _depth(request: Any, key: str, default: int) -> int:
    text = request.query_params.get(key, str(default))
    if not text.isdigit() or int(text) > MAX_DEPTH:
        raise InvalidValue(
            f"the {key} parameter must be a depth from 0 to {MAX_DEPTH}, got {text!r}"
        )
    return int(text)


async def artifacts(request: Any) -> Any:
    """The artifacts list: a page, or (for htmx) just the rows of the next one."""
    # Each filter by its URL parameter; "q" searches names.
    params = {"name": "name", "q": "contains", "tag": "tag", "field": "field"}
    given = {key: _text(request, key) for key in params}
    criteria: dict[str, Any] = {params[key]: value for key, value in given.items()}
    listing = queries.list_artifacts(
        request.app.state.repo, after=_text(request, "after", 600) or None, **criteria
    )
    keep = {k: v for k, v in given.items() if v}
    more = "/?" + urlencode({**keep, "after": listing.next_cursor}) if listing.next_cursor else None
    template = "rows.html" if request.headers.get("hx-request") else "artifacts.html"
    return render(request, template, listing=listing, more=more, **criteria)


async def artifact(request: Any) -> Any:
    """The page of one artifact."""
    details = queries.artifact_details(request.app.state.repo, request.path_params["artifact_id"])
    up, down = _depth(request, "up", 3), _depth(request, "down", 1)
    return render(request, "artifact.html", d=details, a=details.artifact, up=up, down=down)


async def lineage(request: Any) -> Any:
    """The lineage drawing of one artifact, as an HTML fragment (loaded by htmx)."""
    from .drawing import lineage_svg

    artifact_id = queries.check_id(request.path_params["artifact_id"])
    up, down = _depth(request, "up", 3), _depth(request, "down", 1)
    svg = lineage_svg(request.app.state.repo, artifact_id, up, down, "/artifacts/{id}")
    return render(request, "lineage.html", svg=svg)


async def value_preview(request: Any) -> Any:
    """The preview of one artifact's value, as an HTML fragment (loaded by htmx)."""
    details = queries.artifact_details(request.app.state.repo, request.path_params["artifact_id"])
    return render(request, "preview.html", p=preview(details.artifact))


def _message(exc: Exception) -> str:
    # A KeyError's str() quotes its message.
    return str(exc.args[0]) if exc.args else type(exc).__name__


async def compare(request: Any) -> Any:
    """How two artifacts' identities differ: ``/compare?a=ID&b=ID``."""
    left, right = _text(request, "a", 128), _text(request, "b", 128)
    if not left or not right:
        raise InvalidValue("compare needs two artifact ids, as ?a=ID&b=ID")
    explanation = queries.compare(request.app.state.repo, left, right)
    return render(request, "compare.html", e=explanation, a=left, b=right)


async def _bad_request(request: Any, exc: Exception) -> Any:
    return render(request, "error.html", 400, title="Bad request", message=_message(exc))


async def _not_found(request: Any, exc: Exception) -> Any:
    return render(request, "error.html", 404, title="Not found", message=_message(exc))


HANDLERS: dict[Any, Any] = {
    InvalidValue: _bad_request,
    ValueError: _bad_request,
    MetaflowInvalidPathspec: _bad_request,
    NotFound: _not_found,
    # A flow outside the namespace is not found in it (the message says which).
    ClientError: _not_found,
}
