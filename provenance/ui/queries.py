"""What the web view's pages show, read through the index's listings and the repository.

No SQL of its own: a page of artifacts is :meth:`PlainReads.page` of each
repository a chained repo holds (merged newest first), the task that made an
artifact is :func:`~provenance.storage.run_queries.computing_task`, and the
rest is what :class:`~provenance.storage.artifact.Artifact` carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ..errors import ArtifactNotFound, InvalidValue
from ..flows.client.names import quote_name
from ..inputs import artifact_ref
from ..storage import run_queries
from ..storage.ids import check_id
from ..storage.prefixes import readable_members
from ..storage.stored_inputs import input_sizes

__all__ = [
    "PAGE_SIZE",
    "ArtifactDetails",
    "ArtifactRow",
    "Listing",
    "artifact_details",
    "compare",
    "check_id",
    "decode_cursor",
    "encode_cursor",
    "list_artifacts",
    "parse_field",
    "spec_url",
]

#: Artifacts per page of the list.
PAGE_SIZE = 50


@dataclass(frozen=True)
class ArtifactRow:
    """One line of the artifacts list."""

    id: str
    name: str
    version: int
    size: int | None
    computed_at: datetime | None
    function: str
    run: str | None  # the pathspec of the task that computed it, "Flow/3/step/1"


@dataclass(frozen=True)
class Listing:
    """A page of the artifacts list and the cursor of the next one (``None`` at the end)."""

    rows: list[ArtifactRow]
    next_cursor: str | None


def encode_cursor(computed_at: datetime, artifact_id: str) -> str:
    """The ``after=`` parameter that continues a listing after this row."""
    return f"{computed_at.astimezone(timezone.utc).isoformat()}~{artifact_id}"


def decode_cursor(text: str) -> tuple[datetime, str]:
    """The ``(computed_at, id)`` of an ``after=`` parameter, checked before any query."""
    when, sep, artifact_id = text.partition("~")
    try:
        if not sep:
            raise ValueError
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise InvalidValue(
            f"after={text!r} is not a cursor of this listing: follow the 'next' link"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment, check_id(artifact_id)


def parse_field(text: str) -> tuple[str, Any]:
    """``(key, value)`` of a ``key=value`` custom-field filter."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidValue(f"the field filter must look like key=value, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, (list, dict)):
        value = raw
    return key.strip(), value


def spec_url(pathspec: str) -> str:
    """The URL path of ``pathspec``: each component quoted, ``/`` and ``%`` too.

    A step's or data artifact's id may hold ``%`` (the client quotes ``/`` in
    a name as ``%2F``); the server unquotes a path once before matching it to
    a route, so each component is quoted again.
    """
    return "/".join(quote(part, safe="") for part in pathspec.split("/"))


def _tasks_of(member: Any, artifact_ids: list[str]) -> dict[str, str]:
    """The pathspec of the task that computed each artifact (``"Flow/3/step/1"``), if any.

    One query for a page of ids (a page has at most :data:`PAGE_SIZE`).
    """
    if not artifact_ids:
        return {}
    found: dict[str, str] = {}
    for artifact_id, flow, run, step, task in member.index.read_rows(
        *run_queries.computing_tasks(artifact_ids)
    ):
        found.setdefault(artifact_id, f"{flow}/{run}/{quote_name(step)}/{task}")
    return found


