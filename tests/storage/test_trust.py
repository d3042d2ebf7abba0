"""Repos that are not trusted (``trusted: false``) never run a pickle's code.

A colleague with write access to a shared repo stores values whose pickles
write a marker file when loaded: a ``joblib`` and a ``cloudpickle`` value,
inputs that are such a pickle (inline in the row and as a blob), an npy
object array with ``allow_pickle`` in its recorded load kwargs, and a
composite with a pickled member.  A user who opens the same files with
``trusted: false`` gets :class:`provenance.UntrustedValue` from every way of
loading them (the artifact, proxies, the decorated call's hit, the client
view, the command line) and the marker never appears; with the default
(``trusted: true``) the same loads run the payload, which shows the pickles
are real.  Values of safe serializers (json, npy, parquet, archived files)
load either way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import provenance as p
from provenance import client
from provenance.errors import ConfigError, PermissionDenied, ProvenanceError

PROVENANCE = shutil.which("provenance")


class Payload:
    """A value whose pickle creates ``marker`` when it is loaded (and nothing else)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({self.marker!r}, 'w').close()",))


# What the colleague's code stores.  Explicit names keep the client's pathspecs short.
@p.provenance(name="evil")
def evil(marker: Path) -> Any:
    return Payload(marker)


@p.provenance(name="evil_cp", serializer="cloudpickle")
def evil_cp(marker: Path) -> Any:
    return Payload(marker)


@p.provenance(name="innocent")
def innocent(x: Any, pad: bytes = b"") -> dict[str, Any]:
    return {"a": 1, "b": [1.5, None, True, "s"]}


@p.provenance(
    name="objects",
    serializer="npy",
    dump_kwargs={"allow_pickle": True},
    load_kwargs={"allow_pickle": True},
)
def objects(marker: Path) -> Any:
    array = np.empty(1, dtype=object)
    array[0] = Payload(marker)
    return array


@p.provenance(name="parts", returns_composite=True)
def parts(marker: Path) -> dict[str, Any]:
    return {"bad": Payload(marker), "good": [1, 2, 3]}


@p.provenance(name="numbers")
def numbers() -> Any:
    return np.arange(10.0)


@p.provenance(name="frame")
def frame() -> Any:
    return pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})


def config(root: Path, trusted: bool | None) -> dict[str, Any]:
    repo: dict[str, Any] = {
        "type": "sql",
        "db": f"sqlite:///{root / 'index.db'}",
        "store": "shared",
    }
    if trusted is not None:
        repo["trusted"] = trusted
    return {
        "blobstores": {"shared": {"type": "disk", "cachedir": str(root / "blobs")}},
        "artifact_repos": {"team": repo},
        "default_repo": "team",
    }


@pytest.fixture
def shared(tmp_path: Path) -> dict[str, Any]:
    """The colleague's repo, written with the library; the marker each payload would create."""
    marker = tmp_path / "MARKER"
    p.load_config(config(tmp_path / "team", None))
    client.namespace(None)
    src = tmp_path / "notes.txt"
    src.write_text("plain text")
    with p.run("SharedFlow"):
        found = {
            "evil": evil(marker).artifact,
            "evil_cp": evil_cp(marker).artifact,
            "inline_inputs": innocent(Payload(marker)).artifact,
            # Inputs over the inline limit go to the blobstore (the pad holds a
            # proxy, so it is not stored apart but pickled with the call).
            "blob_inputs": innocent(Payload(marker), pad=[os.urandom(100_000), numbers()]).artifact,
            "objects": objects(marker).artifact,
            "parts": parts(marker).artifact,
            "numbers": numbers().artifact,
            "frame": frame().artifact,
            "file": p.archive_file(str(src)).artifact,
        }
    assert not marker.exists()  # storing never loads
    assert found["evil"].serializer == "joblib"
    assert found["inline_inputs"].serializer == "json"
    assert p.load_artifact(found["blob_inputs"].id)._get("inputs_blob_id") is not None
    assert found["objects"].serializer == "npy"
    assert (found["numbers"].serializer, found["frame"].serializer) == ("npy", "pd_df_parquet")
    ids = {name: artifact.id for name, artifact in found.items()}
    ids["bad_member"] = p.load_proxy(ids["parts"]).member_ids["bad"]
    return {"ids": ids, "marker": marker, "root": tmp_path / "team", "tmp": tmp_path}


