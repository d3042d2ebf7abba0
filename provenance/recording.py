"""Runs and tasks: how decorated calls are grouped for the client view.

Every decorated call is a *task* of a *run*.  ``with provenance.run("Flow"):``
starts an explicit run; calls made outside one belong to an implicit run of
the process, in a flow named after the main script.  Runs live in the index of
the repo their calls write to (a chained repo's first writable member).

Recording must not slow a cache hit down, so tasks are written behind: a call
appends a tuple to a buffer, and the buffer is written in one transaction when
it grows, when its oldest entry is a few seconds old, when a run ends, before
the client reads, and at exit.  Cache hits are counted, not listed: the hits
of one artifact by one step of a run are one task row with a hit count (its
first start and last end), added to at each flush, so a loop of a million
hits writes a row per artifact and not a million rows.  The writes happen on a daemon thread, so a
cache hit never waits for them.  A process killed before a flush loses those
task records (never an artifact).

An index that cannot be reached is retried with backoff for
:data:`provenance.journal.RETRY_FOR` seconds; its tasks are then kept in memory (up to
:data:`MAX_HELD`) and written when it is back, or, beyond the bound and at
exit, appended to its journal (:mod:`provenance.journal`), which the next
process writing to that index replays.  A row the database refuses is
reported with its cause and written apart from the rest of its batch.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from . import journal
from .errors import IndexUnavailable
from .runinfo import _user, get_run_info
from .runnames import (
    CACHED_TAG,
    MAX_TAG_LENGTH,
    NAME_FORBIDDEN,
    default_flow_name,
    system_tags,
    validate_tag,
    validate_tags,
)
from .runstack import _active, _own_run, current_run, pop_run, push_run
from .storage.runs import (
    RunRef,
    create_run,
    finish_run,
    next_numbers,
    refusal,
    write_tasks,
)

__all__ = [
    "CACHED_TAG",
    "MAX_TAG_LENGTH",
    "NAME_FORBIDDEN",
    "adopt",
    "current_run",
    "default_flow_name",
    "end_implicit_runs",
    "flush",
    "pop_run",
    "push_run",
    "record",
    "ref_for_workers",
    "start_run",
    "system_tags",
    "validate_tag",
    "validate_tags",
    "writer_of",
]

#: Named as before the split (``provenance.runs``), so configured handlers still apply.
logger = logging.getLogger("provenance.runs")


#: Pending task records are written (by a background thread) once this many
#: have gathered ...  Writing costs ~15 us of CPU a task, a third of a cache
#: hit: batches are large so that short bursts of calls never pay for it
#: while they run.
FLUSH_COUNT = 5000
#: ... or once the oldest has waited this many seconds.
FLUSH_AGE = 5.0
#: Tasks kept in memory while their index is down; beyond this (and at
#: exit) they go to the index's journal.
MAX_HELD = 50_000


def writer_of(repo: Any) -> Any:
    """The member of ``repo`` that stores runs, or ``None`` when it cannot write."""
    if not getattr(repo, "write", False):
        return None
    if hasattr(repo, "_writable"):
        return repo._writable()[0]
    return repo


# -- runs in the database ----------------------------------------------------------


def start_run(
    index: Any, flow: str, tags: list[str], *, implicit: bool, created_at: datetime
) -> RunRef:
    """Start a run of ``flow`` as this process's user, with the system tags and run info."""
    return create_run(
        index, flow, tags, implicit=implicit, created_at=created_at,
        user=_user(), system=system_tags(), info=get_run_info(),
    )  # fmt: skip


# -- the recorder ------------------------------------------------------------------

# A pending task: (repo, run or None for the implicit run, step, artifact id,
# cached, successful, exception, params, started, finished, hits, row) with
# times as time.time() floats; ``hits`` calls counted in it, and ``row`` the
# (run, task number) of the row this process wrote that the hits are added to
# (None: a new row).
_Pending = tuple[
    Any, "RunRef | None", str, "str | None", bool, bool, Any, Any, float, float, int,
    "tuple[RunRef, int] | None",
]  # fmt: skip
#: What identifies the cache hits counted in one task row.
_HitKey = tuple[Any, "RunRef | None", str, "str | None"]

