"""Big arguments stored once per value (storage/stored_inputs.py), read back by artifact.inputs."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np
import pytest
from conftest import spawn_worker, sqlite_config

import provenance as p
from provenance.errors import ConfigError, CorruptBlob, UntrustedValue
from provenance.storage.index import COLUMNS
from provenance.storage.inputs import dumps_inputs
from provenance.storage.stored_inputs import InputNotStored, input_key, parse_size


@p.provenance()
def scaled_sum(a: Any, k: int = 1) -> float:
    return float(np.asarray(a).sum()) * k


@p.provenance()
def column_means(df: Any) -> list[float]:
    return [float(x) for x in df.mean()]


@p.provenance()
def make_array(n: int) -> Any:
    return np.arange(n, dtype=float)


def big(n: int = 100_000, seed: int = 0) -> Any:
    return np.random.default_rng(seed).random(n)  # 800 KB: stored apart


def stored(artifact: Any, parameter: str = "a") -> dict[str, Any]:
    return dict(artifact.inputs_json[parameter]["$input"])


def test_a_big_argument_is_stored_once_and_shared_by_every_call(repo: Any) -> None:
    a = big()
    before = set(repo.blobstore.keys())
    first, second = scaled_sum(a, 1).artifact, scaled_sum(a, 2).artifact
    assert first.id != second.id
    ref = stored(first)
    assert ref == stored(second)
    assert ref["blob"] == input_key(first.input_hashes["kargs"]["a"])  # the call's own hash
    assert ref["serializer"] == "npy" and ref["size"] > a.nbytes
    # One blob for both calls, and neither row holds the array.
    assert set(repo.blobstore.keys()) - before == {ref["blob"]}
    for artifact in (first, second):
        assert len(bytes(artifact._get("inputs_pickle"))) < 1000
        assert artifact._get("inputs_blob_id") is None
    loaded = p.load_artifact(second.id).inputs
    np.testing.assert_array_equal(loaded["kargs"]["a"], a)
    assert loaded["kargs"]["k"] == 2


def test_an_argument_equal_to_a_stored_value_refers_to_its_blob(repo: Any) -> None:
    made = make_array(100_000).artifact
    before = set(repo.blobstore.keys())
    artifact = scaled_sum(np.arange(100_000, dtype=float), 3).artifact  # equal, not the proxy
    assert stored(artifact)["blob"] == made.blob_id
    assert set(repo.blobstore.keys()) == before  # nothing written
    np.testing.assert_array_equal(p.load_artifact(artifact.id).inputs["kargs"]["a"], made.value)


def test_a_big_frame_argument_is_stored_as_parquet(repo: Any) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"x": np.arange(20_000, dtype=float), "y": np.ones(20_000)})
    artifact = column_means(df).artifact
    assert stored(artifact, "df")["serializer"] == "pd_df_parquet"
    pd.testing.assert_frame_equal(p.load_artifact(artifact.id).inputs["kargs"]["df"], df)


def test_small_arguments_and_proxies_stay_in_the_row(repo: Any) -> None:
    small = scaled_sum(np.arange(10.0)).artifact
    assert "$input" not in small.inputs_json["a"]
    via_proxy = scaled_sum(make_array(100_000), 2).artifact
    assert via_proxy.inputs_json["a"]["type"] == "ArtifactProxy"
    assert p.load_artifact(via_proxy.id).inputs["kargs"]["a"].artifact.id in (
        via_proxy.input_artifact_ids
    )


def test_positional_extras_are_stored_apart_too(repo: Any) -> None:
    @p.provenance()
    def total(*arrays: Any) -> float:
        return float(sum(x.sum() for x in arrays))

    a, b = big(seed=1), big(seed=2)
    artifact = total(a, b).artifact
    refs = [s["$input"]["blob"] for s in artifact.inputs_json["__varargs"]]
    assert len(set(refs)) == 2
    loaded = p.load_artifact(artifact.id).inputs["varargs"]
    np.testing.assert_array_equal(loaded[1], b)


def test_inputs_over_max_stored_input_are_recorded_by_hash_only(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "r"), max_stored_input="100KB"))
    store = cfg.repos["local"].blobstore
    artifact = scaled_sum(big(), 5).artifact
    ref = stored(artifact)
    assert ref == {"stored": False, "size": 800_000, "limit": 100_000}
    assert not any(k.endswith(".in") for k in store.keys())  # noqa: SIM118
    assert artifact.inputs_json["a"]["$hash"] == artifact.input_hashes["kargs"]["a"]
    placeholder = p.load_artifact(artifact.id).inputs["kargs"]["a"]
    assert isinstance(placeholder, InputNotStored)
    assert placeholder.parameter == "a" and placeholder.size == 800_000
    with pytest.raises(AttributeError, match=r"'a' \(numpy.ndarray, 781.2 KiB\) was not stored"):
        placeholder.shape  # noqa: B018
    assert "over max_stored_input (97.7 KiB)" in repr(placeholder)
    # Under the bound, stored as usual.
    assert stored(scaled_sum(big(10_000), 1).artifact)["serializer"] == "npy"


def test_max_stored_input_is_validated_naming_the_key(tmp_path: Any) -> None:
    assert parse_size("k", "100MB") == 100_000_000
    assert parse_size("k", "1.5 GiB") == 3 << 29
    assert parse_size("k", 4096) == 4096 and parse_size("k", None) is None
    for bad in ("lots", "-1MB", 12.5, True, "10 parsecs"):
        with pytest.raises(ConfigError, match=r"'artifact_repos\.local\.max_stored_input' must"):
            p.load_config(sqlite_config(str(tmp_path / "r"), max_stored_input=bad))


def test_the_bound_travels_with_the_repo_to_other_processes(tmp_path: Any) -> None:
    from provenance.storage.repos import build_repo_from_spec

    cfg = p.load_config(sqlite_config(str(tmp_path / "r"), max_stored_input="1MB"))
    assert build_repo_from_spec(cfg.repos["local"].spec()).max_stored_input == 1_000_000


def test_an_untrusted_repo_never_unpickles_inputs(tmp_path: Any) -> None:
    root = str(tmp_path / "r")
    p.load_config(sqlite_config(root))
    artifact_id = scaled_sum(big(), 1).artifact.id
    p.load_config(sqlite_config(root, trusted=False))
    with pytest.raises(UntrustedValue, match="recorded inputs"):
        p.load_artifact(artifact_id).inputs  # noqa: B018


def test_a_corrupt_stored_input_is_refused_on_load(disk_repo: Any) -> None:
    artifact = scaled_sum(big(), 1).artifact
    path = disk_repo.blobstore.local_path(stored(artifact)["blob"])
    os.chmod(path, 0o644)
    np.save(open(path, "wb"), big(seed=9))  # noqa: SIM115  (closed by the GC: a test)
    with pytest.raises(CorruptBlob, match="the stored input 'a' is corrupt"):
        p.load_artifact(artifact.id).inputs  # noqa: B018


def test_records_with_inputs_pickled_the_old_way_still_load(disk_repo: Any) -> None:
    a = big()
    artifact = scaled_sum(a, 4).artifact
    # The row as versions before stored inputs wrote it: the whole argument
    # pickled, into the inputs blob (it is over 64 KiB), no "$input" reference.
    row = {name: artifact._get(name) for name in COLUMNS}
    row.update(input_hashes=artifact.input_hashes, inputs_json={"a": {"$type": "numpy.ndarray"},
               "k": 4, "__varargs": []}, load_kwargs=None, dump_kwargs=None)  # fmt: skip
    old = dumps_inputs({"kargs": {"a": a, "k": 4}, "varargs": []})
    row.update(inputs_pickle=None, inputs_blob_id=disk_repo.store_bytes(old))
    disk_repo.put_row(row, replace=True)
    reloaded = p.load_artifact(artifact.id)
    assert reloaded.inputs["varargs"] == ()
    np.testing.assert_array_equal(reloaded.inputs["kargs"]["a"], a)
    assert reloaded.value == scaled_sum(a, 4)  # still a hit


def test_processes_storing_the_same_input_at_once_share_one_whole_blob(tmp_path: Any) -> None:
    config = sqlite_config(str(tmp_path / "shared"))
    start = time.time() + 3.0
    procs = [
        spawn_worker(config, "big_input", str(start), str(k), "16", cwd=tmp_path) for k in (1, 2, 3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    repo = p.load_config(config).repos["local"]
    artifacts = repo.find_artifacts()
    assert len(artifacts) == 3
    assert len({stored(a)["blob"] for a in artifacts}) == 1
    assert repo.blobstore.staging() == []  # nothing half-written left behind
    report = p.verify()
    assert report.ok and report.inputs_checked == 1


def test_a_writer_killed_while_storing_an_input_leaves_no_partial_blob(tmp_path: Any) -> None:
    config = sqlite_config(str(tmp_path / "shared"))
    repo = p.load_config(config).repos["local"]
    proc = spawn_worker(config, "big_input", "0", "1", "200", cwd=tmp_path)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    while not repo.blobstore.staging() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    killed = proc.poll() is None
    if killed:  # mid-write: its staging file exists
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    # Whatever the moment: a visible input is whole, a partial one is staging.
    report = p.verify()
    assert report.ok, report.problems
    for key in repo.blobstore.keys():  # noqa: SIM118  (a blobstore, not a dict)
        assert np.load(repo.blobstore.local_path(key)).shape == (200 * 2**17,)
    if killed:
        assert repo.index.count() == 0 and report.staging == [] and repo.blobstore.staging()
    p.gc(dry_run=False, grace_period=0)
    assert repo.blobstore.staging() == []


@p.provenance()
def text_length(blob: Any, k: int = 1) -> int:
    return len(blob) * k


def test_a_big_argument_of_any_type_is_stored_once_by_its_bytes(repo: Any) -> None:
    payload = {"text": "x" * 2_000_000, "n": 3}  # 2 MB of pickle, not an array or frame
    before = set(repo.blobstore.keys())
    first, second = text_length(payload, 1).artifact, text_length(payload, 2).artifact
    ref = stored(first, "blob")
    assert ref == stored(second, "blob") and ref["serializer"] == "cloudpickle"
    assert set(repo.blobstore.keys()) - before == {ref["blob"]}  # one blob for both calls
    for artifact in (first, second):
        assert len(bytes(artifact._get("inputs_pickle"))) < 1000
    assert p.load_artifact(second.id).inputs["kargs"]["blob"] == payload
    # Keyed by the hash of its bytes: verify checks it without unpickling.
    assert p.verify(repo=repo).ok


def test_a_big_list_is_stored_apart_too(repo: Any) -> None:
    rows = [f"row {i}" for i in range(50_000)]
    artifact = text_length(rows).artifact
    summary = artifact.inputs_json["blob"]
    assert summary["$type"] == "builtins.list"
    assert summary["$input"]["serializer"] == "cloudpickle"
    assert p.load_artifact(artifact.id).inputs["kargs"]["blob"] == rows
    # A short list of big items too, its summary made to carry the reference.
    few = text_length(["w" * 100_000, "v" * 100_000]).artifact
    assert few.inputs_json["blob"]["$len"] == 2 and "$input" in few.inputs_json["blob"]
    assert p.load_artifact(few.id).inputs["kargs"]["blob"] == ["w" * 100_000, "v" * 100_000]


def test_a_big_argument_holding_a_proxy_stays_in_the_inputs_pickle(repo: Any) -> None:
    made = make_array(10)
    artifact = text_length(["y" * 200_000, made]).artifact
    assert isinstance(artifact.inputs_json["blob"], list)  # its summary, proxy by id
    assert made.artifact.id in artifact.input_artifact_ids


def test_a_corrupt_pickled_input_is_found_by_verify(disk_repo: Any) -> None:
    artifact = text_length({"z": "z" * 300_000}).artifact
    key = stored(artifact, "blob")["blob"]
    with disk_repo.blobstore.open_local(key) as local:
        path = str(local)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"!")
    report = p.verify(repo=disk_repo)
    assert not report.ok and any(key in str(problem) for problem in report.problems)
