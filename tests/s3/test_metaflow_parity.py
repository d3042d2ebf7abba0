"""Metaflow's ``S3`` API on ours: its constructor keywords, encryption, error order, retries.

Against the moto server of the test session (``s3_server``), STS included.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

import provenance.s3.retry as retry_module
from provenance.errors import InvalidValue
from provenance.s3 import (
    S3,
    MetaflowS3InvalidObject,
    MetaflowS3NotFound,
    S3PutObject,
    S3URLError,
)

pytestmark = pytest.mark.s3
pytest_plugins = ["s3_server"]


def _boto(endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=endpoint)


def test_the_constructor_takes_every_keyword_of_metaflow_s(
    s3_server: Any, s3_bucket: str, tmp_path: Any
) -> None:
    endpoint = s3_server.endpoint_url
    # Metaflow's positional order: tmproot, bucket, prefix, run, s3root, encryption.
    with S3(str(tmp_path), None, None, None, f"s3://{s3_bucket}/p", "AES256",
            client_params={"endpoint_url": endpoint, "config": {"connect_timeout": 5}},
            session_vars={"region_name": "eu-west-2"}) as s3:  # fmt: skip
        s3.put("a", "x")
        assert s3.client.meta.region_name == "eu-west-2"
        assert s3.client.meta.config.connect_timeout == 5
        assert s3.info("a").encryption == "AES256"
    with S3(tmproot=str(tmp_path), bucket=s3_bucket, prefix="q",
            client_params={"endpoint_url": endpoint}) as s3:  # fmt: skip
        assert s3.put("b", "y") == f"s3://{s3_bucket}/q/b"


def test_a_role_is_assumed_through_sts(s3_server: Any, s3_bucket: str, tmp_path: Any) -> None:
    endpoint = s3_server.endpoint_url
    role = "arn:aws:iam::123456789012:role/provenance-test"
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", role=role,
            client_params={"endpoint_url": endpoint}) as s3:  # fmt: skip
        s3.put("by-role", b"1")
        assert s3.get("by-role").blob == b"1"
        credentials = s3.client._request_signer._credentials.get_frozen_credentials()
        # Temporary credentials from STS (moto's assumed-role keys), not the session's own.
        assert credentials.access_key.startswith("ASIA") and credentials.token


def test_external_client_is_used_as_given(s3_server: Any, s3_bucket: str, tmp_path: Any) -> None:
    boto = _boto(s3_server.endpoint_url)

    class Holder:  # Metaflow's S3Client shape: the boto3 client as .client
        client = boto

    for given in (boto, Holder()):
        with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", external_client=given) as s3:
            assert s3.client is boto
            s3.put("ext", "z")
    with pytest.raises(TypeError, match="external_client must be a boto3 S3 client"):
        S3(str(tmp_path), external_client=object())
    with pytest.raises(TypeError, match="not both"):
        S3(str(tmp_path), external_client=boto, client=boto)


def test_server_side_encryption_per_client_and_per_object(
    s3_server: Any, s3_bucket: str, tmp_path: Any
) -> None:
    endpoint = s3_server.endpoint_url
    local = tmp_path / "f.bin"
    local.write_bytes(b"file")
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", encryption="AES256",
            endpoint_url=endpoint) as s3:  # fmt: skip
        s3.put("client-wide", "1")
        s3.put("own", "2", encryption="aws:kms")
        s3.put_many([("many-default", "3"), S3PutObject("many-own", "4", encryption="aws:kms")])
        s3.put_files([S3PutObject("file-own", path=str(local), encryption="aws:kms"),
                      ("file-default", str(local))])  # fmt: skip
        found = {
            o.key: o.encryption
            for o in s3.info_many(
                ["client-wide", "own", "many-default", "many-own", "file-own", "file-default"]
            )
        }
        assert found == {
            "client-wide": "AES256", "own": "aws:kms", "many-default": "AES256",
            "many-own": "aws:kms", "file-own": "aws:kms", "file-default": "AES256",
        }  # fmt: skip
        assert s3.get("own").encryption == "aws:kms"
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", endpoint_url=endpoint) as s3:
        s3.put("plain", "5")
        assert s3.info("plain").encryption in (None, "AES256")  # what the server applies
    with pytest.raises(InvalidValue, match="encryption must be one of"):
        S3(str(tmp_path), encryption="rot13")


def test_a_bad_value_is_reported_before_a_bad_key_as_in_metaflow(tmp_path: Any) -> None:
    with S3(str(tmp_path)) as s3:  # no root: every key must be a full URL
        with pytest.raises(MetaflowS3InvalidObject):
            s3.put("a", 1)
        with pytest.raises(MetaflowS3NotFound):
            s3.put_files([("a", str(tmp_path / "missing"))])
        with pytest.raises(MetaflowS3InvalidObject):
            s3.put_many([("a", 1)])
        with pytest.raises(S3URLError):
            s3.put("a", "a good value")  # then the key


def test_inject_failure_rate_is_metaflow_s_percentage(
    s3_server: Any, s3_bucket: str, tmp_path: Any
) -> None:
    endpoint = s3_server.endpoint_url
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", endpoint_url=endpoint,
            inject_failure_rate=50) as s3:  # fmt: skip
        assert s3._transfer.inject.rate == 0.5
        s3.put_many([(f"k{i}", str(i)) for i in range(20)])
        assert s3.stats.injected_failures > 0
        assert [o.text for o in s3.get_many([f"k{i}" for i in range(20)])] == [
            str(i) for i in range(20)
        ]
    with pytest.raises(InvalidValue, match="percentage"):
        S3(str(tmp_path), inject_failure_rate=150)
    with pytest.raises(TypeError, match="not both"):
        S3(str(tmp_path), inject_failure_rate=10, inject_failures=0.1)


def test_the_module_level_retry_count_can_be_lowered(
    s3_server: Any, s3_bucket: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry_module, "S3_RETRY_COUNT", 0)
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", endpoint_url=s3_server.endpoint_url,
            inject_failure_rate=100) as s3:  # fmt: skip
        assert s3._transfer.retry.max_attempts == 1
        with pytest.raises(Exception, match="injected"):
            s3.put("never", "x")
    monkeypatch.setenv("PROVENANCE_S3_RETRY_COUNT", "lots")
    with pytest.raises(Exception, match="PROVENANCE_S3_RETRY_COUNT must be a whole number"):
        retry_module._retry_count()


def test_s3_run_self_in_a_step_addresses_the_running_run(
    s3_server: Any, s3_bucket: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from conftest import sqlite_config

    import provenance as p
    from provenance.flow import FlowSpec, run_flow, step

    monkeypatch.setenv("PROVENANCE_S3_ROOT", f"s3://{s3_bucket}/data")
    endpoint = s3_server.endpoint_url
    p.load_config(sqlite_config(str(tmp_path / "repo")))

    class Writes(FlowSpec):
        @step
        def start(self):
            with S3(run=self, endpoint_url=endpoint) as s3:
                self.url = s3.put("out.txt", "from the step")
            self.next(self.end)

        @step
        def end(self):
            pass

    first = run_flow(Writes, echo=io.StringIO())
    second = run_flow(Writes, echo=io.StringIO())
    # start read the run id (the run's root): it runs again, and end, which
    # sees its new url, too.
    assert [t.cached for t in second.tasks] == [False, False]
    for result in (first, second):
        url = f"s3://{s3_bucket}/data/Writes/{result.run_id}/out.txt"
        assert result.tasks[0].artifacts["url"].value == url
        with S3(endpoint_url=endpoint) as s3:
            assert s3.get(url).text == "from the step"
    from provenance.flow import FlowSpec as Base

    with pytest.raises(Exception, match="inside a running step"):
        S3(run=Base(use_cli=False), endpoint_url=endpoint)


def test_metaflow_s_class_level_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance.s3 import MetaflowS3InsufficientDiskSpace, S3InsufficientDiskSpace

    assert S3.TYPE == "s3"
    monkeypatch.delenv("PROVENANCE_S3_ROOT", raising=False)
    monkeypatch.delenv("METAFLOW_DATATOOLS_S3ROOT", raising=False)
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://b/sys/")
    assert S3.get_root_from_config(None) == "s3://b/sys/data"
    monkeypatch.setenv("PROVENANCE_S3_ROOT", "s3://mine/root")
    assert S3.get_root_from_config(None) == "s3://mine/root"
    assert MetaflowS3InsufficientDiskSpace is S3InsufficientDiskSpace


def test_a_full_local_disk_while_downloading_is_named(tmp_path: Any) -> None:
    import errno as errno_module

    from provenance.s3 import S3InsufficientDiskSpace
    from provenance.s3.retry import translate

    full = OSError(errno_module.ENOSPC, "No space left on device")
    error = translate(full, "s3://b/k", "get")
    assert isinstance(error, S3InsufficientDiskSpace) and "s3://b/k" in str(error)
    assert translate(full, "s3://b/k", "put") is full  # a put's disk is not the download's
