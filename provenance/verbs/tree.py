"""An artifact's upstream lineage as an indented text tree (``provenance lineage ID``).

Read from the index alone, as the drawings are (:mod:`.vis`), and needs
neither graphviz nor networkx::

    bc97d98ededf  fit  pipeline.fit() v0
    ├── train: 3bb1838ff6b5  split_train  pipeline.split() v0 [train]
    │   ├── df = DataFrame 150×5
    │   └── frac = float 0.6
    ├── test: ebbc2a3fdad0  split_test  pipeline.split() v0 [test]
    │   └── … the same call as 3bb1838ff6b5, above
    └── weights = ndarray float64 (1000,)

An artifact reached a second time is not expanded again (``… see above``);
one removed or evicted while the artifacts computed from it were kept is a
line of its own, ``gone (removed or evicted)``.
"""

from __future__ import annotations

from typing import Any

from .calls import GONE, Call, group_calls, literal_inputs
from .lineage import coerce_artifact

__all__ = ["lineage_tree"]

#: The characters of the id shown on each line (as ``provenance ls`` shows them).
SHORT = 12


def _describe(artifact_id: str, found: dict[str, Any], call: Call) -> str:
    art = found.get(artifact_id)
    if art is None:
        return f"{artifact_id[:SHORT]}  {GONE}"
    function = ".".join(x for x in (art.fn_module, art.fn_name) if x) or art.name
    line = f"{artifact_id[:SHORT]}  {art.name}  {function}() v{art.version}"
    key = call.keys.get(artifact_id)
    return f"{line} [{key}]" if key else line


def _order(parameter: str, names: list[str]) -> int:
    base = parameter.split("[", 1)[0].split(".", 1)[0]
    return names.index(base) if base in names else len(names)


def lineage_tree(
    artifact_or_proxy: Any,
    depth: int | None = None,
    repo: Any = None,
    show_literals: bool = True,
) -> str:
    """The upstream lineage of an artifact as an indented text tree.

    Each line is an artifact (short id, name, function and version, and its
    key if it is a composite's member) under the artifact computed from it,
    labelled by parameter; the inputs that are not artifacts are lines of
    their own (``alpha = float 0.5``, ``df = DataFrame 150×5``).

    Parameters
    ----------
    depth : int, optional
        How many calls upstream to show (all when omitted); an artifact
        whose inputs lie deeper says how many it has.
    show_literals : bool
        Show the inputs that are not artifacts.

    Returns
    -------
    str
        The tree, one line per node, without a trailing newline.
    """
    artifact = coerce_artifact(artifact_or_proxy, repo)
    owner = artifact.repo
    if owner is None:
        raise ValueError(f"artifact {artifact.id} is not stored in a repository")
    index = owner.index
    ids = list(index.related([artifact.id], "upstream", depth))
    found = owner.get_artifacts(ids)
    _, call_of = group_calls(found, ids)
    parents: dict[str, list[tuple[str, str]]] = {}
    shown = set(ids)
    for child, parent, parameter in index.edges_among(ids):
        if parent in shown:  # the others are deeper than the depth
            parents.setdefault(child, []).append((parameter, parent))

    lines: list[str] = []
    expanded: set[str] = set()
    calls_shown: dict[int, str] = {}
    # Depth-first without recursion (a lineage can be thousands deep):
    # (artifact id, label, indent of its line, indent of its children).
    stack: list[tuple[str | None, str, str, str]] = [(artifact.id, "", "", "")]
    while stack:
        artifact_id, label, lead, below = stack.pop()
        if artifact_id is None:  # a leaf line: a literal input or a note
            lines.append(lead + label)
            continue
        call = call_of.get(artifact_id) or Call(artifact_id, [artifact_id])
        lines.append(lead + label + _describe(artifact_id, found, call))
        children = _children(
            artifact_id, found, call, parents, expanded, calls_shown, shown, show_literals
        )
        expanded.add(artifact_id)
        calls_shown.setdefault(id(call), artifact_id)
        for position, (child, text) in reversed(list(enumerate(children))):
            last = position == len(children) - 1
            stack.append(
                (
                    child,
                    text,
                    below + ("└── " if last else "├── "),
                    below + ("    " if last else "│   "),
                )
            )
    return "\n".join(lines)


def _children(
    artifact_id: str,
    found: dict[str, Any],
    call: Call,
    parents: dict[str, list[tuple[str, str]]],
    expanded: set[str],
    calls_shown: dict[int, str],
    ids: set[str],
    show_literals: bool,
) -> list[tuple[str | None, str]]:
    """The lines under an artifact: ``(artifact id or None for a leaf, label)``."""
    art = found.get(artifact_id)
    if art is None:
        return []
    names = list((art.inputs_summary.get("kargs") or {}).keys())
    entries: list[tuple[int, str | None, str]] = [
        (_order(parameter, names), parent, f"{parameter}: ")
        for parameter, parent in parents.get(artifact_id, [])
    ]
    if show_literals:
        entries += [
            (_order(name, names), None, f"{name} = {label}") for name, label in literal_inputs(art)
        ]
    # The order of the recorded inputs: the signature's, where the index keeps
    # the order of JSON keys (PostgreSQL's JSONB sorts them).
    entries.sort(key=lambda e: e[0])
    children: list[tuple[str | None, str]] = [(child, text) for _, child, text in entries]
    beyond = len([i for i in art.input_artifact_ids or [] if i not in ids])
    if beyond:
        many = "s" if beyond > 1 else ""
        children.append((None, f"… {beyond} more input artifact{many}, deeper than the depth"))
    if children and artifact_id in expanded:
        return [(None, "… see above")]
    first = calls_shown.get(id(call))
    if children and first is not None:
        return [(None, f"… the same call as {first[:SHORT]}, above")]
    return children