_lock = threading.RLock()
_flush_lock = threading.Lock()
_pending: list[_Pending] = []
_oldest = 0.0
#: The implicit run of each repo, created with its first task.  Weak, so that
#: a dropped in-memory repo is freed (the run refers to its index only).
_implicit: weakref.WeakKeyDictionary[Any, RunRef] = weakref.WeakKeyDictionary()
#: When each repo's implicit run began, and its flow name.
_implicit_started: weakref.WeakKeyDictionary[Any, tuple[float, str]] = weakref.WeakKeyDictionary()
#: Set by the excepthook: an uncaught exception fails the implicit runs.
_uncaught = False
_warned = False
#: Tasks whose index could not be reached, written with the next flush.
_held: list[_Pending] = []
#: Cache hits not written yet: ``[first start, last end, count]`` by key.
#: Swapped out whole by flush(), under ``_hits_lock``, which record() holds
#: while it counts, so that no hit is counted into a batch being written.
_hits: dict[_HitKey, list[Any]] = {}
_hits_lock = threading.Lock()
#: The task row each key's hits were written to by this process (its run and
#: task number), so that the next flush adds to it.  Cleared when it grows
#: past :data:`MAX_COUNTED`: later hits then start new rows.
_counted: dict[_HitKey, tuple[RunRef, int]] = {}
MAX_COUNTED = 200_000


def record(
    repo: Any,
    step: str,
    artifact_id: str | None,
    *,
    cached: bool,
    started: float,
    exception: BaseException | None = None,
    params: Any = None,
) -> None:
    """Record one decorated call as a task of the current run (written behind).

    Parameters
    ----------
    repo : Repository
        The repo the call used; nothing is recorded if it cannot write.
    step : str
        The artifact name of the function.
    artifact_id : str or None
        The artifact the call returned (None when it raised).
    cached : bool
        Whether the value came from the repo.
    started : float
        ``time.time()`` when the call began.
    exception : BaseException, optional
        What the call raised.
    params : optional
        A JSON summary of the arguments, for a call that raised.
    """
    global _oldest
    now = time.time()
    run, writer = _target(repo)
    if writer is None:
        return
    error = None
    if exception is not None:
        error = {
            "type": f"{type(exception).__module__}.{type(exception).__qualname__}",
            "message": str(exception)[:10_000],
            "traceback": "".join(
                traceback.format_exception(type(exception), exception, exception.__traceback__)
            )[-60_000:],
        }
    if run is None and getattr(writer, "_provenance_run_seen", False) is not True:
        _register_implicit(writer, started)
    at_once = _forked or (run is not None and run is _adopted)
    pending = _pending
    if cached and artifact_id is not None and not at_once:
        key = (writer, run, step, artifact_id)
        with _hits_lock:
            if not pending and not _hits:
                _oldest = now
            counted = _hits.get(key)
            if counted is None:
                _hits[key] = [started, now, 1]
            else:
                counted[1] = now
                counted[2] += 1
            backlog = len(pending) + len(_hits)
    else:
        entry = (
            writer, run, step, artifact_id, cached, exception is None, error, params, started,
            now, 1, None,
        )  # fmt: skip
        # No lock on this path: list.append is atomic, and flush() removes
        # only what it copied.
        if not pending and not _hits:
            _oldest = now
        pending.append(entry)
        backlog = len(pending) + len(_hits)
    due = backlog >= FLUSH_COUNT or now - _oldest > FLUSH_AGE
    if at_once:
        # A worker's task must be visible when its caller gets the result
        # back (the caller may end the run right after), and a forked child
        # may leave through os._exit, skipping every exit hook: written now.
        flush()
    elif due:
        if backlog >= 10 * FLUSH_COUNT:
            # The writer thread cannot keep up: the caller helps (backpressure).
            flush()
        elif not _wake.is_set():
            _wake_writer()
    elif _writer_thread is None:
        # Started with the first task, so that the age limit holds even when
        # no further call comes.
        _wake_writer(now=False)


def _target(repo: Any) -> tuple[RunRef | None, Any]:
    """The run a call with ``repo`` belongs to (None: the implicit run) and where it is written.

    A run of this thread's own, else the process's innermost run, else the
    run adopted from the process that sent this one its functions (when it
    writes to the same index).  The second item is ``None`` when nothing can
    be recorded (a repo that cannot write).
    """
    run = _own_run.get() or (_active[-1] if _active else None)
    if run is not None:
        return run, run.index
    writer = writer_of(repo)
    adopted = _adopted
    if writer is not None and adopted is not None and adopted.index is writer.index:
        return adopted, writer
    return None, writer


