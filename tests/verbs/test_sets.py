"""Artifact sets: algebra, capture, saving and loading by id, name and labels."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import provenance as p


@p.provenance()
def square(x: int) -> int:
    return x * x


def test_set_id_is_the_content_hash_of_members_and_labels(repo: Any) -> None:
    a, b = square(1), square(2)
    s1 = p.ArtifactSet([a.artifact.id, b.artifact.id], "nums")
    s2 = p.ArtifactSet([b, a], {"name": "nums"})
    assert s1.id == s2.id
    assert s1.labels == {"name": "nums"}
    assert p.ArtifactSet([a], "nums").id != s1.id
    assert p.ArtifactSet([a, b], "other").id != s1.id


def test_set_algebra(repo: Any) -> None:
    a, b, c = (square(i).artifact.id for i in range(3))
    s = p.ArtifactSet([a, b])
    t = p.ArtifactSet([b, c])
    assert (s | t).artifact_ids == {a, b, c}
    assert s.union(t).artifact_ids == {a, b, c}
    assert (s & t).artifact_ids == {b}
    assert s.intersection(t).artifact_ids == {b}
    assert (s - t).artifact_ids == {a}
    assert s.difference(t).artifact_ids == {a}
    assert s.add(c).artifact_ids == {a, b, c}
    assert s.remove(a).artifact_ids == {b}
    assert s.relabel("x").name == "x"
    assert s.relabel("x").artifact_ids == s.artifact_ids
    assert s.artifact_ids == {a, b}  # immutable
    assert a in s and c not in s
    assert len(s) == 2


def test_the_original_librarys_set_methods(repo: Any) -> None:
    # union, intersection and difference of several sets; name= as the
    # original's keyword; rename, put and artifacts_named.
    xs = [square(i) for i in range(4)]
    a, b, c, d = (x.artifact.id for x in xs)
    s, t, u = p.ArtifactSet([a, b]), p.ArtifactSet([b, c]), p.ArtifactSet([c, d])
    assert s.union(t, u, name="all").artifact_ids == {a, b, c, d}
    assert s.union(t, u, name="all").name == "all"
    assert s.union(t).intersection(t, u).artifact_ids == {c}
    assert p.ArtifactSet([a, b, c, d]).difference(s, u).artifact_ids == set()
    assert s.add(c, name="three").labels == {"name": "three"}
    assert s.remove(a, name="one").name == "one"
    # As in the original, a derived set is unlabelled unless labels are given.
    named = p.ArtifactSet([a, b], "pair")
    assert named.add(c).labels is None and named.remove(a).name is None
    with pytest.raises(ValueError, match="either labels or name"):
        s.union(t, labels="x", name="y")

    labelled = p.ArtifactSet([a, b], {"name": "v1", "stage": "train"})
    renamed = labelled.rename("v2")
    assert renamed.labels == {"name": "v2", "stage": "train"}
    assert renamed.artifact_ids == labelled.artifact_ids and renamed.id != labelled.id

    stored = renamed.put()
    assert p.load_set_by_name("v2").id == stored.id == renamed.id
    named = stored.artifacts_named(xs[0].artifact.name)
    assert sorted(x.id for x in named) == sorted([a, b])  # both are square's
    assert stored.artifacts_named("nothing") == []


def test_create_and_load(repo: Any) -> None:
    ids = [square(i).artifact.id for i in range(3)]
    created = p.create_set(ids, labels={"name": "squares", "run": 1})
    assert created.created_at is not None
    by_id = p.load_set_by_id(created.id)
    assert by_id == created
    assert by_id.artifact_ids == set(ids)
    assert p.load_set_by_name("squares") == created
    assert p.load_set_by_labels({"run": 1, "name": "squares"}) == created
    with pytest.raises(p.SetNotFound):
        p.load_set_by_name("nope")
    with pytest.raises(p.SetNotFound):
        p.load_set_by_id("0" * 32)
    with pytest.raises(p.InvalidId):
        p.load_set_by_id("../x")


def test_load_set_by_name_gives_the_newest(repo: Any) -> None:
    first = p.create_set([square(1)], "latest")
    time.sleep(0.01)
    second = p.create_set([square(1), square(2)], "latest")
    assert p.load_set_by_name("latest") == second
    assert p.load_set_by_id(first.id) == first


def test_saving_twice_is_idempotent(repo: Any) -> None:
    s = p.create_set([square(1)], "once")
    again = p.create_set([square(1)], "once")
    assert s == again
    assert len(repo.index.find_sets(name="once")) == 1


def test_proxy_dict(repo: Any) -> None:
    s = p.create_set([square(3)], "one")
    d = s.proxy_dict()
    assert d[f"{__name__}.square"] == 9
    assert d[f"{__name__}.square"].artifact.name == f"{__name__}.square"


def test_capture_set_records_computed_and_cached(repo: Any) -> None:
    cached = square(10)
    with p.capture_set("captured") as result:
        square(10)  # a cache hit counts
        square(11)
        p.load_proxy(square.artifact_id(1) if square.in_cache(1) else cached.artifact.id)
    s = result[0]
    assert s.name == "captured"
    assert {cached.artifact.id, square.artifact_id(11)} <= s.artifact_ids
    assert p.load_set_by_name("captured") == s


def test_capture_set_is_per_thread(repo: Any) -> None:
    other_id: list[str] = []

    def elsewhere() -> None:
        other_id.append(square(100).artifact.id)

    with p.capture_set("mine") as result:
        square(5)
        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
    assert other_id[0] not in result[0].artifact_ids
    assert square.artifact_id(5) in result[0].artifact_ids


def test_capture_set_with_initial_set(repo: Any) -> None:
    base = p.create_set([square(1)], "base")
    with p.capture_set("more", initial_set=base) as result:
        square(2)
    assert result[0].artifact_ids == base.artifact_ids | {square.artifact_id(2)}


def test_provenance_set_decorator(repo: Any) -> None:
    @p.provenance_set(set_labels="pipeline")
    def pipeline(n: int) -> None:
        for i in range(n):
            square(i)

    s = pipeline(3)
    assert isinstance(s, p.ArtifactSet)
    assert len(s) == 3
    assert s.name == "pipeline"

    @p.provenance_set(set_labels_fn=lambda n: {"name": f"run-{n}"})
    def labelled(n: int) -> None:
        square(n)

    assert labelled(7).name == "run-7"

    # The original library passes named parameters by name, defaults included.
    @p.provenance_set(set_labels_fn=lambda **kw: dict(kw, name=f"n{kw['n']}-{kw['k']}"))
    def by_name(n: int, k: int = 2) -> None:
        square(n)

    assert by_name(3).name == "n3-2"
    assert by_name(3, k=5).labels == {"n": 3, "k": 5, "name": "n3-5"}

    @p.provenance_set(set_labels_fn=lambda *rest, tag: {"name": f"{tag}-{len(rest)}"})
    def varargs(*rest: int, tag: str) -> None:
        for r in rest:
            square(r)

    assert varargs(1, 2, tag="t").name == "t-2"
    with pytest.raises(ValueError):
        p.provenance_set(set_labels="a", set_labels_fn=lambda: "b")


def test_large_set_members_load_in_one_query(disk_repo: Any) -> None:
    from sqlalchemy import event

    ids = [f"{i:032x}" for i in range(100_000)]
    s = p.create_set(ids, "big")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(disk_repo.index.engine, "before_cursor_execute", count)
    try:
        loaded = p.load_set_by_id(s.id)
    finally:
        event.remove(disk_repo.index.engine, "before_cursor_execute", count)
    assert len(loaded) == 100_000
    member_queries = [q for q in statements if "artifact_set_members" in q]
    assert len(member_queries) == 1


def test_a_cached_composite_call_captures_its_members_too(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def parts(n: int) -> dict[str, int]:
        return {"a": n, "b": n + 1}

    captured = []
    for _ in range(2):
        with p.capture_set() as c:
            r = parts(1)
            assert (r["a"], r["b"]) == (1, 2)
        captured.append(sorted(a.name for a in c[0].artifacts().values()))
    names = [f"{__name__}.parts", f"{__name__}.parts_a", f"{__name__}.parts_b"]
    assert captured[0] == captured[1] == names


def test_a_decorated_function_can_return_a_set(repo: p.Repository) -> None:
    """Issue 14, gap 5: the original's ``@provenance() @provenance_set(...)``."""

    @p.provenance()
    def member(i: int) -> int:
        return i * 10

    runs = []

    @p.provenance()
    @p.provenance_set(set_labels={"name": "members"})
    def build(n: int) -> None:
        runs.append(n)
        for i in range(n):
            member(i)

    first = build(3)
    assert isinstance(first.artifact.value, p.ArtifactSet)
    assert first.name == "members" and len(first) == 3
    again = build(3)
    assert runs == [3]  # the second call is a hit
    assert again == first and again.artifact.id == first.artifact.id
    assert p.hash_value(first) == p.hash_value(p.load_set_by_name("members"))
    # A set's value is its identity, never its repo: a set taken as an argument
    # hashes as its members and labels.
    assert p.hash_value(first) == p.hash_value(p.ArtifactSet(list(first), "members"))
    assert p.hash_value(first) != p.hash_value(p.ArtifactSet(list(first), "other"))

    @p.provenance()
    def total(s: p.ArtifactSet) -> int:
        return sum(p.load_proxy(i) for i in s)

    assert total(first) == 30
    assert total(p.load_set_by_name("members")).artifact.id == total(first).artifact.id


def test_capture_set_sees_loads_through_the_original_repo_methods(repo: p.Repository) -> None:
    @p.provenance()
    def make(i: int) -> int:
        return i

    a, b, c = make(1), make(2), make(3)
    with p.capture_set("loaded") as result:
        repo.get_by_id(a.artifact.id)
        repo[b.artifact.id]
        repo.get_by_value_id(c.artifact.value_id)
    assert set(result[0]) == {a.artifact.id, b.artifact.id, c.artifact.id}
    with p.capture_set("batch") as batch:
        repo.batch_get_by_id([a.artifact.id])
    assert list(batch[0]) == [a.artifact.id]