def open_as(shared: dict[str, Any], trusted: bool | None) -> Any:
    p.load_config(config(shared["root"], trusted))
    return p.get_repo_by_name("team")


def refused(shared: dict[str, Any], what: Any, *needles: str) -> str:
    with pytest.raises(p.UntrustedValue) as info:
        what()
    assert not shared["marker"].exists()
    text = str(info.value)
    for needle in ("repo 'team' is not trusted (trusted: false)", "set trusted: true", *needles):
        assert needle in text, text
    return text


def test_an_untrusted_repo_refuses_every_pickled_value(shared: dict[str, Any]) -> None:
    ids = shared["ids"]
    repo = open_as(shared, False)
    assert repo.trusted is False and repo.spec()["trusted"] is False
    for name, serializer in (("evil", "joblib"), ("evil_cp", "cloudpickle")):
        artifact_id = ids[name]
        loads = [
            lambda i=artifact_id: p.load_artifact(i).value,
            lambda i=artifact_id: p.load_artifact(i).proxy(),
            lambda i=artifact_id: p.load_proxy(i),
            lambda i=artifact_id: repo.get_value(i),
        ]
        for load in loads:
            text = refused(shared, load, artifact_id, f"serializer {serializer!r}")
            assert f"({__name__}.{name})" in text and "which can run code when loaded" in text
    # The recorded load kwargs are the writer's choice: allow_pickle is refused.
    refused(shared, lambda: p.load_artifact(ids["objects"]).value, "load kwargs ['allow_pickle']")
    # A composite loads (its members are ids in JSON); its pickled member does not.
    composite = p.load_proxy(ids["parts"])
    assert composite["good"] == [1, 2, 3]
    refused(shared, lambda: composite["bad"], ids["bad_member"], "'joblib'")


def test_an_untrusted_repo_never_unpickles_inputs(shared: dict[str, Any]) -> None:
    ids = shared["ids"]
    repo = open_as(shared, False)
    for name in ("inline_inputs", "blob_inputs"):
        artifact = p.load_artifact(ids[name])
        text = refused(shared, lambda a=artifact: a.inputs, "recorded inputs", ids[name])
        assert "inputs_json" in text
        refused(shared, lambda i=ids[name]: repo.get_inputs(i))
        # The JSON summary stays readable, and so does the (json) value.
        assert artifact.inputs_summary["kargs"]["x"]["$type"].endswith("Payload")
        assert artifact.value == {"a": 1, "b": [1.5, None, True, "s"]}


def test_a_hit_in_an_untrusted_repo_raises_instead_of_loading(shared: dict[str, Any]) -> None:
    open_as(shared, False)
    marker = shared["marker"]
    refused(shared, lambda: evil(marker), shared["ids"]["evil"], "'joblib'")
    refused(shared, lambda: evil_cp(marker), shared["ids"]["evil_cp"], "'cloudpickle'")
    # Nothing was recomputed or stored instead.
    assert len(p.get_repo_by_name("team").find_artifacts(name="evil")) == 1