def _register_implicit(writer: Any, started: float) -> None:
    # The implicit run's flow is named at its first call: at exit, when a
    # short script's tasks are written, ``__main__.__file__`` is gone.
    with _lock:
        if writer not in _implicit_started:
            _implicit_started[writer] = (started, default_flow_name())
            _install_excepthook()
        writer._provenance_run_seen = True


_writer_thread: threading.Thread | None = None
_wake = threading.Event()
#: True in a child made by fork(): its tasks are written at once.
_forked = False


def _wake_writer(now: bool = True) -> None:
    # Flushing happens on a daemon thread, so a cache hit never waits for a
    # database write; the thread is started on first need (and again in a
    # forked child, which has no threads).
    global _writer_thread
    thread = _writer_thread
    if thread is None or not thread.is_alive():
        with _lock:
            if _writer_thread is None or not _writer_thread.is_alive():
                _writer_thread = threading.Thread(
                    target=_writer_loop, name="provenance-runs-writer", daemon=True
                )
                _writer_thread.start()
    if now:
        _wake.set()


def _writer_loop() -> None:
    while True:
        _wake.wait(FLUSH_AGE)
        _wake.clear()
        backlog = len(_pending) + len(_hits)
        if _held or (
            backlog and (backlog >= FLUSH_COUNT or time.time() - _oldest >= FLUSH_AGE * 0.9)
        ):
            flush()


def flush() -> None:
    """Write the pending task records (the client calls this before it reads)."""
    global _hits
    if not _pending and not _held and not _hits and not _flush_lock.locked():
        return
    # Taking the lock also waits for a batch another thread is writing, so
    # that after flush() every task recorded before it is in the database.
    with _flush_lock:
        # Copy, then delete what was copied: a task appended in between (record
        # takes no lock) stays for the next flush.
        entries = _pending[:]
        del _pending[: len(entries)]
        entries[:0] = _held
        _held.clear()
        with _hits_lock:
            hits, _hits = _hits, {}
        for (writer, run, step, artifact_id), (started, finished, count) in hits.items():
            entries.append(
                (
                    writer, run, step, artifact_id, True, True, None, None, started, finished,
                    count, _counted.get((writer, run, step, artifact_id)),
                )
            )  # fmt: skip
        if hits:
            # Numbered in the order the calls began, counted hits by their first.
            entries.sort(key=lambda entry: entry[8])
        if not entries:
            return
        groups: dict[int, list[_Pending]] = {}
        for entry in entries:
            groups.setdefault(id(entry[0]), []).append(entry)
        for group in groups.values():
            if _gone(group[0][0]):
                # An in-memory index whose database was closed (its engine
                # disposed): nobody can read these tasks any more.
                logger.debug("dropped %d task(s) of a closed in-memory index", len(group))
                continue
            try:
                journal.write_retrying(
                    _index_of(group[0][0]), functools.partial(_write, group), len(group)
                )
            except IndexUnavailable as exc:
                _keep(group, exc)
            except Exception as exc:
                # Bookkeeping must never break the caching it describes, and
                # one refused row must not take its batch with it.
                _write_apart(group, exc)


def _index_of(target: Any) -> Any:
    return getattr(target, "index", target)


def _keep(group: list[_Pending], _exc: BaseException) -> None:
    _held.extend(group)
    if len(_held) > MAX_HELD:
        _journal_held()


def _journal_held() -> list[tuple[Any, dict[str, Any]]]:
    """Journal the tasks kept in memory; return ``(index, run)`` of implicit runs not created."""
    uncreated: list[tuple[Any, dict[str, Any]]] = []
    groups: dict[int, list[_Pending]] = {}
    for entry in _held:
        groups.setdefault(id(_index_of(entry[0])), []).append(entry)
    _held.clear()
    for group in groups.values():
        index = _index_of(group[0][0])
        lines = journal.lines_of(group, _describe)
        uncreated += [(index, line["run"]) for line in lines if "key" in line["run"]]
        try:
            path = journal.append(index, lines)
        except Exception as exc:
            message = f"could not record {len(group)} task(s) of the run, nor journal them: {exc}"
            warnings.warn(f"provenance {message}", RuntimeWarning, stacklevel=2)
            continue
        journal.forget(index)  # replayed again once the index answers
        logger.warning("%d task record(s) kept in the journal %s", len(group), path)
    return uncreated


