"""The S3 client against a real S3-protocol server (moto, over HTTP on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from provenance.errors import NotFound, PermissionDenied, ProvenanceError
from provenance.s3 import (
    S3,
    MetaflowS3InvalidRange,
    MetaflowS3NotFound,
    MetaflowS3URLException,
    RangeInfo,
    RetryPolicy,
    S3AccessDenied,
    S3GetObject,
    S3InvalidObject,
    S3InvalidRange,
    S3NotFound,
    S3PutObject,
    S3TransientError,
    S3URLError,
)
from provenance.s3.retry import FailureInjector, translate
from provenance.s3.urls import root_for_run

if TYPE_CHECKING:
    from s3_server import S3Server

pytestmark = pytest.mark.s3
# The s3_server and s3_bucket fixtures.  Registered as a plugin (not imported
# before it) so that pytest rewrites the asserts of the helper module too.
pytest_plugins = ["s3_server"]

MiB = 1 << 20
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)


@pytest.fixture
def s3(s3_server: S3Server, s3_bucket: str, tmp_path: Any) -> Iterator[S3]:
    with S3(
        str(tmp_path), s3root=f"s3://{s3_bucket}/root", endpoint_url=s3_server.endpoint_url
    ) as c:
        yield c


def test_put_get_roundtrip_and_object_properties(s3: S3, s3_bucket: str) -> None:
    url = s3.put("dir/hello.txt", "héllo")
    assert url == f"s3://{s3_bucket}/root/dir/hello.txt"
    obj = s3.get("dir/hello.txt")
    assert (obj.exists, obj.downloaded) == (True, True)
    assert (obj.url, obj.key, obj.prefix) == (url, "dir/hello.txt", f"s3://{s3_bucket}/root")
    assert obj.blob == "héllo".encode() and obj.text == "héllo"
    assert obj.size == len("héllo".encode()) == os.path.getsize(obj.path or "")
    assert obj.has_info and obj.range_info == RangeInfo(6, 0, 6)
    assert abs((obj.last_modified or 0) - time.time()) < 300
    bare = s3.get("dir/hello.txt", return_info=False)
    assert bare.blob == obj.blob and not bare.has_info and bare.metadata is None


def test_content_type_and_json_metadata(s3: S3) -> None:
    meta = {"owner": "ünïcode", "n": [1, 2.5, None], "nested": {"ok": True}}
    s3.put("a.json", b"{}", content_type="application/json", metadata=meta)
    s3.put_many([S3PutObject("b.csv", "x,y", content_type="text/csv", metadata={"rows": 1})])
    a, b = s3.get_many(["a.json", "b.csv"])
    assert (a.content_type, a.metadata) == ("application/json", meta)
    assert (b.content_type, b.metadata) == ("text/csv", {"rows": 1})
    info = s3.info("a.json")
    assert (info.downloaded, info.size, info.metadata) == (False, 2, meta)
    with pytest.raises(S3InvalidObject, match="JSON"):
        s3.put("c", b"x", metadata={"bad": object()})


def test_values_text_bytes_and_file_objects(s3: S3) -> None:
    s3.put("t", "text")
    s3.put("b", bytearray(b"bytes"))
    s3.put("f", io.BytesIO(b"file object"))
    assert [o.blob for o in s3.get_many(["t", "b", "f"])] == [b"text", b"bytes", b"file object"]
    with pytest.raises(S3InvalidObject) as info:
        s3.put("n", 42)
    assert isinstance(info.value, TypeError)


def test_get_many_keeps_order_and_returns_missing(s3: S3) -> None:
    s3.put_many([(f"k{i}", str(i)) for i in range(20)])
    keys = [f"k{i}" for i in reversed(range(20))]
    assert [o.text for o in s3.get_many(keys)] == [str(i) for i in reversed(range(20))]
    mixed = s3.get_many(["k1", "nope", "k2"], return_missing=True)
    assert [o.exists for o in mixed] == [True, False, True]
    assert mixed[1].blob is None and mixed[1].path is None and mixed[1].key == "nope"
    with pytest.raises(S3NotFound) as info:
        s3.get_many(["k1", "nope"])
    assert "root/nope" in str(info.value) and info.value.url and info.value.url.endswith("nope")


def test_missing_key_errors(s3: S3, s3_server: S3Server, tmp_path: Any) -> None:
    with pytest.raises(S3NotFound) as info:
        s3.get("missing/key")
    err = info.value
    assert "missing/key" in str(err)
    assert isinstance(err, KeyError) and isinstance(err, NotFound)
    assert isinstance(err, MetaflowS3NotFound) and isinstance(err, ProvenanceError)
    assert not s3.info("missing/key", return_missing=True).exists
    assert [o.exists for o in s3.info_many(["missing", "x"], return_missing=True)] == [False, False]
    with (
        S3(str(tmp_path), endpoint_url=s3_server.endpoint_url) as full,
        pytest.raises(S3NotFound, match="bucket does not exist"),
    ):
        full.get("s3://no-such-bucket-here/key")


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, 10, slice(0, 10)),
        (100, 50, slice(100, 150)),
        (990, None, slice(990, None)),
        (None, -10, slice(-10, None)),
        (500, -10, slice(-10, None)),  # a negative length ignores the offset
        (None, -5000, slice(0, None)),  # more than the object: all of it
        (995, 100, slice(995, None)),  # past the end: cut at the end
        (7, 0, slice(7, 7)),
    ],
)
def test_ranges(s3: S3, offset: int | None, length: int | None, expected: slice) -> None:
    data = bytes(range(256)) * 4  # 1,024 bytes
    s3.put("r", data)
    obj = s3.get(S3GetObject("r", offset, length))
    want = data[expected]
    assert obj.blob == want and obj.size == len(want)
    assert obj.range_info is not None
    assert obj.range_info.total_size == 1024
    assert obj.range_info.request_length == len(want)
    assert obj.range_info.request_offset == (expected.start or 0) % 1024 if want else True
    (again,) = s3.get_many([S3GetObject("r", offset, length)])
    assert again.blob == want


def test_invalid_ranges(s3: S3) -> None:
    s3.put("r", b"0123456789")
    for offset in (10, 5000):
        with pytest.raises(S3InvalidRange) as info:
            s3.get(S3GetObject("r", offset, 5))
        assert "root/r" in str(info.value)
        assert isinstance(info.value, ValueError) and isinstance(info.value, MetaflowS3InvalidRange)
    with pytest.raises(S3InvalidRange):
        s3.get(S3GetObject("r", -1, 5))


def test_empty_object(s3: S3) -> None:
    s3.put("empty", b"")
    obj = s3.get("empty")
    assert obj.exists and obj.downloaded and obj.blob == b"" and obj.size == 0
    assert s3.info("empty").size == 0
    assert s3.list_paths()[0].size == 0 and s3.list_paths()[0].exists
    for offset, length in ((0, 10), (None, -3), (0, None)):
        part = s3.get(S3GetObject("empty", offset, length))
        assert part.blob == b"" and part.range_info == RangeInfo(0, 0, 0)


def test_multi_megabyte_objects_use_multipart(
    s3_server: S3Server, s3_bucket: str, tmp_path: Any
) -> None:
    big = os.urandom(13 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(big)
    with S3(
        str(tmp_path),
        s3root=f"s3://{s3_bucket}",
        endpoint_url=s3_server.endpoint_url,
        multipart_threshold=6 * MiB,
        part_size=5 * MiB,
    ) as s3:
        assert s3.put_files([("from-file", str(src))]) == [
            ("from-file", f"s3://{s3_bucket}/from-file")
        ]
        s3.put("from-bytes", big)
        for key in ("from-file", "from-bytes"):
            # A multipart upload's ETag ends in the number of parts.
            etag = s3_server.client.head_object(Bucket=s3_bucket, Key=key)["ETag"]
            assert etag.strip('"').endswith("-3")
        got = s3.get_many(["from-file", "from-bytes"])
        for obj in got:
            assert obj.size == len(big)
            with open(obj.path or "", "rb") as f:
                assert hashlib.sha256(f.read()).digest() == hashlib.sha256(big).digest()
        tail = s3.get(S3GetObject("from-file", len(big) - 100, 1000))
        assert tail.blob == big[-100:]


def test_failed_multipart_upload_leaves_nothing(
    s3_server: S3Server, s3_bucket: str, tmp_path: Any
) -> None:
    class Breaks(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if self.tell() > 6 * MiB:
                raise OSError("disk vanished")
            return super().read(n)

    with S3(
        str(tmp_path),
        s3root=f"s3://{s3_bucket}",
        endpoint_url=s3_server.endpoint_url,
        multipart_threshold=6 * MiB,
        part_size=5 * MiB,
        retry=FAST_RETRY,
    ) as s3:
        with pytest.raises(OSError, match="disk vanished"):
            s3.put("partial", Breaks(os.urandom(13 * MiB)))
        assert not s3.info("partial", return_missing=True).exists
    uploads = s3_server.client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert uploads == []  # aborted, not left to be billed


def test_unicode_and_space_keys(s3: S3) -> None:
    keys = ["dir with spaces/file name.txt", "ünï/çødé/漢字.bin", "odd/a+b#c?d&e=f%20g.txt"]
    s3.put_many([(k, k) for k in keys])
    assert [o.text for o in s3.get_many(keys)] == keys
    assert [o.key for o in s3.list_recursive(["ünï"])] == ["çødé/漢字.bin"]
    assert [o.key for o in s3.list_paths(["dir with spaces"])] == ["file name.txt"]
    assert s3.info(keys[2]).size == len(keys[2])


def test_key_that_is_both_object_and_prefix(s3: S3) -> None:
    s3.put_many([("a", "object a"), ("a/b", "below a"), ("a/c/d", "deeper"), ("ab", "sibling")])
    top = {(o.key, o.exists) for o in s3.list_paths()}
    assert top == {("a", True), ("a", False), ("ab", True)}
    assert [(o.key, o.exists) for o in s3.list_paths(["a"])] == [("b", True), ("c", False)]
    recursive = s3.list_recursive(["a"])
    assert [o.url.rsplit("root/", 1)[1] for o in recursive] == ["a", "a/b", "a/c/d"]
    assert {o.text for o in s3.get_recursive(["a"])} == {"object a", "below a", "deeper"}
    assert s3.get("a").text == "object a"


def test_metaflow_listing_example(s3: S3) -> None:
    s3.put_many([(k, k) for k in ["a/0.txt", "a/b/1.txt", "a/c/2.txt", "a/d/e/3.txt", "f/4.txt"]])
    listed = [(o.url.rsplit("root/", 1)[1], o.exists) for o in s3.list_paths(["a", "f"])]
    assert listed == [
        ("a/0.txt", True),
        ("a/b/", False),
        ("a/c/", False),
        ("a/d/", False),
        ("f/4.txt", True),
    ]
    rec = [o.url.rsplit("root/", 1)[1] for o in s3.list_recursive(["a", "f"])]
    assert rec == ["a/0.txt", "a/b/1.txt", "a/c/2.txt", "a/d/e/3.txt", "f/4.txt"]
    assert all(o.exists for o in s3.list_recursive(["a"]))
    everything = s3.get_all()
    assert sorted(o.key for o in everything) == sorted(o.text or "" for o in everything)
    infos = s3.get_recursive(["a"], return_info=True)
    assert all(o.has_info and o.prefix and o.prefix.endswith("root/a") for o in infos)


def test_empty_prefixes(s3: S3) -> None:
    assert s3.list_paths() == [] and s3.list_recursive() == []
    assert s3.list_paths(["nothing", "here/"]) == []
    assert s3.get_recursive(["nothing"]) == [] and s3.get_all() == []


def test_overwrite_false(s3_server: S3Server, s3_bucket: str, tmp_path: Any) -> None:
    for conditional in (None, False):  # conditional PUT, and HEAD then PUT
        root = f"s3://{s3_bucket}/{conditional}"
        with S3(
            str(tmp_path),
            s3root=root,
            endpoint_url=s3_server.endpoint_url,
            conditional_writes=conditional,
        ) as s3:
            s3.put("k", "first")
            assert s3.put("k", "second", overwrite=False) == f"{root}/k"
            assert s3.get("k").text == "first"
            done = s3.put_many([("k", "third"), ("new", "n")], overwrite=False)
            assert done == [("new", f"{root}/new")]
            src = tmp_path / "f.txt"
            src.write_text("from file")
            assert s3.put_files([("k", str(src)), ("other", str(src))], overwrite=False) == [
                ("other", f"{root}/other")
            ]
            assert s3.get("k").text == "first"
            assert s3.put_many([("k", "forced")]) == [("k", f"{root}/k")]
            assert s3.get("k").text == "forced"


def test_put_files_checks_every_local_file_first(s3: S3, tmp_path: Any) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"g")
    with pytest.raises(S3NotFound, match="local file not found"):
        s3.put_files([("g", str(good)), S3PutObject("m", path=str(tmp_path / "missing"))])
    assert not s3.info("g", return_missing=True).exists


def test_addressing_modes(
    s3_server: S3Server, s3_bucket: str, tmp_path: Any, monkeypatch: Any
) -> None:
    endpoint = s3_server.endpoint_url
    with S3(str(tmp_path), endpoint_url=endpoint) as full:
        url = full.put(f"s3://{s3_bucket}/x/y", "full")
        assert full.get(url).key == url and full.get(url).prefix is None
        with pytest.raises(S3URLError, match="s3root"):
            full.get("x/y")
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}/x", endpoint_url=endpoint) as rooted:
        assert rooted.get("y").text == "full" and rooted.get("/y").text == "full"
        with pytest.raises(S3URLError) as info:
            rooted.get(f"s3://{s3_bucket}/x/y")
        assert isinstance(info.value, MetaflowS3URLException) and isinstance(info.value, ValueError)

    class Run:
        pathspec = "MyFlow/42"

    monkeypatch.setenv("PROVENANCE_S3_ROOT", f"s3://{s3_bucket}/datastore")
    with S3(str(tmp_path), run=Run(), endpoint_url=endpoint) as run_s3:
        assert run_s3.s3root == f"s3://{s3_bucket}/datastore/MyFlow/42"
        run_s3.put("artifact", "v")
        assert full_get(endpoint, f"s3://{s3_bucket}/datastore/MyFlow/42/artifact") == b"v"


def full_get(endpoint: str, url: str) -> bytes | None:
    with S3(endpoint_url=endpoint) as s3:
        return s3.get(url).blob


def test_run_roots() -> None:
    class Run:
        pathspec = "Flow/7"

    env = {"PROVENANCE_S3_ROOT": "s3://bkt/some/root/"}
    assert root_for_run(Run(), None, None, env) == "s3://bkt/some/root/Flow/7"
    assert root_for_run(Run(), "other", None, env) == "s3://other/some/root/Flow/7"
    assert root_for_run(Run(), None, "p/q", env) == "s3://bkt/p/q/Flow/7"
    sysroot = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf/metaflow"}
    assert root_for_run(Run(), None, None, sysroot) == "s3://mf/metaflow/data/Flow/7"
    assert root_for_run(Run(), "b", "", {}) == "s3://b/Flow/7"
    with pytest.raises(S3URLError, match="PROVENANCE_S3_ROOT"):
        root_for_run(Run(), None, None, {})
    with pytest.raises(S3URLError, match="pathspec"):
        root_for_run(object(), None, None, env)


def test_close_removes_downloads(s3_server: S3Server, s3_bucket: str, tmp_path: Any) -> None:
    s3 = S3(str(tmp_path), s3root=f"s3://{s3_bucket}", endpoint_url=s3_server.endpoint_url)
    s3.put("k", "v")
    path = s3.get("k").path or ""
    assert os.path.exists(path) and os.path.dirname(path).startswith(str(tmp_path))
    s3.close()
    s3.close()
    assert not os.path.exists(os.path.dirname(path))
    with S3(str(tmp_path), s3root=f"s3://{s3_bucket}", endpoint_url=s3_server.endpoint_url) as c:
        inside = c.get("k").path or ""
    assert not os.path.exists(inside)
    assert os.listdir(tmp_path) == []


def test_delete_many(s3: S3) -> None:
    s3.put_many([(f"d/{i}", b"x") for i in range(30)])
    s3.delete_many([f"d/{i}" for i in range(0, 30, 2)] + ["d/never-existed"])
    assert sorted(o.key for o in s3.list_paths(["d"])) == sorted(str(i) for i in range(1, 30, 2))
    s3.delete("d/1")
    assert not s3.info("d/1", return_missing=True).exists


def test_injected_transient_failures_lose_nothing(
    s3_server: S3Server, s3_bucket: str, tmp_path: Any
) -> None:
    items = [(f"item/{i:03d}", os.urandom(i % 7 * 100)) for i in range(200)]
    with S3(
        str(tmp_path),
        s3root=f"s3://{s3_bucket}",
        endpoint_url=s3_server.endpoint_url,
        inject_failures=0.3,
        seed=7,
        retry=RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.05),
    ) as s3:
        assert len(s3.put_many(items)) == 200
        put_failures = s3.stats.injected_failures
        got = s3.get_many([k for k, _ in items])
        assert [o.blob for o in got] == [v for _, v in items]
        # Only the items that failed were retried: one retry per failure.
        assert s3.stats.retries == s3.stats.injected_failures > put_failures > 30
    listed = s3_server.client.list_objects_v2(Bucket=s3_bucket, Prefix="item/")["KeyCount"]
    assert listed == 200


def test_failure_injection_is_deterministic() -> None:
    a, b = FailureInjector(0.3, seed=1), FailureInjector(0.3, seed=1)
    pattern = [a.fails("get", f"s3://b/{i}", 0) for i in range(1000)]
    assert pattern == [b.fails("get", f"s3://b/{i}", 0) for i in range(1000)]
    assert 250 < sum(pattern) < 350
    assert sum(a.fails("get", f"s3://b/{i}", 3) for i in range(1000)) < 80  # decays per retry
    assert pattern != [
        FailureInjector(0.3, seed=2).fails("get", f"s3://b/{i}", 0) for i in range(1000)
    ]


def test_retries_run_out(s3_server: S3Server, s3_bucket: str, tmp_path: Any) -> None:
    with S3(
        str(tmp_path),
        s3root=f"s3://{s3_bucket}",
        endpoint_url=s3_server.endpoint_url,
        inject_failures=1.0,
        retry=FAST_RETRY,
    ) as s3:
        with pytest.raises(S3TransientError, match="3 attempts") as info:
            s3.put("k", "v")
        assert info.value.url == f"s3://{s3_bucket}/k"
        assert s3.stats.retries == 2


def test_dropped_connections_are_retried(tmp_path: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    with S3(str(tmp_path), endpoint_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY) as s3:
        with pytest.raises(S3TransientError, match="after 3 attempts"):
            s3.get("s3://bucket/key")
        assert s3.stats.retries == 2


class _Throttling(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint that always answers 503 SlowDown, as S3 does under load."""

    hits = 0

    def _slow_down(self) -> None:
        type(self).hits += 1
        body = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = _slow_down

    def log_message(self, *args: Any) -> None:
        pass