def test_the_client_view_refuses_pickles_of_an_untrusted_repo(shared: dict[str, Any]) -> None:
    open_as(shared, False)
    client.namespace(None)
    latest = client.Flow("SharedFlow").latest_run
    assert latest is not None
    refused(shared, lambda: latest.data.evil, shared["ids"]["evil"])
    refused(shared, lambda: latest["evil"].task.data.evil, shared["ids"]["evil"])
    refused(shared, lambda: latest["evil_cp"].task["evil_cp"].data, shared["ids"]["evil_cp"])
    assert latest.data.innocent == {"a": 1, "b": [1.5, None, True, "s"]}
    assert latest["parts"].task.data.good == [1, 2, 3]
    refused(shared, lambda: latest["parts"].task.data.bad, shared["ids"]["bad_member"])


def test_safe_values_load_from_an_untrusted_repo(shared: dict[str, Any]) -> None:
    ids = shared["ids"]
    open_as(shared, False)
    assert (p.load_proxy(ids["numbers"]) == np.arange(10.0)).all()
    pd.testing.assert_frame_equal(
        p.load_artifact(ids["frame"]).value, pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    )
    assert Path(p.load_proxy(ids["file"])).read_text() == "plain text"
    # Hits of safe values are served.
    assert numbers().artifact.id == ids["numbers"]
    assert not shared["marker"].exists()


@pytest.mark.parametrize("trusted", [None, True])
def test_a_trusted_repo_loads_pickles_as_before(shared: dict[str, Any], trusted: Any) -> None:
    # The payloads are real: a trusted repo (the default) runs them, as any pickle does.
    ids, marker = shared["ids"], shared["marker"]
    repo = open_as(shared, trusted)
    assert repo.trusted is True
    loads = [
        lambda: p.load_artifact(ids["evil"]).value,
        lambda: evil_cp(marker),
        lambda: p.load_artifact(ids["inline_inputs"]).inputs,
        lambda: p.load_artifact(ids["blob_inputs"]).inputs,
        lambda: p.load_artifact(ids["objects"]).value,
        lambda: p.load_proxy(ids["parts"])["bad"],
    ]
    for load in loads:
        load()
        assert marker.exists()
        marker.unlink()


def test_untrusted_value_is_a_provenance_and_permission_error() -> None:
    assert issubclass(p.UntrustedValue, ProvenanceError)
    assert issubclass(p.UntrustedValue, PermissionError)
    # Not a missing read/write/delete flag: code handling those must not catch it.
    assert not issubclass(p.UntrustedValue, PermissionDenied)


def test_trusted_is_a_validated_repo_setting(tmp_path: Path) -> None:
    base = config(tmp_path, None)
    base["artifact_repos"]["team"]["trusted"] = "no"
    with pytest.raises(ConfigError, match=r"'artifact_repos.team.trusted' must be true or false"):
        p.load_config(base)
    memory = {"artifact_repos": {"m": {"type": "memory", "trusted": False}}, "default_repo": "m"}
    p.load_config(memory)
    assert p.get_repo_by_name("m").trusted is False
    chained = {
        "artifact_repos": {
            "m": {"type": "memory", "trusted": False},
            "all": {"type": "chained", "repos": ["m"], "trusted": False},
        },
        "default_repo": "all",
    }
    with pytest.raises(ConfigError, match=r"'artifact_repos.all.trusted'.*set trusted on each"):
        p.load_config(chained)
    del chained["artifact_repos"]["all"]["trusted"]
    p.load_config(chained)
    assert p.get_repo_by_name("all").trusted is False


def test_a_chain_uses_the_trust_of_the_member_holding_the_artifact(
    shared: dict[str, Any],
) -> None:
    ids = shared["ids"]
    tmp = shared["tmp"]
    cfg = config(shared["root"], False)
    cfg["blobstores"]["mine"] = {"type": "disk", "cachedir": str(tmp / "mine" / "blobs")}
    cfg["artifact_repos"]["mine"] = {
        "type": "sql", "db": f"sqlite:///{tmp / 'mine' / 'index.db'}", "store": "mine",
    }  # fmt: skip
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["mine", "team"]}
    cfg["default_repo"] = "both"
    p.load_config(cfg)
    refused(shared, lambda: p.load_artifact(ids["evil"]).value, ids["evil"])
    refused(shared, lambda: evil(shared["marker"]), ids["evil"])
    # A value of the user's own (trusted) repo loads as before.
    mine = p.get_repo_by_name("mine")
    with p.using_repo(mine):
        value = evil_cp(shared["tmp"] / "OWN")
    assert p.load_artifact(value.artifact.id).value is None  # the payload ran: exec's result
    assert (shared["tmp"] / "OWN").exists() and not shared["marker"].exists()