def _describe(run: RunRef | None, writer: Any) -> dict[str, Any]:
    """A run as the journal names it: by id, or (an implicit run not yet created) in full."""
    if run is None:
        run = _implicit.get(writer)
    if run is not None:
        return {"id": run.id, "flow": run.flow, "number": run.number, "implicit": run.implicit}
    started, flow = _implicit_started.get(writer) or (time.time(), default_flow_name())
    user = _user()
    # Its tasks are in the journal: the run made later must be the one replayed.
    writer._provenance_journaled = True
    return {
        "key": f"{flow}@{started!r}@{user}", "flow": flow, "implicit": True,
        "created_at": started, "user": user, "system": system_tags(), "info": get_run_info(),
    }  # fmt: skip


def _write_apart(group: list[_Pending], exc: BaseException) -> None:
    """Write a batch that failed for ``exc`` in halves, down to the rows refused."""
    if len(group) == 1:
        _refused(group[0], exc)
        return
    middle = len(group) // 2
    for half in (group[:middle], group[middle:]):
        try:
            _write(half)
        except IndexUnavailable as again:
            _keep(half, again)
        except Exception as again:
            _write_apart(half, again)


def _refused(entry: _Pending, exc: BaseException) -> None:
    global _warned
    where = f" of run {entry[1].pathspec}" if entry[1] is not None else ""
    message = f"could not record 1 task(s) (step {entry[2]!r}{where}): {refusal(exc)}"
    if not _warned:
        _warned = True
        warnings.warn(f"provenance {message}", RuntimeWarning, stacklevel=3)
    logger.warning(message)


#: The run of the process that sent this (worker) process its functions: calls
#: made here outside a run of their own are tasks of that run.
_adopted: RunRef | None = None


def ref_for_workers(repo: Any) -> tuple[int, str, int, int] | None:
    """The run a call with ``repo`` would be recorded in, for a worker process.

    Sent along with a pickled decorated function (``(db id, flow, number, pid)``),
    so the tasks a joblib or dask worker runs belong to the caller's run.  An
    implicit run is created in the database now if it does not exist yet.
    """
    run, writer = _target(repo)
    if writer is None:
        return None
    if run is None:
        if getattr(writer, "_provenance_run_seen", False) is not True:
            _register_implicit(writer, time.time())
        run = _implicit.get(writer)
        if run is None:  # created now, as a flush would (under its lock)
            with _flush_lock:
                run = _implicit_run(writer)
    return (run.id, run.flow, run.number, os.getpid())


def adopt(ref: tuple[Any, ...] | None, repo: Any) -> None:
    """Record this process's calls made outside a run into the sender's run ``ref``."""
    global _adopted
    if ref is None or len(ref) != 4 or ref[3] == os.getpid():
        # Unpickled in the process that sent it (a Dask scheduler in the
        # client process, say): its own runs apply.
        return
    writer = writer_of(repo)
    if writer is None:
        return
    current = _adopted
    if current is not None and current.id == ref[0] and current.index is writer.index:
        return
    # Never ended here: the process that started the run ends it.
    _adopted = RunRef(writer.index, ref[0], ref[1], ref[2], implicit=False, owner_pid=-1)


def _implicit_run(repo: Any) -> RunRef:
    ref = _implicit.get(repo)
    if ref is None:
        started, flow = _implicit_started.get(repo) or (time.time(), default_flow_name())
        created = datetime.fromtimestamp(started, timezone.utc)
        if vars(repo).get("_provenance_journaled"):
            ref = journal.implicit_run(repo.index, _describe(None, repo))
            vars(repo).pop("_provenance_journaled", None)
        else:
            ref = start_run(repo.index, flow, [], implicit=True, created_at=created)
        _implicit[repo] = ref
    return ref


def _gone(target: Any) -> bool:
    """Whether ``target`` (a repo or an index) is an in-memory index that was closed."""
    return getattr(getattr(target, "index", target), "gone", False) is True


