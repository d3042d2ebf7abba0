"""Concurrent callers of the same decorated call: no errors, one artifact, equal values."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import provenance as p


def test_threads_racing_on_one_call(disk_repo: Any) -> None:
    barrier = threading.Barrier(8)

    @p.provenance()
    def slow(x: int) -> list[int]:
        return [x] * 1000

    results: list[Any] = []
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            results.append(slow(3))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == [3] * 1000 for r in results)
    assert len({r.artifact.id for r in results}) == 1
    assert disk_repo.index.count() == 1


WORKER = textwrap.dedent(
    """
    import sys, time
    import provenance as p

    @p.provenance()
    def shared(x):
        time.sleep(0.2)
        return {"x": x, "data": list(range(5000))}

    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.001)
    r = shared(42)
    print(r.artifact.id, r.artifact.value_id)
    """
)


def test_processes_racing_on_one_call(tmp_path: Any) -> None:
    import time

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {"PROVENANCE_HOME": str(tmp_path / "store"), "PATH": "/usr/bin:/bin"}
    start = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(8)
    ]
    outs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
    assert len({out for out, _ in outs}) == 1
    p.load_config(
        {
            "blobstores": {"d": {"type": "disk", "cachedir": str(tmp_path / "store" / "blobs")}},
            "artifact_repos": {
                "r": {
                    "type": "sql",
                    "db": f"sqlite:///{tmp_path / 'store' / 'provenance.db'}",
                    "store": "d",
                }
            },
            "default_repo": "r",
        }
    )
    repo = p.get_default_repo()
    assert repo.index.count() == 1
    assert len(list(repo.blobstore.keys())) == 1