def list_artifacts(
    repo: Any,
    *,
    name: str | None = None,
    contains: str | None = None,
    tag: str | None = None,
    field: str | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> Listing:
    """A page of ``repo``'s artifacts, newest first, after the cursor ``after``.

    ``field`` is ``key=value``: a custom field holding that value, read as
    JSON when it parses (``epochs=3``, ``gpu=true``), else as a string.
    """
    cursor = decode_cursor(after) if after else None
    custom = parse_field(field) if field else None
    found: dict[str, tuple[Any, Any]] = {}
    for member in readable_members(repo):
        # One more than shown says whether there is a next page.
        for row in member.index.page(
            name=name or None, contains=contains or None, tag=tag or None,
            field=custom, after=cursor, limit=limit + 1,
        ):  # fmt: skip
            found.setdefault(row[0], (row, member))
    ordered = sorted(
        found.values(),
        key=lambda item: (-(item[0][4].timestamp() if item[0][4] else 0.0), item[0][0]),
    )
    shown = ordered[:limit]
    tasks: dict[str, str] = {}
    for member in {id(m): m for _, m in shown}.values():
        tasks.update(_tasks_of(member, [r[0] for r, m in shown if m is member]))
    rows = [
        ArtifactRow(
            id=r[0], name=r[1], version=r[2], size=r[3], computed_at=r[4],
            function=".".join(x for x in (r[5], r[6]) if x) or "-",
            run=tasks.get(r[0]),
        )
        for r, _ in shown
    ]  # fmt: skip
    more = len(ordered) > limit and shown and shown[-1][0][4] is not None
    last = shown[-1][0] if shown else None
    return Listing(rows, encode_cursor(last[4], last[0]) if more and last else None)


@dataclass
class ArtifactDetails:
    """Everything the page of one artifact shows but its value and drawing."""

    artifact: Any
    function: str
    tags: list[str]
    custom_fields: dict[str, Any]
    inputs: list[tuple[str, Any, str | None]]  # (parameter, summary, artifact id if one)
    parents: list[tuple[str, str, str | None]]  # (id, parameter, name)
    task: str | None
    run_info: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the function's stored source (its code fingerprint's)
    inputs_size: int | None = None  # the row's pickle, its inputs blob and inputs stored apart
    siblings: list[tuple[str, int, datetime | None]] = field(default_factory=list)
    #: The parents no longer in the repo (removed or evicted since): shown, not linked.
    gone: frozenset[str] = frozenset()


def _owner(repo: Any, artifact_id: str) -> tuple[Any, Any]:
    for member in readable_members(repo):
        artifact = member.lookup(artifact_id)
        if artifact is not None:
            return member, artifact
    raise ArtifactNotFound(f"no artifact {artifact_id} in {repo!r}")


def artifact_details(repo: Any, artifact_id: str) -> ArtifactDetails:
    """What the page of the artifact ``artifact_id`` shows (the id is checked first)."""
    member, artifact = _owner(repo, check_id(artifact_id))
    summary = artifact.inputs_summary
    inputs = [
        (parameter, value, artifact_ref(value))
        for parameter, value in (summary.get("kargs") or {}).items()
    ]
    inputs += [
        (f"*args[{i}]", value, artifact_ref(value))
        for i, value in enumerate(summary.get("varargs") or [])
    ]
    edges = member.index.lineage_edges(artifact.id)
    names = repo.get_artifacts([parent for parent, _ in edges]) if edges else {}
    parents = [
        (parent, parameter, names[parent].name if parent in names else None)
        for parent, parameter in edges
    ]
    custom = {k: v for k, v in (artifact.custom_fields or {}).items() if k != "tags"}
    return ArtifactDetails(
        artifact=artifact,
        function=".".join(x for x in (artifact.fn_module, artifact.fn_name) if x) or "-",
        tags=list(member.index.tags_of(artifact.id)),
        custom_fields=custom,
        inputs=inputs,
        parents=parents,
        task=_tasks_of(member, [artifact.id]).get(artifact.id),
        run_info=dict(artifact.run_info or {}),
        source=_source(member, artifact),
        inputs_size=input_sizes(member, [artifact.id])[0].get(artifact.id),
        # Other calls of the same name: what "compare with" offers first.
        siblings=[
            (r[0], r[2], r[4])
            for r in member.index.page(name=artifact.name, limit=21)
            if r[0] != artifact.id
        ][:20],
        gone=frozenset(parent for parent, _, name in parents if name is None),
    )


def _source(member: Any, artifact: Any) -> str | None:
    fingerprint = artifact.code_fingerprint
    if not fingerprint:
        return None
    found = member.index.code_source(fingerprint)
    return None if found is None else str(found["source"])


def compare(repo: Any, left_id: str, right_id: str) -> Any:
    """How the identities of two artifacts differ (:func:`~provenance.why.compare_artifacts`)."""
    from ..why import compare_artifacts

    _, left = _owner(repo, check_id(left_id))
    _, right = _owner(repo, check_id(right_id))
    return compare_artifacts(left, right)
