"""Explaining a miss: how a call's identity differs from the nearest stored artifact.

``f.why(*args, **kwargs)`` and ``provenance diff ID1 ID2`` compare the parts
an artifact id is made of (the name, the version, the code fingerprint, each
argument's hash, the id scheme) and say, readably, which ones differ, with a
unified diff of the normalized source when the code changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hashing import HASH_SCHEME, proxies_changed_in
from .inputs import artifact_ref, json_summary

if TYPE_CHECKING:
    from .artifact import Artifact
    from .decorator import ProvenanceFunction

__all__ = ["Difference", "Explanation", "compare_artifacts", "explain_call"]

#: How many stored artifacts of the function are compared to find the nearest.
_CANDIDATES = 200


@dataclass(frozen=True)
class Difference:
    """One identity part that differs between two sides.

    Attributes
    ----------
    part : str
        ``'name'``, ``'version'``, ``'code'``, ``'argument'`` or ``'scheme'``.
    label : str
        What differs, e.g. ``"argument 'n'"``.
    left, right : str
        Short descriptions of the part on each side.
    detail : str
        A unified diff of the code, for ``'code'``.
    in_id : bool
        Whether the part is part of the id (a code change under ``version=`` is not).
    """

    part: str
    label: str
    left: str
    right: str
    detail: str = ""
    in_id: bool = True


@dataclass(frozen=True)
class Explanation:
    """The result of :meth:`ProvenanceFunction.why` or :func:`compare_artifacts`.

    ``str()`` gives the readable account.

    Attributes
    ----------
    subject : str
        The call (``mod.f(n=3)``) or the right-hand artifact.
    artifact_id : str
        The id of the call (or of the right-hand artifact).
    cached : bool
        Whether the call's id is stored (a hit).
    nearest : Artifact or None
        The stored artifact compared with.
    differences : tuple of Difference
    """

    subject: str
    artifact_id: str
    cached: bool
    nearest: Artifact | None
    differences: tuple[Difference, ...] = ()
    sides: tuple[str, str] = ("stored", "now")
    header: str = field(default="", repr=False)

    def __str__(self) -> str:
        left, right = self.sides
        lines = [self.header] if self.header else []
        if self.nearest is None:
            lines.append(f"{self.subject} is not cached (its id is {self.artifact_id}).")
            lines.append("No stored artifact of this function was found: it never ran here.")
            return "\n".join(lines)
        if not self.header:
            if self.cached:
                lines.append(
                    f"{self.subject} is cached: artifact {self.artifact_id}, "
                    f"computed {_when(self.nearest)}."
                )
            else:
                lines.append(f"{self.subject} is not cached (its id would be {self.artifact_id}).")
                lines.append(
                    f"Nearest stored artifact: {self.nearest.id} ({self.nearest.name}), "
                    f"computed {_when(self.nearest)}."
                )
        in_id = [d for d in self.differences if d.in_id]
        other = [d for d in self.differences if not d.in_id]
        if not self.differences:
            lines.append("Nothing that identifies a call differs.")
        if in_id:
            n = len(in_id)
            lines.append(f"It differs in {n} part{'s' if n > 1 else ''} of its identity:")
            lines.extend(_render(d, left, right) for d in in_id)
        if other:
            lines.append("Not part of the id, but different:")
            lines.extend(_render(d, left, right) for d in other)
        return "\n".join(lines)


def _render(d: Difference, left: str, right: str) -> str:
    text = f"  - {d.label}: {d.right} {right}, {d.left} {left}"
    if d.detail:
        text += "\n" + "\n".join("      " + line for line in d.detail.splitlines())
    return text


def _when(artifact: Artifact) -> str:
    try:
        return artifact.computed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    except Exception:
        return "at an unknown time"


def _brief(summary: Any) -> str:
    """A short text for a JSON summary of an argument (see :func:`inputs.json_summary`)."""
    if isinstance(summary, Mapping):
        if "$changed" in summary:
            return f"artifact {str(summary['$changed'])[:12]}, changed in place since it was made"
        ref = artifact_ref(summary)
        if ref is not None:
            return f"artifact {ref[:12]}"
        if "$path" in summary:
            return f"File({str(summary['$path'])!r}) {str(summary.get('$hash'))[:12]}"
        if "$hash" in summary:
            kind = summary.get("$type", "value")
            extra = f", {summary['$len']} characters" if "$len" in summary else ""
            return f"<{kind}{extra} {str(summary['$hash'])[:12]}>"
    try:
        text = json.dumps(summary, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(summary)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the two sides --------------------------------------------------------------


@dataclass
class _Side:
    name: str
    version: int
    scheme: str
    code: str | None
    source: str | None
    hashes: dict[str, str] | None  # label -> hash; None when not recorded
    summaries: dict[str, Any]


def _labels(kargs: Mapping[str, Any], varargs: Any) -> dict[str, Any]:
    out = {repr(str(k)): v for k, v in kargs.items()}
    out.update({f"*args[{i}]": v for i, v in enumerate(varargs or ())})
    return out


def _artifact_side(artifact: Artifact) -> _Side:
    hashes = artifact.input_hashes
    summary = artifact.inputs_summary
    source = None
    if artifact.code_fingerprint and artifact.repo is not None:
        try:
            found = artifact.repo.code_source(artifact.code_fingerprint)
        except Exception:  # an index without the table, a repo that cannot read
            found = None
        source = found["source"] if found else None
    return _Side(
        name=artifact.name,
        version=artifact.version,
        scheme=artifact.hash_scheme,
        code=artifact.code_fingerprint,
        source=source,
        hashes=_labels(hashes.get("kargs", {}), hashes.get("varargs")) if hashes else None,
        summaries=_labels(summary.get("kargs", {}), summary.get("varargs")),
    )


def _compare(
    left: _Side, right: _Side, code_in_id: bool, sides: tuple[str, str] = ("stored", "now")
) -> list[Difference]:
    """What differs from ``left`` (the stored side) to ``right``."""
    out = []
    if left.scheme != right.scheme:
        out.append(Difference("scheme", "id scheme", left.scheme, right.scheme))
    if left.name != right.name:
        out.append(Difference("name", "name", repr(left.name), repr(right.name)))
    if left.version != right.version:
        out.append(Difference("version", "version", str(left.version), str(right.version)))
    if left.code and right.code and left.code != right.code:
        if left.source is not None and right.source is not None:
            diff = difflib.unified_diff(
                left.source.splitlines(), right.source.splitlines(), *sides, lineterm="", n=2
            )
            detail = "\n".join(diff)
        else:
            detail = "(the source of the stored fingerprint is not in this repo)"
        out.append(
            Difference(
                "code", "code", f"fingerprint {left.code[:12]}", f"fingerprint {right.code[:12]}",
                detail, in_id=code_in_id,
            )
        )  # fmt: skip
    labels = list(dict.fromkeys([*right.summaries, *left.summaries]))
    if left.hashes is not None and right.hashes is not None:
        labels = list(dict.fromkeys([*right.hashes, *left.hashes, *labels]))
    for label in labels:
        if left.hashes is not None and right.hashes is not None:
            same = left.hashes.get(label) == right.hashes.get(label)
        else:  # recorded before argument hashes were: compare the summaries
            same = left.summaries.get(label) == right.summaries.get(label)
        if not same:
            out.append(
                Difference(
                    "argument",
                    f"argument {label}",
                    _brief(left.summaries[label]) if label in left.summaries else "(absent)",
                    _brief(right.summaries[label]) if label in right.summaries else "(absent)",
                )
            )
    return out


# -- entry points ----------------------------------------------------------------


def explain_call(
    fn: ProvenanceFunction, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Explanation:
    """Compare a call of ``fn`` with the nearest stored artifact of the same function."""
    inputs, _ = fn._inputs(args, dict(kwargs))
    hashes, _raw = fn._hash_inputs(inputs, check=False)
    artifact_id = fn._artifact_id(fn.name, hashes)
    code = fn.code_fingerprint()
    summaries = _labels(
        {k: _summary_now(v) for k, v in inputs["kargs"].items()},
        [_summary_now(v) for v in inputs["varargs"]],
    )
    now = _Side(
        name=fn.name,
        version=fn.version,
        scheme=HASH_SCHEME,
        code=code.digest,
        source=code.source,
        hashes=_labels(hashes["kargs"], hashes["varargs"]),
        summaries=summaries,
    )
    code_in_id = fn._code_in_id()
    shown = ", ".join(
        f"{label.strip(chr(39))}={_brief(v)}" if not label.startswith("*") else _brief(v)
        for label, v in summaries.items()
    )
    subject = f"{fn.name}({shown})"
    repo = fn._repo()
    hit = repo.lookup(artifact_id)
    if hit is not None:
        # A hit: only what the id leaves out can differ (the code, under version=).
        diffs = [d for d in _compare(_artifact_side(hit), now, code_in_id=False) if not d.in_id]
        return Explanation(subject, artifact_id, True, hit, tuple(diffs))
    candidates: dict[str, Artifact] = {}
    for artifact in repo.find_artifacts(name=fn.name, limit=_CANDIDATES):
        candidates[artifact.id] = artifact
    if fn.fn_name:
        # The same function stored under another name (an explicit name= since
        # dropped, or a name from before module-qualified names).
        for artifact in repo.find_artifacts(fn_name=fn.fn_name, limit=_CANDIDATES):
            if artifact.fn_module in (fn.module_name, fn.fn_module, None):
                candidates.setdefault(artifact.id, artifact)
    if not candidates:
        return Explanation(subject, artifact_id, False, None)
    best: tuple[int, Artifact, list[Difference]] | None = None
    for artifact in candidates.values():  # newest first: ties keep the newest
        diffs = _compare(_artifact_side(artifact), now, code_in_id=code_in_id)
        score = sum(d.in_id for d in diffs)
        if best is None or score < best[0]:
            best = (score, artifact, diffs)
    assert best is not None
    return Explanation(subject, artifact_id, False, best[1], tuple(best[2]))


def _summary_now(value: Any) -> Any:
    """The JSON summary of an argument, marking a proxy whose value changed in place."""
    found = proxies_changed_in(value)
    if found:
        return {"$changed": found[0].artifact.id}
    return json_summary(value)


def compare_artifacts(left: Artifact, right: Artifact) -> Explanation:
    """Compare the identities of two stored artifacts (``provenance diff ID1 ID2``)."""
    sides = (f"in {left.id[:12]}", f"in {right.id[:12]}")
    diffs = _compare(_artifact_side(left), _artifact_side(right), True, sides)
    header = (
        f"{left.id} ({left.name}, computed {_when(left)})\n"
        f"{right.id} ({right.name}, computed {_when(right)})"
    )
    return Explanation(
        right.name, right.id, False, left, tuple(diffs), sides=sides, header=header,
    )  # fmt: skip