def test_throttling_is_retried_then_reported(tmp_path: Any) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        with (
            S3(str(tmp_path), endpoint_url=endpoint, retry=FAST_RETRY) as s3,
            pytest.raises(S3TransientError, match="SlowDown"),
        ):
            s3.put("s3://bucket/key", b"x")
        assert _Throttling.hits == 3
    finally:
        server.shutdown()
        server.server_close()


def _client_error(code: str, status: int) -> Any:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("NoSuchKey", 404, S3NotFound),
        ("404", 404, S3NotFound),
        ("AccessDenied", 403, S3AccessDenied),
        ("InvalidRange", 416, S3InvalidRange),
        ("SlowDown", 503, S3TransientError),
        ("InternalError", 500, S3TransientError),
        ("Throttling", 400, S3TransientError),
        ("TooManyRequests", 429, S3TransientError),
        ("MalformedXML", 400, None),
    ],
)
def test_error_translation(code: str, status: int, kind: type | None) -> None:
    err = translate(_client_error(code, status), "s3://b/k", "get")
    assert "s3://b/k" in str(err)
    if kind is None:
        assert type(err).__name__ == "S3Error"
    else:
        assert isinstance(err, kind)
    if kind is S3AccessDenied:
        assert isinstance(err, PermissionDenied) and isinstance(err, PermissionError)


