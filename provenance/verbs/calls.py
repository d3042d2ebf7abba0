"""The calls of a lineage, as drawings and the text tree show them.

A lineage is stored as artifacts and edges between them, but a reader thinks
in calls: ``split(df)`` made ``split_train`` and ``split_test``.  This module
turns the artifacts of a lineage into :class:`Call` objects (one per call,
a ``returns_composite`` call owning all its members) and labels the inputs
that are not artifacts from their recorded JSON summary, without loading
anything pickled: ``DataFrame 150×5``, ``ndarray float64 (1000,)``,
``int 3``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..hashing import hash_value
from ..inputs import artifact_ref

__all__ = ["GONE", "Call", "group_calls", "input_label", "literal_inputs"]

#: Longer reprs of literal inputs are cut to this many characters.
MAX_LITERAL = 40
#: What stands for an artifact that a lineage names and the repo no longer
#: has (removed or evicted while its children were kept): the tree,
#: ``provenance show`` and the drawings say the same.
GONE = "gone (removed or evicted)"


def _short(text: str) -> str:
    return text if len(text) <= MAX_LITERAL else text[: MAX_LITERAL - 1] + "…"


def input_label(summary: Any) -> str:
    """A short label for the recorded JSON summary of an input that is not an artifact.

    Arrays and frames give their type and shape (``DataFrame 150×5``,
    ``ndarray float64 (1000,)``; only their type if recorded before shapes
    were), files their name, long strings their length, and plain values
    their type and a short repr (``int 3``, ``str 'train'``).
    """
    if isinstance(summary, Mapping) and "$type" in summary:
        kind = str(summary["$type"])
        short = kind.rpartition(".")[2] or kind
        if kind == "provenance.File":
            return f"File {os.path.basename(str(summary.get('$path', '')))}"
        shape = summary.get("$shape")
        if isinstance(shape, list) and shape:
            dtype = summary.get("$dtype")
            if dtype is None and len(shape) == 2:
                return f"{short} {shape[0]}×{shape[1]}"
            return " ".join([short, *([str(dtype)] if dtype else []), str(tuple(shape))])
        if "$len" in summary:
            return f"{short} ({summary['$len']} characters)"
        if "$repr" in summary:
            return f"{short} {summary['$repr']}"
        return short
    if summary is None:
        return "None"
    if isinstance(summary, (bool, int, float)):
        return f"{type(summary).__name__} {summary!r}"
    if isinstance(summary, str):
        return f"str {_short(repr(summary))}"
    text = json.dumps(summary, sort_keys=True, default=str)
    kind = type(summary).__name__
    if '"$type"' in text:  # holds summarized values: their hashes say nothing to a reader
        return f"{kind} ({len(summary)} {'keys' if kind == 'dict' else 'items'})"
    return f"{kind} {_short(text)}"


def literal_inputs(artifact: Any) -> list[tuple[str, str]]:
    """``(parameter, label)`` of each input of ``artifact`` that is not an artifact."""
    summary = artifact.inputs_summary
    found = [
        (name, input_label(value))
        for name, value in (summary.get("kargs") or {}).items()
        if artifact_ref(value) is None
    ]
    found += [
        (f"*args[{i}]", input_label(value))
        for i, value in enumerate(summary.get("varargs") or [])
        if artifact_ref(value) is None
    ]
    return found


@dataclass(eq=False)
class Call:
    """One call of a lineage: the artifacts it made, and the composite that holds them.

    Attributes
    ----------
    node : str
        An id for the call: its composite artifact's id, else its first
        output's.
    outputs : list of str
        The artifacts the call made that are drawn: one, or a composite's
        members.
    keys : dict
        The composite key of each output (empty for a plain call).
    composite : Artifact or None
        The composite artifact of a ``returns_composite`` call, when known.
    """

    node: str
    outputs: list[str]
    keys: dict[str, str] = field(default_factory=dict)
    composite: Any = None

    def first(self, found: Mapping[str, Any]) -> Any:
        """The artifact that describes the call (its composite, else its first output)."""
        if self.composite is not None:
            return self.composite
        return next((found[i] for i in self.outputs if i in found), None)


def _members(composite: Any) -> dict[str, str]:
    """Key to member id of a composite artifact (its JSON index: loading it runs no code)."""
    try:
        return dict(composite.repo.load_value(composite).member_ids)
    except Exception:  # a missing index: the members are drawn as plain calls
        return {}


def _call_key(artifact: Any) -> str | None:
    """What the members of one composite call share: the function, its code and inputs."""
    hashes = artifact.input_hashes
    if hashes is None:
        return None  # recorded before argument hashes: nothing to group by
    return json.dumps(
        [artifact.fn_module, artifact.fn_name, artifact.version, artifact.code_fingerprint,
         artifact.hash_scheme, hashes],
        sort_keys=True, default=str,
    )  # fmt: skip


#: How many of a name's newest composites are searched for the one that
#: holds some members (when not all of them are in the lineage).
_SEARCHED = 200


def _member_group(members: list[str], found: Mapping[str, Any]) -> Call | None:
    """The call of artifacts that one call made, if they are a composite's ``<name>_<key>``s.

    The composite itself is looked up by its value id, the hash of its
    member index (one indexed query per candidate base name), else, when
    only some of its members are in the lineage, among the newest
    composites of that name, by its member index (in its row: no value is
    read).  Artifacts whose composite is not found are not grouped: two
    functions may share code and arguments under different names.
    """
    names = {i: str(found[i].name) for i in members}
    base = os.path.commonprefix(list(names.values()))
    cuts = [i for i, c in enumerate(base) if c == "_" and i > 0]
    repo = found[members[0]].repo
    if not cuts or repo is None:
        return None
    sample = found[members[0]]
    for cut in reversed(cuts):
        keys = {i: n[cut + 1 :] for i, n in names.items()}
        value_id = hash_value({k: i for i, k in keys.items()})
        for candidate in repo.find_artifacts(value_id=value_id):
            if candidate.composite and candidate.name == base[:cut]:
                return Call(candidate.id, members, keys, candidate)
        named = repo.find_artifacts(
            name=base[:cut], version=sample.version, fn_name=sample.fn_name, limit=_SEARCHED
        )
        for candidate in named:
            if candidate.composite and set(members) <= set(_members(candidate).values()):
                return Call(candidate.id, members, keys, candidate)
    return None


def group_calls(found: dict[str, Any], ids: list[str]) -> tuple[list[Call], dict[str, Call]]:
    """The calls that made the artifacts ``ids`` (``found`` holds the records that exist).

    A composite artifact in ``found`` brings its members in (they are
    added to ``found`` and its call owns them); members whose composite is
    not in the lineage are grouped by what a call's outputs share (the
    function, its code, version and argument hashes, and a ``<name>_<key>``
    naming).  Every other artifact is a call of its own.

    Returns
    -------
    calls : list of Call
        In the order of their first artifact in ``ids``.
    call_of : dict
        The call of every artifact id (a composite's id maps to its call).
    """
    call_of: dict[str, Call] = {}
    composites = [found[i] for i in ids if i in found and found[i].composite]
    for composite in composites:
        members = _members(composite)
        missing = [m for m in members.values() if m not in found]
        if missing and composite.repo is not None:
            found.update(composite.repo.get_artifacts(missing))
        call = Call(composite.id, list(members.values()), {m: k for k, m in members.items()},
                    composite)  # fmt: skip
        for artifact_id in [composite.id, *call.outputs]:
            call_of[artifact_id] = call
    groups: dict[str, list[str]] = {}
    for artifact_id in ids:
        art = found.get(artifact_id)
        key = None if art is None or artifact_id in call_of else _call_key(art)
        if key is not None:
            groups.setdefault(key, []).append(artifact_id)
    for group in groups.values():
        grouped = _member_group(group, found) if len(group) > 1 else None
        if grouped is not None:
            for artifact_id in group:
                call_of[artifact_id] = grouped
    calls: list[Call] = []
    seen: set[int] = set()
    for artifact_id in ids:
        if artifact_id not in call_of:
            call_of[artifact_id] = Call(artifact_id, [artifact_id])
        call = call_of[artifact_id]
        if id(call) not in seen:
            seen.add(id(call))
            calls.append(call)
    return calls, call_of
