"""Checking every stored value, and every input stored apart, against its hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import resolve_repo
from ..errors import BlobNotFound, CorruptBlob
from ..hashing import hash_bytes, hash_file
from ..serializers import get_serializer
from ..storage.blobstores import Staged
from ..storage.stored_inputs import InputRef, check_input, keyed_by_value
from .gc import GRACE_PERIOD

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass(frozen=True)
class Problem:
    """One artifact whose stored value (or an input stored apart) is missing or corrupt.

    For an input, ``detail`` names the parameter; the same blob shared by
    several artifacts is checked once and reported for each of them.
    """

    artifact_id: str
    name: str
    blob_id: str | None
    kind: str  # "missing" or "corrupt"
    detail: str


@dataclass
class VerifyReport:
    """What :func:`verify` found."""

    checked: int = 0
    #: Inputs stored apart (each blob checked once, however many artifacts share it).
    inputs_checked: int = 0
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

    Inputs stored apart (big arguments, once per value) are checked too: a
    blob keyed by the value's hash is loaded (its serializer is a safe one,
    which runs no code) and hashed again; one that is an artifact's value
    blob is checked by the hash of its bytes.

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
        _verify_inputs(member, report)
    if progress is not None:
        progress(report.checked)
    return report


def _verify_inputs(member: Any, report: VerifyReport) -> None:
    verdicts: dict[str, tuple[str, str] | None] = {}
    for artifact_id, name, ref in member.index.stored_inputs():
        if ref.blob not in verdicts:
            report.inputs_checked += 1
            verdicts[ref.blob] = _check_input(member.blobstore, ref)
        found = verdicts[ref.blob]
        if found is not None:
            kind, detail = found
            report.problems.append(
                Problem(artifact_id, name, ref.blob, kind, f"input {ref.parameter!r}: {detail}")
            )


def _check_input(store: Any, ref: InputRef) -> tuple[str, str] | None:
    """``(kind, detail)`` of what is wrong with a stored input, or ``None``."""
    try:
        with store.open_local(ref.blob) as path:
            if not keyed_by_value(ref.blob):
                actual = hash_file(path)
                if actual != ref.blob.split(".", 1)[0]:
                    return "corrupt", f"blob {ref.blob} hashes to {actual}"
                return None
            value = get_serializer(ref.serializer).load(path)
    except (BlobNotFound, FileNotFoundError):
        return "missing", f"blob {ref.blob} is missing"
    except Exception as exc:  # unreadable bytes are a corrupt blob
        return "corrupt", f"blob {ref.blob} does not load with {ref.serializer}: {exc}"
    try:
        check_input(value, ref.parameter, ref.blob, ref.value_hash)
    except CorruptBlob as exc:
        return "corrupt", str(exc)
    return None