def test_missing_boto3_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None  # as if not installed\n"
        "from provenance.errors import MissingDependency\n"
        "try:\n"
        "    import provenance.s3\n"
        "except MissingDependency as exc:\n"
        '    assert "provenance[s3]" in str(exc), exc\n'
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- keys never climb out of their root (issue 15, item 6) ------------------------------


class _Pathspec:
    def __init__(self, pathspec: str) -> None:
        self.pathspec = pathspec


@pytest.mark.parametrize("key", ["../x", "a/../../x", "a/./b", "..", "a/.."])
def test_keys_with_dot_segments_are_refused(key: str) -> None:
    rooted = S3(s3root="s3://bucket/root", endpoint_url="http://127.0.0.1:1")
    full = S3(endpoint_url="http://127.0.0.1:1")
    try:
        with pytest.raises(S3URLError, match="'.' or '..' segments"):
            rooted._url(key)
        with pytest.raises(S3URLError, match="'.' or '..' segments"):
            full._url(f"s3://bucket/{key}")
        # Dots inside a name are fine.
        assert rooted._url("a/b..c/.d") == "s3://bucket/root/a/b..c/.d"
    finally:
        rooted.close()
        full.close()


def test_roots_and_run_pathspecs_with_dot_segments_are_refused() -> None:
    with pytest.raises(S3URLError):
        S3(s3root="s3://bucket/a/../b", endpoint_url="http://127.0.0.1:1")
    with pytest.raises(S3URLError):
        S3(bucket="bucket", prefix="../b", endpoint_url="http://127.0.0.1:1")
    for pathspec in ("../1", "Flow/..", "./1"):
        with pytest.raises(S3URLError):
            root_for_run(_Pathspec(pathspec), "bucket", "p", environ={})
    assert root_for_run(_Pathspec("Flow/3"), "bucket", "p", environ={}) == "s3://bucket/p/Flow/3"
    with pytest.raises(S3URLError, match="1024 bytes"):
        S3(endpoint_url="http://127.0.0.1:1")._url("s3://bucket/" + "k" * 1025)
