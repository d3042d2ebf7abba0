"""What runs and their tags are called: tag rules, system tags, the implicit run's flow."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import Any

from ._version import __version__
from .errors import MetaflowTaggingError
from .runinfo import _user

__all__ = [
    "CACHED_TAG",
    "FLOW_TAG",
    "OUTPUT_MEMBERS",
    "MAX_TAG_LENGTH",
    "NAME_FORBIDDEN",
    "default_flow_name",
    "notebook_file",
    "system_tags",
    "validate_tag",
    "validate_tags",
]

#: Tags longer than this are refused (Metaflow's limit).
MAX_TAG_LENGTH = 500
#: The system tag of a task served from the cache.
CACHED_TAG = "cached"
#: The system tag of a run of a :class:`~provenance.flow.FlowSpec` flow.
FLOW_TAG = "runtime:flowspec"
#: The members of a flow task's composite artifact that hold its captured
#: stdout and stderr (attributes beginning with ``_`` are never a step's
#: artifacts, so no artifact can take these names).
OUTPUT_MEMBERS = ("_stdout", "_stderr")

NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.\-]+")


def validate_tag(tag: Any) -> str:
    """Return ``tag`` if it can be a user tag, else raise :class:`MetaflowTaggingError`."""
    if not isinstance(tag, str):
        raise MetaflowTaggingError(f"tags must be strings, got {type(tag).__name__}: {tag!r}")
    if not tag:
        raise MetaflowTaggingError("tags must not be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise MetaflowTaggingError(
            f"tag {tag[:40]!r}... is {len(tag)} characters long; the limit is {MAX_TAG_LENGTH}"
        )
    return tag


def validate_tags(tags: Iterable[Any] | None, what: str = "tags") -> list[str]:
    """Validate a collection of tags (a lone string is refused: it would be split)."""
    if tags is None:
        return []
    if isinstance(tags, (str, bytes)):
        raise MetaflowTaggingError(f"{what} must be a collection of strings, not one string")
    return list(dict.fromkeys(validate_tag(t) for t in tags))


def system_tags() -> list[str]:
    """The tags every run gets when it starts."""
    major, minor, micro = sys.version_info[:3]
    return [
        f"user:{_user()}",
        f"python_version:{major}.{minor}.{micro}",
        f"provenance_version:{__version__}",
    ]


def notebook_file() -> str | None:
    """The path of the notebook this kernel runs, when it can be known; else ``None``.

    A Jupyter server (2 and later) tells its kernels in ``JPY_SESSION_NAME``;
    VS Code sets ``__vsc_ipynb_file__`` in the user's namespace.  Only a path
    with a suffix counts (``analysis.ipynb``): a console's session name is
    not a file.
    """
    found: Any = None
    if "ipykernel" in sys.modules:
        # Only in a kernel: a terminal opened by Jupyter may inherit the variable.
        found = os.environ.get("JPY_SESSION_NAME")
    ipython = sys.modules.get("IPython")
    if not found and ipython is not None:
        shell = getattr(ipython, "get_ipython", lambda: None)()
        found = (getattr(shell, "user_ns", None) or {}).get("__vsc_ipynb_file__")
    if not isinstance(found, str) or not os.path.splitext(os.path.basename(found))[1]:
        return None
    return found


def default_flow_name() -> str:
    """The flow of the implicit run: the main script's or notebook's name, or ``interactive``."""
    main = sys.modules.get("__main__")
    notebook = notebook_file()
    if notebook is not None:
        stem = os.path.splitext(os.path.basename(notebook))[0]
        named = NAME_FORBIDDEN.sub("_", stem)[:255]
        if named not in ("", ".", ".."):
            return named
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules or "IPython" in sys.modules:
        # A REPL, IPython or a notebook kernel not known by file: no script names the flow.
        return "interactive"
    spec = getattr(main, "__spec__", None)
    name = None
    if spec is not None and getattr(spec, "name", None):
        # ``python -m package`` runs ``package.__main__``: the package names the flow.
        name = spec.name[: -len(".__main__")] if spec.name.endswith(".__main__") else spec.name
    elif getattr(main, "__file__", None) or (sys.argv and sys.argv[0] not in ("", "-c")):
        script = getattr(main, "__file__", None) or sys.argv[0]
        name = os.path.splitext(os.path.basename(str(script)))[0]
    if not name:
        return "interactive"
    return NAME_FORBIDDEN.sub("_", name.rsplit(".", 1)[-1]) or "interactive"
