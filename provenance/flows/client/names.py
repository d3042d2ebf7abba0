"""How an artifact name becomes a pathspec component: the ids of steps and data artifacts.

A step of a run is named after its decorated function's artifact name, and
a data artifact after its name, which may hold any character (the original
library accepted ``name="models/train"``).  A pathspec component may not:
``/`` separates the components, and ``.`` or ``..`` alone would read as a
relative path.  So the id of a step or data artifact is its name with

* ``%`` written ``%25`` and ``/`` written ``%2F`` (so ``models/train`` is
  ``models%2Ftrain`` and ``models%2Ftrain`` is ``models%252Ftrain``);
* a name that is exactly ``.`` or ``..`` written ``%2E`` or ``%2E%2E``.

Every other character stands for itself, so a name without these is its
own id (every step of a FlowSpec run, whose names are Python identifiers).
The quoting is injective (two names never share an id) and
:func:`unquote_name` undoes it.  Reading an id back, only these escapes are
decoded (in either case of hex digit); any other ``%`` stands for itself,
so ids written before the quoting (``'100%'``) still find their step.
"""

from __future__ import annotations

import re

__all__ = ["quote_name", "unquote_name"]

#: The escapes :func:`quote_name` writes, and the characters they stand for.
_ESCAPES = {"%25": "%", "%2F": "/", "%2E": "."}
_ESCAPE = re.compile("%(?:25|2[Ff]|2[Ee])")


def quote_name(name: str) -> str:
    """The pathspec component (the id) of a step or data artifact called ``name``.

    Parameters
    ----------
    name : str
        An artifact name, or the name of a data artifact.

    Returns
    -------
    str
        ``name`` with ``%`` as ``%25`` and ``/`` as ``%2F``; ``.`` and ``..``
        as ``%2E`` and ``%2E%2E``.  It never contains ``/``.
    """
    if name in (".", ".."):
        return "%2E" * len(name)
    return name.replace("%", "%25").replace("/", "%2F")


def unquote_name(component: str) -> str:
    """The name a step's or data artifact's pathspec component stands for.

    The inverse of :func:`quote_name`: ``unquote_name(quote_name(n)) == n``.

    Parameters
    ----------
    component : str
        A step or data artifact id, as in a pathspec.

    Returns
    -------
    str
        ``component`` with ``%25``, ``%2F`` and ``%2E`` decoded; any other
        ``%`` is kept as it is.
    """
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0).upper()], component)
