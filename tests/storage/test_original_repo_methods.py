"""The original library's repository methods, on every kind of repository."""

from __future__ import annotations

from typing import Any

import pytest

import provenance as p


@p.provenance()
def pair(x: int) -> list[int]:
    return [x, x]


@p.provenance()
def twice(xs: list[int]) -> list[int]:
    return xs + xs


def test_reading_artifacts_by_the_original_names(repo: Any) -> None:
    a, b = pair(1), pair(2)
    made = twice(a)
    assert repo.get_by_id(a.artifact.id) == a.artifact
    assert repo[b.artifact.id] == b.artifact
    assert a.artifact.id in repo and a in repo
    assert [x.id for x in repo.batch_get_by_id([b.artifact.id, a.artifact.id])] == [
        b.artifact.id,
        a.artifact.id,
    ]
    assert repo.get_by_value_id(made.artifact.value_id) == made.artifact
    assert (
        repo.get_value(a.artifact) == [1, 1] == repo.get_value(a) == repo.get_value(a.artifact.id)
    )
    inputs = repo.get_inputs(made)
    assert inputs["kargs"]["xs"] == [1, 1] and inputs["kargs"]["xs"].artifact == a.artifact
    assert repo.run_info(made)["host"]

    missing = "0" * 32
    with pytest.raises(KeyError):
        repo.get_by_id(missing)
    with pytest.raises(p.ArtifactNotFound, match=missing):
        repo.batch_get_by_id([a.artifact.id, missing])
    with pytest.raises(KeyError, match="value id"):
        repo.get_by_value_id(missing)
    with pytest.raises(TypeError, match="got int"):
        repo.get_value(3)


def test_deleting_by_the_original_name(repo: Any) -> None:
    a = pair(3)
    repo.delete(a)
    assert a.artifact.id not in repo
    with pytest.raises(KeyError):
        repo.delete(a.artifact.id)  # no longer there: the original's KeyError


def test_a_chained_repository_has_them_too(tmp_path: Any) -> None:
    first, second = p.memory_repo("first"), p.memory_repo("second")
    chain = p.ChainedRepository([first, second])
    with p.using_repo(second):
        a = pair(4)
    assert chain.get_by_id(a.artifact.id).id == a.artifact.id
    assert chain.get_value(a.artifact.id) == [4, 4]
    assert chain.get_by_value_id(a.artifact.value_id).id == a.artifact.id
    assert [x.id for x in chain.batch_get_by_id([a.artifact.id])] == [a.artifact.id]


def test_ids_that_cannot_be_ids_are_not_found(repo: Any) -> None:
    """The original looked ids up as keys: ``KeyError``, not a ``ValueError``."""
    assert "foo" not in repo and not repo.contains_set("foo")
    with pytest.raises(KeyError, match="'foo'"):
        repo.get_by_id("foo")
    with pytest.raises(KeyError, match="'foo'"):
        repo["foo"]
    with pytest.raises(KeyError, match="'foo'"):
        repo.get_set_by_id("foo")
    with pytest.raises(KeyError):
        repo.batch_get_by_id(["foo"])
