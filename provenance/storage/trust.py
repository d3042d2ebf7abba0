"""What a repository that is not trusted may load: values of safe serializers, nothing pickled.

A pickle runs whatever its writer put in it when it is loaded.  In a repo
shared with others, every value stored with ``joblib`` or ``cloudpickle``,
and every call's recorded inputs (pickled with cloudpickle), is code that
anyone who can write to the repo can make the reader run.  A repo
configured ``trusted: false`` therefore loads only values whose serializer
is *safe* (:attr:`~provenance.serializers.Serializer.safe`: ``json``,
``npy``, the parquet ones), archived files and composites (JSON lists of
member ids), and never unpickles inputs; anything else raises
:class:`~provenance.UntrustedValue` before a byte is deserialized.

The artifact's recorded load kwargs are written by the same hand as its
bytes (``allow_pickle=True`` for npy, say), so a repo that is not trusted
refuses them too.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownSerializer, UntrustedValue
from ..serializers import get_serializer

__all__ = ["check_inputs", "check_value", "code_risk", "repo_label"]


def repo_label(repo: Any) -> str:
    """``repo 'NAME'`` for messages (the repo's repr if it has no name)."""
    return f"repo {repo.name!r}" if getattr(repo, "name", None) else repr(repo)


def _what(artifact: Any) -> str:
    function = ".".join(x for x in (artifact.fn_module, artifact.fn_name) if x)
    return f"artifact {artifact.id} ({function or artifact.name})"


def _how(repo: Any) -> str:
    return (
        f"{repo_label(repo)} is not trusted (trusted: false); load it only if you trust "
        "everyone who can write to that repo: set trusted: true for it"
    )


def check_value(repo: Any, artifact: Any, serializer: Any) -> None:
    """Raise :class:`~provenance.UntrustedValue` unless ``repo`` may load this value.

    Parameters
    ----------
    repo : Repository
        The repo that holds the artifact (its ``trusted`` flag decides).
    artifact : Artifact
        The artifact whose value is about to be loaded.
    serializer : Serializer
        The serializer it was stored with.
    """
    if getattr(repo, "trusted", True):
        return
    if not serializer.safe:
        raise UntrustedValue(
            f"{_what(artifact)} is stored with serializer {serializer.name!r}, which can "
            f"run code when loaded, and {_how(repo)}"
        )
    if artifact.load_kwargs:
        raise UntrustedValue(
            f"{_what(artifact)} records load kwargs {sorted(artifact.load_kwargs)} for "
            f"serializer {serializer.name!r}, which whoever stored it chose (they can make "
            f"a loader unpickle), and {_how(repo)}"
        )


def check_inputs(repo: Any, artifact: Any) -> None:
    """Raise :class:`~provenance.UntrustedValue` unless ``repo`` may unpickle recorded inputs.

    The JSON summary (``artifact.inputs_json``) stays readable.
    """
    if not getattr(repo, "trusted", True):
        raise UntrustedValue(
            f"the recorded inputs of {_what(artifact)} are a pickle, which can run code "
            f"when loaded, and {_how(repo)}; artifact.inputs_json is their JSON summary"
        )


def code_risk(artifact: Any) -> str | None:
    """Why loading ``artifact``'s value could run code, or ``None`` if it cannot.

    Whatever the repo's trust: the command line asks before it loads such a
    value (``--value``).  Composites and archived files are safe; a value
    is otherwise safe when its serializer is and no load kwargs are recorded.
    """
    if artifact.composite or artifact.serializer == "file":
        return None
    try:
        serializer = get_serializer(artifact.serializer)
    except UnknownSerializer:
        return f"its serializer {artifact.serializer!r} is not registered here"
    if not serializer.safe:
        return f"it is stored with serializer {serializer.name!r}, which can run code when loaded"
    if artifact.load_kwargs:
        return f"it records load kwargs {sorted(artifact.load_kwargs)} for {serializer.name!r}"
    return None
