"""Keep the API reference complete: document every name of ``provenance.__all__``.

``api.rst`` documents most public names by hand, grouped by topic.  The
``public-api`` directive adds autodoc entries for the names of
``provenance.__all__`` that the page does not document explicitly, so a
name added to the package appears in the reference without anyone having to
remember it::

    .. public-api:: exceptions     every exception class not yet documented
    .. public-api:: rest           every other name not yet documented
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_EXPLICIT = re.compile(
    r"^\.\. auto(?:function|class|data|exception|decorator)::\s+(?:provenance\.)?(\w+)\s*$",
    re.MULTILINE,
)
_SKIP = {"__version__"}


def _kind(obj: Any) -> str:
    if isinstance(obj, type):
        return "autoexception" if issubclass(obj, BaseException) else "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


class PublicApi(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        import provenance

        which = self.arguments[0]
        if which not in ("exceptions", "rest"):
            raise self.error("public-api takes 'exceptions' or 'rest'")
        with open(self.env.doc2path(self.env.docname), encoding="utf-8") as f:
            explicit = set(_EXPLICIT.findall(f.read()))
        lines = []
        for name in sorted(provenance.__all__):
            if name in explicit or name in _SKIP:
                continue
            kind = _kind(getattr(provenance, name))
            if (kind == "autoexception") != (which == "exceptions"):
                continue
            lines += [f".. {kind}:: provenance.{name}"]
            if kind == "autoexception":
                lines += ["   :show-inheritance:"]
            elif kind == "autoclass":
                lines += ["   :members:"]
            lines += [""]
        if not lines:
            return []
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source="public-api"), container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("public-api", PublicApi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