def test_workers_inherit_the_setting(shared: dict[str, Any]) -> None:
    # A repo pickles as its spec; the rebuilt repo is untrusted too.
    repo = open_as(shared, False)
    code = (
        "import pickle, sys; import provenance as p\n"
        "repo = pickle.loads(sys.stdin.buffer.read())\n"
        "assert repo.trusted is False\n"
        f"try:\n    repo.get_artifact({shared['ids']['evil']!r}).value\n"
        "except p.UntrustedValue:\n    print('refused')\n"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(repo), capture_output=True, check=True
    )
    assert done.stdout.strip() == b"refused", done.stderr
    assert not shared["marker"].exists()


# -- the command line ---------------------------------------------------------------


def cli(shared: dict[str, Any], trusted: bool | None, *args: Any) -> Any:
    path = shared["tmp"] / f"config-{trusted}.yaml"
    path.write_text(yaml.safe_dump(config(shared["root"], trusted)))
    env = {k: v for k, v in os.environ.items() if k != "PROVENANCE_CONFIG"}
    command = [str(PROVENANCE)] if PROVENANCE else [sys.executable, "-m", "provenance"]
    return subprocess.run(
        [*command, "--config", str(path), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_command_line_loads_a_pickle_only_when_asked(shared: dict[str, Any]) -> None:
    ids, marker = shared["ids"], shared["marker"]
    run_id = client.Flow("SharedFlow").latest_run.id  # type: ignore[union-attr]
    evil_path = f"SharedFlow/{run_id}/evil/1/evil"
    innocent_path = f"SharedFlow/{run_id}/innocent/1/innocent"
    for trusted in (None, False):
        # Without --value: metadata only, even from a trusted repo.
        done = cli(shared, trusted, "view", "-A", evil_path)
        assert done.returncode == 0, done.stderr
        assert "serializer 'joblib', which can run code" in done.stderr
        assert "pass --value" in done.stderr
        show = cli(shared, trusted, "show", ids["inline_inputs"])
        assert show.returncode == 0, show.stderr
        assert "Payload" in show.stdout  # the JSON summary of the input
        assert not marker.exists()
        # A safe value is shown without --value.
        safe = cli(shared, trusted, "view", "-A", innocent_path)
        assert safe.returncode == 0 and "{'a': 1," in safe.stdout, safe.stderr
    # Asked for, from an untrusted repo: refused.
    done = cli(shared, False, "view", "-A", "--value", evil_path)
    assert done.returncode == 1 and "provenance: error: artifact " + ids["evil"] in done.stderr
    assert "not trusted (trusted: false)" in done.stderr and "Traceback" not in done.stderr
    show = cli(shared, False, "show", "--value", ids["inline_inputs"])
    assert show.returncode == 1
    assert "{'a': 1, 'b': [1.5, None, True, 's']}" in show.stdout  # the safe value
    assert "recorded inputs of artifact " + ids["inline_inputs"] in show.stderr
    assert not marker.exists()
    # Asked for, from a trusted repo: loaded (the payload runs, as any pickle's would).
    done = cli(shared, None, "view", "-A", "--value", evil_path)
    assert done.returncode == 0 and marker.exists(), done.stderr
    marker.unlink()
    show = cli(shared, True, "show", "--value", ids["inline_inputs"])
    assert show.returncode == 0 and marker.exists(), show.stderr
