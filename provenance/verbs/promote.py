"""Promotion: copying artifacts, with their whole lineage, into another repo.

For each artifact (dependencies first) the blobs are copied before the index
row that refers to them, and the row with its edges and tags is written in
one transaction.  A promotion stopped half way therefore leaves no row whose
blob is missing, and running it again completes it.  Blobs are copied as
bytes: values are never deserialized.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..artifact import Artifact
from ..config import resolve_repo
from ..errors import ArtifactNotFound, PermissionDenied, SetNotFound
from ..storage.index import COLUMNS
from ..storage.stored_inputs import refs_in_summary
from .lineage import _topological, coerce_artifact
from .sets import ArtifactSet, load_set_by_id

__all__ = ["promote"]


def _members(repo: Any) -> list[Any]:
    return list(getattr(repo, "repos", [repo]))


def _targets(to_repo: Any) -> list[Any]:
    if not to_repo.write:
        raise PermissionDenied(
            f"cannot promote into {to_repo!r}: it is configured with write: false"
        )
    targets = [r for r in _members(to_repo) if r.write]
    for target in targets:
        if not target.blobstore.write:
            raise PermissionDenied(
                f"cannot promote into {target!r}: its blobstore is configured with write: false"
            )
    return targets


def _composite_members(artifact: Artifact) -> list[str]:
    if not artifact.composite:
        return []
    inline = artifact._get("value_inline")
    if inline is not None:
        data = bytes(inline)
    else:
        assert artifact.repo is not None and artifact.blob_id is not None
        data = artifact.repo.blobstore.get(artifact.blob_id)
    return list(json.loads(data).values())


def _closure(source: Any, root_ids: list[str]) -> tuple[Any, list[str], list[tuple[str, str, str]]]:
    """The artifacts to copy from ``source`` (lineage and composite members), in order."""
    index = source.index
    ids = dict.fromkeys(index.related(root_ids, "upstream"))
    while True:
        artifacts = source.get_artifacts(list(ids))
        missing = [i for i in ids if i not in artifacts]
        if missing:
            # The whole lineage or nothing: a target must never hold a row
            # whose parents it cannot have.
            raise ArtifactNotFound(
                f"cannot promote: {source!r} lacks artifacts of the lineage, removed or "
                f"evicted since: {', '.join(missing[:5])}; call the functions that computed "
                "them again (with the same arguments they are stored under the same ids), "
                "then promote"
            )
        extra = [m for a in artifacts.values() for m in _composite_members(a) if m not in ids]
        if not extra:
            break
        ids.update(dict.fromkeys(index.related(extra, "upstream")))
    edges = index.edges_among(list(ids))
    return artifacts, _topological(list(ids), edges), edges


def _source_for(artifact_id: str, from_repo: Any) -> Any:
    for member in _members(from_repo):
        if member.read and member.index.exists(artifact_id):
            return member
    raise ArtifactNotFound(f"artifact {artifact_id} is not in {from_repo!r}")


def _copy(
    source: Any,
    target: Any,
    root_ids: list[str],
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    artifacts, order, edges = _closure(source, root_ids)
    present = set(target.index.get_many(order))
    tags = source.index.tags_among(order)
    edges_of: dict[str, list[tuple[str, str]]] = {}
    for child, parent, parameter in edges:
        edges_of.setdefault(child, []).append((parent, parameter))
    copied = []
    sources: dict[str, tuple[str, str, dict[str, str]] | None] = {}
    for artifact_id in order:
        if progress is not None:
            progress(1)
        if artifact_id in present:
            continue
        art = artifacts[artifact_id]
        row = {name: art._get(name) for name in COLUMNS}
        for name in ("load_kwargs", "dump_kwargs", "inputs_json", "input_artifact_ids",
                     "custom_fields", "run_info", "input_hashes"):  # fmt: skip
            row[name] = getattr(art, name)
        row["composite"] = art.composite
        row["computed_at"] = art.computed_at
        blobs = [k for k in (row["blob_id"], row["inputs_blob_id"]) if k]
        if row["value_inline"] is not None:
            blobs = [k for k in blobs if k != row["blob_id"]]
        # Inputs stored apart go along (copy_to skips those already there).
        blobs += [ref.blob for ref in refs_in_summary(row["inputs_json"])]
        # Blobs first, row last: a stopped promotion leaves no dangling row.
        source.blobstore.copy_to(target.blobstore, blobs)
        # The code's source goes along, so that ``why`` can show it there
        # (read once per fingerprint: a lineage's artifacts share a few).
        fingerprint = row.get("code_fingerprint")
        if fingerprint and fingerprint not in sources:
            found = source.index.code_source(fingerprint)
            sources[fingerprint] = found and (fingerprint, found["source"], found["packages"])
        code = sources.get(fingerprint) if fingerprint else None
        put = target.index.put(
            row, edges_of.get(artifact_id, []), tags.get(artifact_id, []), code=code
        )
        if put:
            copied.append(artifact_id)
    return copied


def promote(
    artifact_or_id: Any,
    to_repo: Any,
    from_repo: Any = None,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Copy an artifact (or a set) and everything in its lineage into ``to_repo``.

    Artifacts already in the target are skipped, so promoting twice is
    harmless and a promotion that was interrupted completes when run again.

    Parameters
    ----------
    artifact_or_id : Artifact, ArtifactProxy, ArtifactSet or str
        What to promote; a string is an artifact id, or else a set id.
    to_repo, from_repo : Repository or str
        Repo objects or configured repo names; ``from_repo`` defaults to the
        default repo.
    progress : callable, optional
        Called with the number of artifacts handled (copied or found already
        present) so far, once per artifact.

    Returns
    -------
    list of str
        The ids of the artifacts copied by this call.

    Raises
    ------
    PermissionDenied
        If the target is not writable (nothing is changed).
    ArtifactNotFound
        If an artifact of the lineage was removed or evicted from the source
        while those computed from it were kept (nothing is copied).
    """
    to_repo = resolve_repo(to_repo)
    from_repo = resolve_repo(from_repo)
    targets = _targets(to_repo)
    artifact_set: ArtifactSet | None = None
    if isinstance(artifact_or_id, ArtifactSet):
        artifact_set = artifact_or_id
    elif isinstance(artifact_or_id, str):
        try:
            _source_for(artifact_or_id, from_repo)
        except ArtifactNotFound:
            try:
                artifact_set = load_set_by_id(artifact_or_id, repo=from_repo)
            except SetNotFound:
                raise ArtifactNotFound(
                    f"{artifact_or_id} is neither an artifact nor a set in {from_repo!r}"
                ) from None
    if artifact_set is not None:
        roots = sorted(artifact_set.artifact_ids)
    else:
        roots = [coerce_artifact(artifact_or_id, from_repo).id]

    by_source: dict[int, tuple[Any, list[str]]] = {}
    for root in roots:
        source = _source_for(root, from_repo)
        by_source.setdefault(id(source), (source, []))[1].append(root)
    copied: list[str] = []
    handled = 0

    def step(n: int) -> None:
        nonlocal handled
        handled += n
        if progress is not None:
            progress(handled)

    for target in targets:
        for source, ids in by_source.values():
            copied.extend(_copy(source, target, ids, step if progress is not None else None))
        if artifact_set is not None:
            artifact_set.save(target)
    return list(dict.fromkeys(copied))