def _write(group: list[_Pending]) -> None:
    # The first item is the repo (implicit run) or the run's index.
    target = group[0][0]
    index: Any = getattr(target, "index", target)
    refs = []
    rows = []
    for entry in group:
        writer, run, step, artifact_id, cached, ok, error, params, started, finished = entry[:10]
        hits, counted = entry[10:]
        ref = run or _implicit_run(target)
        refs.append(ref)
        rows.append(
            {
                "run_id": ref.id,
                "step": step,
                "artifact_id": artifact_id,
                "cached": cached,
                "successful": ok,
                "exception": error,
                "params": params,
                "hits": hits,
                "started_at": datetime.fromtimestamp(started, timezone.utc),
                "finished_at": datetime.fromtimestamp(finished, timezone.utc),
                # Added to the row written before, if it is this run's (the
                # implicit run may have ended and another begun since).
                "task_number": counted[1] if counted is not None and counted[0] is ref else None,
            }
        )
    write_tasks(index, refs, rows)
    if len(_counted) > MAX_COUNTED:
        _counted.clear()
    for entry, ref, row in zip(group, refs, rows):
        if entry[4] and entry[3] is not None:  # counted cache hits: added to next time
            _counted[entry[0], entry[1], entry[2], entry[3]] = (ref, row["task_number"])


def _install_excepthook() -> None:
    # An implicit run ends at exit; an uncaught exception makes it failed.
    previous = sys.excepthook
    if getattr(previous, "_provenance", False):
        return

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        global _uncaught
        _uncaught = True
        previous(exc_type, exc, tb)

    hook._provenance = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def end_implicit_runs(successful: bool | None = None) -> list[str]:
    """End this process's implicit runs now (they otherwise end at exit).

    Later calls outside ``provenance.run`` open new implicit runs.  Useful in
    a long-lived process, a notebook say, to mark a batch of work as done.

    Parameters
    ----------
    successful : bool, optional
        The status to record; by default successful unless an uncaught
        exception was seen.

    Returns
    -------
    list of str
        The pathspecs of the runs ended.
    """
    flush()
    global _uncaught
    ok = not _uncaught if successful is None else successful
    _uncaught = False
    status = "successful" if ok else "failed"
    if _held:
        # Their index is down (flush just tried it): journaled now, while
        # their implicit runs are still known, with the runs' end.
        with _flush_lock:
            for index, desc in _journal_held():
                _journal_end(index, desc, status)
    ended = []
    with _lock:
        refs = [(repo, ref) for repo, ref in _implicit.items() if ref.owner_pid == os.getpid()]
        for repo, _ref in refs:
            _implicit.pop(repo, None)
            _implicit_started.pop(repo, None)
            vars(repo).pop("_provenance_run_seen", None)
            vars(repo).pop("_provenance_journaled", None)
    for _repo, ref in refs:
        if _gone(ref.index):
            continue  # its database no longer exists
        try:
            finish_run(ref, status)
        except IndexUnavailable:
            _journal_end(ref.index, _describe(ref, None), status)
        except Exception as exc:
            logger.warning("could not end run %s: %s", ref.pathspec, exc)
        else:
            ended.append(ref.pathspec)
    return ended


def _journal_end(index: Any, desc: dict[str, Any], status: str) -> None:
    try:
        journal.append(index, [{"run": desc, "status": status}])
    except Exception as exc:
        logger.warning("could not journal the end of run %s: %s", desc["flow"], exc)


@atexit.register
def _at_exit() -> None:
    try:
        end_implicit_runs()
    except Exception as exc:  # the interpreter is going away: report, do not raise
        logger.warning("could not end the implicit runs: %s", exc)
    # The full indexes' connections are closed after the last records (see
    # _dispose_all_at_exit); a process that never built one never imports it.
    engine = sys.modules.get("provenance.storage.index.engine")
    if engine is not None:
        engine._dispose_all()


def _after_fork_in_child() -> None:
    # The parent writes what it buffered; a forked worker keeps adding tasks
    # to the parent's runs (task numbers come from the database) but never
    # ends them.  Locks another thread held at the fork are made anew.
    global _flush_lock, _hits_lock, _lock, _wake, _writer_thread, _forked
    _pending.clear()
    _held.clear()
    _hits.clear()
    _counted.clear()
    next_numbers.clear()
    _flush_lock = threading.Lock()
    _hits_lock = threading.Lock()
    _lock = threading.RLock()
    _wake = threading.Event()
    _writer_thread = None
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def implicit_runs() -> Iterator[str]:
    """Pathspecs of the implicit runs this process opened (one per repo)."""
    return iter([r.pathspec for r in _implicit.values()])
