"""The original library's repository classes and set methods (issue 14, gaps 11 and 12)."""

from __future__ import annotations

import os
import pickle
from typing import Any

import pytest
from provenance.blobstores import DiskStore, MemoryStore

import provenance as p
import provenance.repos as r


@p.provenance()
def inc(x: int) -> int:
    return x + 1


def test_memory_repo_by_the_original_constructor() -> None:
    repo = r.MemoryRepo()
    assert isinstance(repo, p.Repository) and repo.delete_allowed
    p.set_default_repo(repo)
    made = inc(1)
    assert made.artifact.id in repo and repo.get_value(made) == 2
    assert not r.MemoryRepo(read=False, write=False, delete=False).write
    with pytest.raises(ValueError, match=r"MemoryRepo\(artifacts=...\) is not supported.*promote"):
        r.MemoryRepo(artifacts=[made.artifact])


def test_db_repo_by_the_original_constructor(tmp_path: Any) -> None:
    url = "sqlite:///" + str(tmp_path / "index.db")
    repo = r.DbRepo(url, DiskStore(str(tmp_path / "blobs")))
    assert isinstance(repo, r.PostgresRepo) and isinstance(repo, p.Repository)
    p.set_default_repo(repo)
    made = inc(2)
    # A second repo over the same database and store sees it, and so does the
    # repo sent to a worker (pickled as its spec).
    again = r.PostgresRepo(
        url,
        DiskStore(str(tmp_path / "blobs")),
        read_through_write=False,
        persistent_connections=False,
    )
    assert again.get_by_id(made.artifact.id).value == 3
    # The original's session() for queries of one's own.
    import sqlalchemy as sa

    with repo.session() as session:
        count = session.execute(sa.text("select count(*) from artifacts")).scalar()
    assert count == 1
    clone = pickle.loads(pickle.dumps(repo))
    assert isinstance(clone, p.Repository) and clone.get_value(made.artifact.id) == 3
    with pytest.raises(TypeError, match=r"PostgresRepo\(db=...\) takes a database URL, got dict"):
        r.DbRepo({"url": url}, MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"store=...\) takes a blobstore, got str"):
        r.PostgresRepo(url, str(tmp_path))  # type: ignore[arg-type]


@pytest.mark.postgres
def test_postgres_repo_with_a_schema(postgres_url: str, tmp_path: Any) -> None:
    repo = r.PostgresRepo(
        postgres_url, DiskStore(str(tmp_path / "blobs")), schema="original_api", create_db=True
    )
    p.set_default_repo(repo)
    assert inc(5) == 6 and repo.index.schema == "original_api"
    assert repo.get_by_id(inc.artifact_id(5)).value == 6


def test_chained_repo_by_the_original_constructor() -> None:
    first, second = r.MemoryRepo(), r.MemoryRepo()
    with p.using_repo(second):
        made = inc(10)
    chain = r.ChainedRepo([first, second])
    assert chain.get_by_id(made.artifact.id).value == 11
    p.set_default_repo(chain)
    assert inc(10).artifact.id == made.artifact.id  # a hit through the chain
    fresh = inc(11)
    assert fresh.artifact.id in first and fresh.artifact.id in second  # written to every member


def test_set_methods_by_the_original_names(repo: Any) -> None:
    a, b = inc(1), inc(2)
    made = p.ArtifactSet([a, b], {"name": "pair", "stage": "dev"})
    stored = repo.put_set(made)
    assert stored == made and repo.contains_set(made.id)
    assert repo.get_set_by_id(made.id) == made
    assert repo.get_set_by_labels({"name": "pair", "stage": "dev"}) == made
    assert repo.get_set_by_name("pair") == made
    relabelled = r.label_set(made, {"name": "pair", "stage": "prod"})
    assert relabelled.labels == {"name": "pair", "stage": "prod"}
    assert relabelled.artifact_ids == made.artifact_ids
    assert r.load_set_by_labels({"name": "pair", "stage": "prod"}) == relabelled
    assert r.label_set(made.id, "renamed").name == "renamed"  # by id, a name as labels
    repo.delete_set(made.id)
    assert not repo.contains_set(made.id) and repo.contains_set(relabelled.id)
    assert a.artifact.id in repo  # members stay
    with pytest.raises(p.SetNotFound, match=made.id):
        repo.get_set_by_id(made.id)
    with pytest.raises(KeyError):
        repo.delete_set(made.id)
    with pytest.raises(TypeError, match="label_set.*got int"):
        r.label_set(3, "x")


def test_set_methods_respect_permissions_and_chains(tmp_path: Any) -> None:
    locked = p.Repository(p.memory_repo().index, MemoryStore(), read=True, write=True, delete=False)
    p.set_default_repo(locked)
    s = p.create_set([inc(3)], "kept")
    with pytest.raises(p.PermissionDenied, match="delete"):
        locked.delete_set(s.id)
    assert locked.contains_set(s.id)

    first, second = p.memory_repo(), p.memory_repo()
    with p.using_repo(second):
        inner = p.create_set([inc(4)], "inner")
    chain = p.ChainedRepository([first, second], delete=True)
    assert chain.contains_set(inner.id) and chain.get_set_by_name("inner") == inner
    chain.put_set(p.ArtifactSet(list(inner), "outer"))
    assert first.contains_set(chain.get_set_by_name("outer").id)
    chain.delete_set(inner.id)
    assert not second.contains_set(inner.id)
    assert os.environ.get("PROVENANCE_HOME")  # the test stays inside its home
