"""Checking every stored value against its hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import resolve_repo
from ..errors import BlobNotFound
from ..hashing import hash_bytes, hash_file
from ..storage.blobstores import Staged
from .gc import GRACE_PERIOD

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass(frozen=True)
class Problem:
    """One artifact whose stored value is missing or corrupt."""

    artifact_id: str
    name: str
    blob_id: str | None
    kind: str  # "missing" or "corrupt"
    detail: str


@dataclass
class VerifyReport:
    """What :func:`verify` found."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Staging files older than the grace period: writers killed mid-write
    #: left them.  They do not harm any value; ``gc`` removes them.
    staging: list[Staged] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every value was found intact."""
        return not self.problems


def verify(
    repo: Any = None,
    progress: Callable[[int], None] | None = None,
    grace_period: float = GRACE_PERIOD,
) -> VerifyReport:
    """Check every artifact's stored bytes against their recorded hash.

    Parameters
    ----------
    repo : Repository or str, optional
        The repo to check (the default repo if omitted); every member of a
        chained repo is checked.
    progress : callable, optional
        Called with the number of artifacts checked so far, now and then.
    grace_period : float
        Staging files older than this many seconds are reported (younger ones
        may belong to a write in progress), as :func:`~provenance.gc` would
        remove them.

    Returns
    -------
    VerifyReport
        ``report.ok`` is true when nothing is missing or corrupt.
    """
    report = VerifyReport()
    resolved = resolve_repo(repo)
    seen: set[int] = set()
    for member in getattr(resolved, "repos", [resolved]):
        store = member.blobstore
        if id(store) not in seen:
            seen.add(id(store))
            report.staging.extend(store.staging(older_than=grace_period))
        for artifact_id, name, blob_id, _serializer, inline in member.index.storage_rows():
            report.checked += 1
            if progress is not None and report.checked % 100 == 0:
                progress(report.checked)
            if blob_id is None:
                report.problems.append(
                    Problem(artifact_id, name, None, "missing", "no value was recorded")
                )
                continue
            expected = blob_id.split(".", 1)[0]
            try:
                if inline is not None:
                    actual = hash_bytes(bytes(inline))
                else:
                    with store.open_local(blob_id) as path:
                        actual = hash_file(path)
            except (BlobNotFound, FileNotFoundError):
                report.problems.append(
                    Problem(artifact_id, name, blob_id, "missing", f"blob {blob_id} is missing")
                )
                continue
            if actual != expected:
                report.problems.append(
                    Problem(
                        artifact_id,
                        name,
                        blob_id,
                        "corrupt",
                        f"blob {blob_id} hashes to {actual}",
                    )  # fmt: skip
                )
    if progress is not None:
        progress(report.checked)
    return report
