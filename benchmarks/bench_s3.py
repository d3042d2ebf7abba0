"""put_many / get_many of many small objects on a local S3 server, against sequential boto3."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

from _harness import BENCH_DIR, Context, Figure, Row, alternate, benchmark, median, na_row

#: Any credentials work with moto; fixed ones keep a real AWS profile out of it.
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
_TARGET = ">= 5x faster"
_SERVER = os.path.join(BENCH_DIR, "_s3_server.py")
#: The round trip added to every request in the second measurement (a client
#: in the same region as its bucket sees tens of milliseconds per request).
LATENCY_MS = 20
_WORKERS = 32


@contextlib.contextmanager
def _aws_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*_AWS_ENV, *_AWS_UNSET)}
    os.environ.update(_AWS_ENV)
    for name in _AWS_UNSET:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def moto_server(delay_ms: float = 0) -> Iterator[tuple[str, int]]:
    """A moto S3 server on 127.0.0.1 in a process of its own; yields its URL and pid.

    Its own process, not a thread of this one: a server in this interpreter
    would compete with the client's threads for the GIL, and the benchmark
    would measure that rather than the client.
    """
    proc = subprocess.Popen(
        [sys.executable, _SERVER, str(delay_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server listens (or dies)
        if not line.startswith("READY "):
            raise RuntimeError(f"the moto server did not start (exit code {proc.wait()})")
        yield f"http://127.0.0.1:{int(line.split()[1])}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _na(reason: str) -> list[Row]:
    return [
        na_row(name, peer, None, 5.0, _TARGET, reason)
        for name, peer in (
            ("s3_put_many", "sequential boto3 put_object"),
            ("s3_get_many", "sequential boto3 get_object"),
        )
    ]


def _measure(ctx: Context, n: int, rounds: int, delay_ms: float) -> list[Row]:
    """Both operations of both sides on a fresh server whose requests wait ``delay_ms``."""
    import boto3

    from provenance.s3 import S3

    size = 4096
    data = [os.urandom(size) for _ in range(n)]
    gets: dict[str, list[float]] = {"provenance": [], "boto3": []}
    #: CPU seconds per object of (this process, the server), by side and operation.
    cpu: dict[str, list[tuple[float, float]]] = {
        f"{side}/{op}": [] for side in ("provenance", "boto3") for op in ("put", "get")
    }
    counter = iter(range(1 << 30))

    with moto_server(delay_ms) as (url, server_pid):

        def clocks() -> tuple[float, float]:
            return time.process_time(), cpu_seconds(server_pid)

        def spent(side: str, before: tuple[float, float]) -> None:
            after = clocks()
            cpu[side].append(((after[0] - before[0]) / n, (after[1] - before[1]) / n))

        bucket = "bench"
        plain = boto3.session.Session().client("s3", endpoint_url=url)
        plain.create_bucket(Bucket=bucket)
        ours = S3(
            s3root=f"s3://{bucket}/provenance",
            endpoint_url=url,
            tmproot=ctx.tmpdir,
            workers=_WORKERS,
        )
        try:

            def provenance_side() -> float:
                keys = [f"{next(counter)}/{i:04d}" for i in range(n)]
                c0 = clocks()
                t0 = time.perf_counter()
                ours.put_many(list(zip(keys, data)))
                put = time.perf_counter() - t0
                spent("provenance/put", c0)
                c0 = clocks()
                t0 = time.perf_counter()
                blobs = [obj.blob for obj in ours.get_many(keys)]
                gets["provenance"].append(time.perf_counter() - t0)
                spent("provenance/get", c0)
                if blobs != data:
                    raise RuntimeError("provenance.s3 get_many returned wrong bytes")
                return put

            def boto3_side() -> float:
                keys = [f"sequential/{next(counter)}/{i:04d}" for i in range(n)]
                c0 = clocks()
                t0 = time.perf_counter()
                for key, body in zip(keys, data):
                    plain.put_object(Bucket=bucket, Key=key, Body=body)
                put = time.perf_counter() - t0
                spent("boto3/put", c0)
                c0 = clocks()
                t0 = time.perf_counter()
                blobs = [plain.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]
                gets["boto3"].append(time.perf_counter() - t0)
                spent("boto3/get", c0)
                if blobs != data:
                    raise RuntimeError("boto3 returned wrong bytes")
                return put

            puts = alternate(rounds, {"provenance": provenance_side, "boto3": boto3_side})
        finally:
            ours.close()

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    where = f"+{delay_ms:g} ms per request" if delay_ms else "local moto"
    rows = []
    for op, ours_s, theirs_s in (
        ("put", puts["provenance"], puts["boto3"]),
        ("get", gets["provenance"], gets["boto3"]),
    ):

        def per_object(side: str, which: int, op: str = op) -> float:
            return median([c[which] for c in cpu[f"{side}/{op}"]])

        client, server = per_object("provenance", 0), per_object("provenance", 1)
        # With every core busy, the parallel client cannot beat this.
        floor = n * (client + server) / (cpus or 1)
        rows.append(
            Row(
                f"s3_{op}_many ({where})",
                f"sequential boto3 {op}_object",
                Figure(median(ours_s), "s", ours_s),
                Figure(median(theirs_s), "s", theirs_s),
                5.0,
                _TARGET,
                f"{n:,} objects of {size // 1024} KB, S3(workers={_WORKERS}) vs one default "
                f"boto3 client, moto in its own process; {n / median(ours_s):,.0f} vs "
                f"{n / median(theirs_s):,.0f} objects/s; CPU per object: client "
                f"{client * 1e3:.1f} vs {per_object('boto3', 0) * 1e3:.1f} ms, server "
                f"{server * 1e3:.1f} vs {per_object('boto3', 1) * 1e3:.1f} ms, so on {cpus} "
                f"cpus no client can take less than {floor:.2f} s",
                extra={"n": n, "size": size, "delay_ms": delay_ms, "cpu_per_object_s": cpu},
            )
        )
    return rows


@benchmark("s3_many")
def s3_many(ctx: Context) -> list[Row]:
    """provenance.s3 put_many / get_many of 1,000 4 KB objects on moto vs sequential boto3 (s)."""
    try:
        import provenance.s3  # noqa: F401
    except ImportError as exc:
        ctx.log(f"  n/a: provenance.s3 not available ({exc})")
        return _na("provenance.s3 not available")
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
        import werkzeug  # noqa: F401
    except ImportError as exc:
        return _na(f"needs boto3 and moto[server]: {exc}")

    with _aws_env():
        # As the target asks: a local server, where each request costs only CPU.
        rows = _measure(ctx, ctx.pick(1_000, 60), ctx.pick(min(ctx.rounds, 3), 1), 0)
        # What the parallel client is for: requests that wait on the network.
        rows += _measure(ctx, ctx.pick(200, 30), ctx.pick(min(ctx.rounds, 3), 1), LATENCY_MS)
    return rows
