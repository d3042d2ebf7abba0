"""Metaflow's client API on ours: tag errors, exceptions, deprecated forms, the default user.

On the in-memory, SQLite and PostgreSQL indexes (the ``repo`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

import provenance as p
from provenance import runinfo
from provenance.client import Run, namespace
from provenance.errors import MetaflowTaggingError


@p.provenance()
def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


@p.provenance()
def works(x: int) -> int:
    return x


def _run_with_failure() -> Any:
    with pytest.raises(ValueError), p.run("Parity", tags=["t0"]) as run:
        works(1)
        fails(2)
    namespace(None)
    return Run(run.pathspec)


def test_replace_tags_with_nothing_to_do_is_metaflow_s_error(repo: Any) -> None:
    run = _run_with_failure()
    with pytest.raises(MetaflowTaggingError, match="^Must add or remove at least one tag$"):
        run.replace_tags([], [])
    run.replace_tags([], ["t1"])
    assert run.user_tags == {"t0", "t1"}


def test_task_exception_has_metaflow_s_attributes_and_ours(repo: Any) -> None:
    task = _run_with_failure()["fails"].task
    error = task.exception
    assert error.type == "builtins.ValueError"
    assert error.exception == "bad 2" == error.message
    assert "ValueError: bad 2" in error.stacktrace and error.stacktrace == error.traceback


def test_the_deprecated_list_forms_of_the_tag_methods_still_work(repo: Any) -> None:
    run = _run_with_failure()
    with pytest.warns(DeprecationWarning, match="add_tag\\(\\) of a list of tags"):
        run.add_tag(["a", "b"])
    assert {"a", "b"} <= run.user_tags
    with pytest.warns(DeprecationWarning, match="replace_tag"):
        run.replace_tag(["a"], ["c"])
    with pytest.warns(DeprecationWarning, match="remove_tag"):
        run.remove_tag(["b", "c"])
    assert run.user_tags == {"t0"}
    # The singular forms of single tags give no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.add_tag("d")
        run.replace_tag("d", "e")
        run.remove_tag("e")


@pytest.mark.parametrize(
    ("env", "user"),
    [
        ({"PROVENANCE_USER": "p", "METAFLOW_USER": "m", "USER": "u"}, "p"),
        ({"METAFLOW_USER": "m", "SUDO_USER": "s", "USER": "u"}, "m"),
        ({"SUDO_USER": "s", "USERNAME": "n", "USER": "u"}, "s"),
        ({"USERNAME": "n", "USER": "u"}, "n"),
        ({"USER": "u"}, "u"),
        ({"METAFLOW_USER": "root", "SUDO_USER": "root", "USER": "alice"}, "alice"),
        ({"PROVENANCE_USER": "root"}, "root"),  # ours is taken as given
    ],
)
def test_the_user_is_found_as_metaflow_finds_it(
    env: dict[str, str], user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("PROVENANCE_USER", *runinfo.METAFLOW_USER_VARS):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert runinfo._user() == user


def test_the_default_namespace_follows_metaflow_s_user(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.flows.client import namespaces

    for var in ("PROVENANCE_USER", *runinfo.METAFLOW_USER_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("METAFLOW_USER", "mel")
    monkeypatch.setenv("USER", "root")
    namespaces._namespace = namespaces._UNSET
    assert p.client.get_namespace() == "user:mel"
