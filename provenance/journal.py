"""The journal of task records that could not be written to their index.

When an index cannot be reached (a PostgreSQL restart, a network outage),
:mod:`provenance.recording` keeps the tasks of the calls made meanwhile in
memory, up to a bound, and then here: an append-only file of JSON lines per
index under ``$PROVENANCE_HOME/journal/``, named by a hash of the index's
identity (its URL without the password, and its schema).  Each batch is one
line, written with ``fsync``, under an exclusive ``flock`` so that processes
sharing the file never interleave.

The next process that writes tasks to the same index replays the file: it
claims it by renaming it (atomically; appenders notice the rename and start a
new file), writes its tasks and then removes it.  Replaying is idempotent:
a task is skipped when its run already holds a task of the same step with
the same start and finish times, and a run that was journaled before it
could be created is found again by its flow, user and creation time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

from .config import provenance_home
from .errors import IndexUnavailable
from .storage.index import SqliteFileIndex
from .storage.runs import RunRef, create_run, finish_run, write_tasks

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are still whole lines
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "append",
    "forget",
    "identity",
    "implicit_run",
    "lines_of",
    "path_of",
    "replay",
    "write_retrying",
]

logger = logging.getLogger("provenance.runs")

_T = TypeVar("_T")

#: The version of a journal line's layout.
VERSION = 1
#: Seconds a batch is retried for (with backoff) while its index cannot be
#: reached, before its tasks are kept for later.  Once an index was found
#: down, each later batch tries it once until it answers again.
RETRY_FOR = 10.0
#: The first pause between tries; it doubles, up to a second.
RETRY_DELAY = 0.05

#: Identities (``id()``) of the indexes found down.
_down: set[int] = set()
#: Journal identities this process has replayed (or found empty).
_replayed: set[str] = set()


def retrying(call: Callable[[], _T], retry_for: float | None = None, what: str = "") -> _T:
    """``call()``, retried with backoff while its index cannot be reached.

    An :class:`~provenance.errors.IndexUnavailable` is retried for
    ``retry_for`` seconds (:data:`RETRY_FOR` by default), the pause doubling
    from :data:`RETRY_DELAY` up to a second, then raised.
    """
    deadline = time.monotonic() + (RETRY_FOR if retry_for is None else retry_for)
    delay = RETRY_DELAY
    while True:
        try:
            return call()
        except IndexUnavailable as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.debug("retrying %s after %s", what or "a write", exc)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def write_retrying(index: Any, write: Any, count: int) -> None:
    """Run ``write()`` (``count`` tasks for ``index``), first replaying its journal.

    An :class:`~provenance.errors.IndexUnavailable` is retried with backoff
    for :data:`RETRY_FOR` seconds (once only while the index is known down),
    then raised.
    """

    def attempt() -> None:
        _replay_once(index)
        write()

    try:
        retrying(attempt, 0 if id(index) in _down else RETRY_FOR, f"{count} task(s)")
    except IndexUnavailable as exc:
        if id(index) not in _down:
            _down.add(id(index))
            logger.warning("%s; its task records are kept until it is back", exc)
        raise
    if id(index) in _down:
        _down.discard(id(index))
        logger.warning("the index %s is back: its task records are written", index)


def _replay_once(index: Any) -> None:
    # The journal left by processes that could not reach this index (or by
    # this one, beyond the memory bound) is written before new tasks.
    ident = identity(index)
    if ident is None or ident in _replayed:
        return
    try:
        replay(index)
    except IndexUnavailable:
        raise
    except Exception as exc:  # kept in the journal; new tasks are still written
        logger.warning("could not replay the journal %s: %s", path_of(index), exc)
    _replayed.add(ident)


def replay_pending(index: Any) -> None:
    """Replay the journal of ``index`` now, if this process has not yet (a reader's turn).

    The client view calls it before reading runs, so that the tasks of
    processes that could not reach the index show once it is back.  Errors
    are logged: a reader's query must not fail because of a journal.
    """
    try:
        _replay_once(index)
    except Exception as exc:
        logger.debug("the journal of %s is not replayed yet: %s", index, exc)


def forget(index: Any) -> None:
    """Replay the journal of ``index`` again before its next write (it was appended to)."""
    ident = identity(index)
    if ident is not None:
        _replayed.discard(ident)


def identity(index: Any) -> str | None:
    """What names ``index`` across processes, or ``None`` for an in-memory index."""
    if isinstance(index, SqliteFileIndex):
        # As the full index's URL renders (a test pins the two equal), without
        # building it: the light index serves processes that only record.
        return f"sqlite:///{urllib.parse.quote(index.path, safe=' +/')}#"
    url = index.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        url = url.set(database=os.path.abspath(url.database))
    schema = getattr(index, "schema", None)
    return f"{url.render_as_string(hide_password=True)}#{schema or ''}"


def path_of(index: Any) -> str | None:
    """The journal file of ``index`` (``None``: an in-memory index has none)."""
    ident = identity(index)
    if ident is None:
        return None
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return os.path.join(provenance_home(), "journal", f"{digest}.jsonl")


@contextlib.contextmanager
def _locked(path: str) -> Iterator[int]:
    # Open, lock, and make sure the file locked is still the one at ``path``
    # (a replayer may have renamed it away between the open and the lock).
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)  # releases the lock


def append(index: Any, lines: list[dict[str, Any]]) -> str | None:
    """Append ``lines`` to the journal of ``index``, durably; return its path."""
    path = path_of(index)
    if path is None or not lines:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps({"v": VERSION, **line}, default=str) + "\n" for line in lines)
    with _locked(path) as fd:
        os.write(fd, data.encode())
        os.fsync(fd)
    return path


def lines_of(entries: list[Any], describe: Any) -> list[dict[str, Any]]:
    """Journal lines of pending tasks (:mod:`provenance.recording`'s tuples), one per run.

    ``describe(run, writer)`` names a task's run for the journal.
    """
    lines: dict[int, dict[str, Any]] = {}
    for entry in entries:
        writer, run, step, artifact_id, cached, ok, error, params, started, finished = entry[:10]
        line = lines.get(id(run or writer))
        if line is None:
            line = lines[id(run or writer)] = {"run": describe(run, writer), "tasks": []}
        line["tasks"].append(
            {
                "step": step, "artifact_id": artifact_id, "cached": cached,
                "successful": ok, "exception": error, "params": params,
                "started_at": started, "finished_at": finished,
                # Hits added to a row written before become a row of their own.
                "hits": entry[10],
            }
        )  # fmt: skip
    return list(lines.values())


def _claim(path: str) -> list[str]:
    """Take the journal at ``path`` (and any left by a replayer that died) for replaying."""
    claimed = []
    folder, name = os.path.split(path)
    stem = name[: -len(".jsonl")]
    with contextlib.suppress(FileNotFoundError):
        for other in os.listdir(folder):
            if other.startswith(stem + ".claimed-"):
                pid = int(other.split("-")[1])
                if not _alive(pid):
                    claimed.append(os.path.join(folder, other))
    if os.path.exists(path):
        target = f"{path[: -len('.jsonl')]}.claimed-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            with _locked(path):
                os.rename(path, target)
        except FileNotFoundError:
            pass
        else:
            claimed.append(target)
    return claimed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def replay(index: Any) -> int:
    """Write the journaled tasks of ``index`` that it does not hold yet; return how many.

    The journal is removed once replayed.  If the index cannot be reached
    (or refuses the replay), the lines go back to the journal and the error
    is raised.
    """
    path = path_of(index)
    if path is None:
        return 0
    written = 0
    for claimed in _claim(path):
        lines = _read(claimed)
        try:
            written += _replay_lines(index, lines)
        except BaseException:
            # Back in the journal for the next try; nothing of it is lost.
            append(index, [{k: v for k, v in line.items() if k != "v"} for line in lines])
            os.unlink(claimed)
            raise
        os.unlink(claimed)
    if written:
        logger.info("replayed %d task(s) from the journal %s", written, path)
    return written


def _read(path: str) -> list[dict[str, Any]]:
    lines = []
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            try:
                line = json.loads(text)
            except ValueError:
                # A line cut short by a crash in the middle of its write.
                logger.warning("skipped line %d of the journal %s: not JSON", number, path)
                continue
            if isinstance(line, dict) and line.get("v") == VERSION:
                lines.append(line)
            else:
                logger.warning("skipped line %d of the journal %s: unknown layout", number, path)
    return lines


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _resolve(index: Any, run: dict[str, Any], made: dict[str, RunRef]) -> RunRef | None:
    """The run of a journaled batch, created if it was journaled before it existed."""
    key = run.get("key") or str(run.get("id"))
    if key in made:
        return made[key]
    # SQLAlchemy only here: a journal is replayed after an outage, not on every run.
    from sqlalchemy import select

    from .storage.models import RunRow

    runs = RunRow.__table__
    with index._connect() as conn:
        if run.get("id") is not None:
            found = conn.execute(
                select(runs.c.id, runs.c.run_number).where(
                    runs.c.id == run["id"], runs.c.flow == run["flow"]
                )
            ).first()
        else:
            created = _utc(run["created_at"])
            candidates = conn.execute(
                select(runs.c.id, runs.c.run_number, runs.c.created_at).where(
                    runs.c.flow == run["flow"],
                    runs.c.user == run["user"],
                    runs.c.implicit.is_(True),
                )
            ).all()
            found = next((c for c in candidates if _utc(c[2]) == created), None)
    if found is not None:
        ref = RunRef(index, int(found[0]), run["flow"], int(found[1]), bool(run.get("implicit")))
    elif run.get("id") is not None:
        logger.warning("run %s/%s of journaled tasks no longer exists", run["flow"], run["number"])
        return None
    else:
        ref = create_run(
            index, run["flow"], [], implicit=True, created_at=_utc(run["created_at"]),
            user=run["user"], system=run["system"], info=run["info"],
        )  # fmt: skip
    ref.owner_pid = -1  # never ended by this process
    made[key] = ref
    return ref


def implicit_run(index: Any, desc: dict[str, Any]) -> RunRef:
    """This process's implicit run, journaled before it was created: found, or created now."""
    ref = _resolve(index, desc, {})
    assert ref is not None  # described in full, never by id
    ref.owner_pid = os.getpid()
    return ref


def _replay_lines(index: Any, lines: list[dict[str, Any]]) -> int:
    from sqlalchemy import select

    from .storage.models import TaskRow

    made: dict[str, RunRef] = {}
    tasks = TaskRow.__table__
    written = 0
    for line in lines:
        ref = _resolve(index, line["run"], made)
        if ref is None:
            continue
        if "status" in line:
            finish_run(ref, line["status"])
            continue
        with index._connect() as conn:
            have = {
                (step, _utc(s), _utc(f))
                for step, s, f in conn.execute(
                    select(tasks.c.step, tasks.c.started_at, tasks.c.finished_at).where(
                        tasks.c.run_id == ref.id
                    )
                )
            }
        rows = []
        for task in line["tasks"]:
            started, finished = _utc(task["started_at"]), _utc(task["finished_at"])
            if (task["step"], started, finished) in have:
                continue
            rows.append(
                {**task, "run_id": ref.id, "started_at": started, "finished_at": finished,
                 "hits": task.get("hits", 1)}
            )  # fmt: skip
        if rows:
            write_tasks(index, [ref] * len(rows), rows)
            written += len(rows)
    return written
