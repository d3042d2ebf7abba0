"""The original library's repository methods, written once over the repository primitives.

Code written for the original ``provenance`` reaches its repositories
through ``get_default_repo()`` and calls these names.  Both repository
classes inherit them; each is a few lines over :meth:`get_artifact`,
:meth:`get_artifacts`, :meth:`find_artifacts` and :meth:`delete_artifact`,
which the classes implement.

The set methods (``put_set``, ``get_set_by_id``, ...) return
:class:`~provenance.ArtifactSet` objects, which belong to the sets verbs one
layer up; :mod:`provenance.verbs.sets` fills :data:`SET_VERBS` with the
functions they call when it is imported (as ``import provenance`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactNotFound, InvalidId, SetNotFound
from .artifact import Artifact
from .ids import check_id
from .observers import notify
from .proxies import is_proxy

__all__ = ["SET_VERBS", "OriginalRepositoryMethods", "artifact_id_of"]

#: ``load_set_by_id``, ``load_set_by_labels``, ``load_set_by_name`` and
#: ``delete_set``, each taking ``repo=``: registered by provenance.verbs.sets.
SET_VERBS: dict[str, Callable[..., Any]] = {}


def _set_verb(name: str) -> Callable[..., Any]:
    try:
        return SET_VERBS[name]
    except KeyError:
        raise RuntimeError(
            f"repository set methods need provenance.verbs.sets ({name}); import provenance"
        ) from None


def artifact_id_of(artifact_or_id: Any) -> str:
    """The id of an artifact, a proxy (``.artifact``) or an id."""
    if isinstance(artifact_or_id, str):
        return artifact_or_id
    found = (
        artifact_or_id.artifact.id
        if is_proxy(artifact_or_id)
        else artifact_or_id.id
        if isinstance(artifact_or_id, Artifact)
        else None
    )
    if not isinstance(found, str):
        raise TypeError(
            f"expected an artifact, a proxy or an artifact id, got {type(artifact_or_id).__name__}"
        )
    return found


def _as_artifact_id(artifact_id: Any) -> str:
    # The original looked ids up as keys: one that cannot be an id is not found
    # (a KeyError), rather than the InvalidId (a ValueError) of this library's API.
    try:
        return check_id(artifact_id)
    except InvalidId as exc:
        raise ArtifactNotFound(f"no artifact with id {artifact_id!r}: {exc}") from None


class OriginalRepositoryMethods:
    """``get_by_id``, ``batch_get_by_id``, ``get_by_value_id``, ``get_value``,
    ``get_inputs``, ``run_info``, ``delete``, ``repo[id]`` and the set methods
    ``put_set``, ``get_set_by_id``, ``get_set_by_labels``, ``get_set_by_name``,
    ``contains_set`` and ``delete_set``, as the original had them."""

    if TYPE_CHECKING:  # the primitives the repository classes implement

        def get_artifact(self, artifact_id: str) -> Artifact: ...

        def get_artifacts(self, artifact_ids: Iterable[str]) -> dict[str, Artifact]: ...

        def find_artifacts(
            self, *, value_id: str | None = None, limit: int | None = None
        ) -> list[Artifact]: ...

        def delete_artifact(self, artifact_id: str) -> bool: ...

    def get_by_id(self, artifact_id: str) -> Artifact:
        """The artifact with this id; :class:`~provenance.ArtifactNotFound` (a KeyError) if none.

        Seen by :func:`~provenance.capture_set`, as a load.
        """
        artifact = self.get_artifact(_as_artifact_id(artifact_id))
        notify(artifact)
        return artifact

    def __getitem__(self, artifact_id: str) -> Artifact:
        return self.get_by_id(artifact_id)

    def batch_get_by_id(self, artifact_ids: Iterable[str]) -> list[Artifact]:
        """The artifacts of these ids, in their order, in batched queries.

        Raises :class:`~provenance.ArtifactNotFound` naming the ids not found.
        """
        ids = [_as_artifact_id(i) for i in artifact_ids]
        found = self.get_artifacts(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ArtifactNotFound(f"artifact(s) {', '.join(missing)} are not in {self!r}")
        for i in ids:
            notify(found[i])
        return [found[i] for i in ids]

    def get_by_value_id(self, value_id: str) -> Artifact:
        """The newest artifact whose value has this id (equal values share one)."""
        found = self.find_artifacts(value_id=value_id, limit=1)
        if not found:
            raise ArtifactNotFound(f"no artifact with value id {value_id} is in {self!r}")
        notify(found[0])
        return found[0]

    def get_value(self, artifact_or_id: Any) -> Any:
        """The value of an artifact (given as an artifact, a proxy or an id)."""
        return self.get_artifact(artifact_id_of(artifact_or_id)).value

    def get_inputs(self, artifact_or_id: Any) -> dict[str, Any]:
        """The recorded inputs of an artifact: ``{'kargs': {...}, 'varargs': [...]}``."""
        return self.get_artifact(artifact_id_of(artifact_or_id)).inputs

    def run_info(self, artifact_or_id: Any) -> dict[str, Any]:
        """The run information (host, process, user, start time) recorded with an artifact."""
        return dict(self.get_artifact(artifact_id_of(artifact_or_id)).run_info or {})

    def delete(self, artifact_or_id: Any) -> None:
        """Remove an artifact from the index (its blob stays for ``gc``).

        Raises :class:`~provenance.ArtifactNotFound` if the repo did not hold it,
        as the original's ``KeyError`` did.
        """
        artifact_id = artifact_id_of(artifact_or_id)
        if not self.delete_artifact(artifact_id):
            raise ArtifactNotFound(f"artifact {artifact_id} is not in {self!r}")

    # -- sets ------------------------------------------------------------------------

    def put_set(self, artifact_set: Any, read_through: bool = False) -> Any:
        """Store an :class:`~provenance.ArtifactSet` here (idempotent) and return it as stored.

        ``read_through`` is accepted for the original's signature and ignored.
        """
        return artifact_set.put(self)

    def get_set_by_id(self, set_id: str) -> Any:
        """The stored set with this id; :class:`~provenance.SetNotFound` (a KeyError) if none."""
        try:
            check_id(set_id, "set id")
        except InvalidId as exc:
            raise SetNotFound(f"no artifact set with id {set_id!r}: {exc}") from None
        return _set_verb("load_set_by_id")(set_id, repo=self)

    def get_set_by_labels(self, labels: Any) -> Any:
        """The newest stored set with exactly these labels (a dict, or a name)."""
        return _set_verb("load_set_by_labels")(labels, repo=self)

    def get_set_by_name(self, set_name: str) -> Any:
        """The newest stored set whose labels' ``name`` is ``set_name``."""
        return _set_verb("load_set_by_name")(set_name, repo=self)

    def contains_set(self, set_id: str) -> bool:
        """Whether a set with this id is stored here."""
        try:
            self.get_set_by_id(set_id)
        except SetNotFound:
            return False
        return True

    def delete_set(self, set_id: str) -> None:
        """Remove a stored set (its members stay).

        Raises :class:`~provenance.SetNotFound` if the repo did not hold it, and
        :class:`~provenance.PermissionDenied` if the repo does not allow deletes.
        """
        _set_verb("delete_set")(set_id, repo=self)
