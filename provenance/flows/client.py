"""A Metaflow-style client view of what ``@provenance`` recorded.

The objects follow Metaflow's client API, addressed by *pathspec*::

    Metaflow()                                   every flow
    Flow('TrainFlow')                            the runs of a flow
    Run('TrainFlow/3')                           the steps of a run
    Step('TrainFlow/3/train')                    the tasks of a step
    Task('TrainFlow/3/train/1')                  one call
    DataArtifact('TrainFlow/3/train/1/train')    one output of the call

A *run* groups the decorated calls of one execution (``provenance.run(...)``
or the implicit run of a process), a *step* is a decorated function called in
the run, a *task* one call of it (cache hits included), and a task's data
artifacts are its outputs.  Everything is read from the index of the repo
selected with :func:`metadata` (the default repo unless told otherwise); values
are loaded only when ``.data`` is read.

Only runs in the current namespace (:func:`namespace`, by default
``user:<you>``) can be reached; ``namespace(None)`` shows everything.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, exists, func, insert, select

from .. import recording as _runs
from ..errors import (
    BlobNotFound,
    ConfigError,
    MetaflowInvalidPathspec,
    MetaflowNamespaceMismatch,
    MetaflowNotFound,
    MetaflowTaggingError,
)
from ..runinfo import _user
from ..storage.index import decode_datetime, decode_json
from ..storage.models import RunRow, RunTag, TaskRow

__all__ = [
    "DataArtifact",
    "Flow",
    "Metaflow",
    "MetaflowArtifacts",
    "MetaflowData",
    "MetaflowObject",
    "Run",
    "Step",
    "Task",
    "TaskException",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
]

_runs_t: Table = RunRow.__table__  # type: ignore[assignment]
_tags_t: Table = RunTag.__table__  # type: ignore[assignment]
_tasks_t: Table = TaskRow.__table__  # type: ignore[assignment]

_RUN_COLUMNS = (
    _runs_t.c.id,
    _runs_t.c.flow,
    _runs_t.c.run_number,
    _runs_t.c.user,
    _runs_t.c.status,
    _runs_t.c.implicit,
    _runs_t.c.created_at,
    _runs_t.c.finished_at,
)
_TASK_COLUMNS = (
    _tasks_t.c.id,
    _tasks_t.c.step,
    _tasks_t.c.task_number,
    _tasks_t.c.artifact_id,
    _tasks_t.c.cached,
    _tasks_t.c.successful,
    _tasks_t.c.exception,
    _tasks_t.c.params,
    _tasks_t.c.started_at,
    _tasks_t.c.finished_at,
)
#: The most runs fetched per query while iterating a flow (keyset pagination).
_PAGE = 256

# -- namespaces --------------------------------------------------------------------

_UNSET: Any = object()
_state_lock = threading.Lock()
_namespace: Any = _UNSET
_provider: Any = None  # (description, repo) chosen by metadata(), None for the default


def default_namespace() -> str:
    """Go back to the default namespace, ``user:<name>``, and return it.

    The name comes from ``PROVENANCE_USER``, then ``USER`` / ``USERNAME``.
    """
    global _namespace
    with _state_lock:
        _namespace = f"user:{_user()}"
        return str(_namespace)


def namespace(ns: str | None) -> str | None:
    """Switch the namespace (a tag) that filters every object; ``None`` shows all.

    Returns
    -------
    str or None
        The namespace now in effect (:func:`get_namespace`).
    """
    global _namespace
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise MetaflowTaggingError(f"a namespace is a non-empty tag string or None, got {ns!r}")
    with _state_lock:
        _namespace = ns
    return ns


def get_namespace() -> str | None:
    """The namespace that filters objects now (``None``: no filtering)."""
    if _namespace is _UNSET:
        return default_namespace()
    return _namespace


# -- metadata providers ------------------------------------------------------------


def _runs_member(repo: Any) -> Any:
    # Runs are recorded in a chained repo's first writable member.
    if hasattr(repo, "repos"):
        writable = [r for r in repo.repos if r.write]
        return writable[0] if writable else repo.repos[0]
    return repo


def _local_repo(directory: str) -> Any:
    from ..config import default_config, from_config

    directory = os.path.abspath(os.path.expanduser(directory))
    home = directory
    if not os.path.isfile(os.path.join(home, "provenance.db")):
        home = os.path.join(directory, ".provenance")
    if not os.path.isfile(os.path.join(home, "provenance.db")):
        raise ConfigError(
            f"metadata('local@{directory}'): no provenance store there "
            f"(looked for {directory}/.provenance/provenance.db and {directory}/provenance.db)"
        )
    return home, from_config(default_config(home))["repos"]["default"]


def _url_repo(url: str) -> Any:
    from ..config import current_config
    from ..storage.blobstores import MemoryStore
    from ..storage.index import SqlIndex
    from ..storage.repos import Repository

    # A configured repo on that database brings its blobstore along.
    for repo in current_config().repos.values():
        for member in getattr(repo, "repos", [repo]):
            index = getattr(member, "index", None)
            if index is not None and index.url.render_as_string(hide_password=False) == url:
                return member
    index = SqlIndex(url, create_db=False)
    return Repository(index, MemoryStore(), name=None, read=True, write=False)


def metadata(ms: str) -> str:
    """Choose the repository the client reads.

    Parameters
    ----------
    ms : str
        A configured repo name, an SQLAlchemy URL (``sqlite:///...``,
        ``postgresql+psycopg://...``), ``local@<dir>`` for a directory holding
        a ``.provenance`` store, or a path to such a directory.

    Returns
    -------
    str
        :func:`get_metadata`, the provider now in use.
    """
    global _provider
    from ..config import get_repo_by_name

    if not isinstance(ms, str) or not ms:
        raise ConfigError(
            f"metadata() expects a repo name, a database URL or local@<dir>, got {ms!r}"
        )
    if ms.startswith("local@"):
        home, repo = _local_repo(ms[len("local@") :])
        chosen = (f"local@{home}", repo)
    elif "://" in ms:
        repo = _url_repo(ms)
        chosen = (f"sql@{repo.index.url.render_as_string(hide_password=True)}", repo)
    elif ms.startswith("repo@"):
        chosen = (ms, get_repo_by_name(ms[len("repo@") :]))
    elif os.path.isdir(ms):
        home, repo = _local_repo(ms)
        chosen = (f"local@{home}", repo)
    else:
        chosen = (f"repo@{ms}", get_repo_by_name(ms))
    with _state_lock:
        _provider = chosen
    return get_metadata()


def get_metadata() -> str:
    """The provider the client reads: ``repo@<name>``, ``sql@<url>`` or ``local@<dir>``."""
    provider = _provider
    if provider is not None:
        return str(provider[0])
    from ..config import get_default_repo

    repo = get_default_repo()
    return f"repo@{repo.name}" if repo.name else f"repo@{repo!r}"


def default_metadata() -> str:
    """Go back to reading the default repo; returns :func:`get_metadata`."""
    global _provider
    with _state_lock:
        _provider = None
    return get_metadata()


def _current_repo() -> Any:
    provider = _provider
    if provider is not None:
        return _runs_member(provider[1])
    from ..config import resolve_repo

    return _runs_member(resolve_repo(None))


# -- helpers -----------------------------------------------------------------------


def _in_ns(run_id_column: Any, ns: str) -> Any:
    return exists().where(_tags_t.c.run_id == run_id_column, _tags_t.c.tag == ns)


def _has_tags(run_id_column: Any, tags: Iterable[str]) -> list[Any]:
    return [_in_ns(run_id_column, t) for t in tags]


def _number(component: str, what: str, pathspec: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", component):
        raise MetaflowInvalidPathspec(
            f"{what} id {component!r} in pathspec {pathspec!r} is not a positive integer"
        )
    return int(component)


class TaskException:
    """What a failed task raised, as recorded (the exception object itself is not kept).

    Attributes
    ----------
    type : str
        The qualified exception class, e.g. ``builtins.ValueError``.
    message : str
        ``str(exception)``.
    traceback : str
        The formatted traceback.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.type = str(data.get("type", ""))
        self.message = str(data.get("message", ""))
        self.traceback = str(data.get("traceback", ""))

    def __str__(self) -> str:
        name = self.type.rsplit(".", 1)[-1]
        return f"{name}: {self.message}" if self.message else name

    def __repr__(self) -> str:
        return f"<TaskException {self}>"


# -- the objects -------------------------------------------------------------------


class MetaflowObject:
    """Base of every client object: a pathspec, its parent, children and tags."""

    _depth = 0
    _kind = "object"

    def __init__(
        self,
        pathspec: str | None = None,
        *,
        _namespace_check: bool = True,
        _repo: Any = None,
        _row: Any = None,
        _run: Run | None = None,
    ) -> None:
        if self._depth == 0:
            self._components: list[str] = []
        else:
            if not isinstance(pathspec, str):
                raise MetaflowInvalidPathspec(
                    f"{type(self).__name__}() needs a pathspec string, got {pathspec!r}"
                )
            parts = pathspec.split("/")
            if len(parts) != self._depth or not all(parts):
                shape = "/".join(["Flow", "run", "step", "task", "artifact"][: self._depth])
                raise MetaflowInvalidPathspec(
                    f"{type(self).__name__} pathspec must look like '{shape}', got {pathspec!r}"
                )
            for i in (1, 3):
                # 'F/03' is run 3: the pathspec says so, so objects compare equal.
                if i < len(parts):
                    parts[i] = str(_number(parts[i], "run" if i == 1 else "task", pathspec))
            self._components = parts
        _runs.flush()
        self._repo = _repo if _repo is not None else _current_repo()
        self._index = self._repo.index
        self._run_obj = _run
        self._row = _row if _row is not None else self._load()
        if _namespace_check and not self.is_in_namespace():
            raise MetaflowNamespaceMismatch(
                f"{self._kind} {self.pathspec!r} is not in namespace {get_namespace()!r}; "
                "switch with provenance.client.namespace(...), or namespace(None) for all"
            )

    # -- implemented by each level --------------------------------------------

    def _load(self) -> Any:
        return None

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[MetaflowObject]:
        return iter(())

    def _child_by_id(self, child_id: str) -> MetaflowObject:
        raise MetaflowNotFound(f"{self.pathspec!r} has no children")

    # -- common interface -------------------------------------------------------

    def _not_found(self) -> MetaflowNotFound:
        return MetaflowNotFound(
            f"{self._kind} {self.pathspec!r} does not exist in {get_metadata()}"
        )

    def _connect(self) -> Any:
        return self._index._connect()

    def _related(self, cls: type[Any], pathspec: str, **known: Any) -> Any:
        # A parent or child: same repo, and in the namespace when this is.
        return cls(pathspec, _namespace_check=False, _repo=self._repo, **known)

    @property
    def pathspec(self) -> str | None:
        """The path addressing this object, e.g. ``'TrainFlow/3'`` for a run."""
        return "/".join(self._components) or None

    @property
    def path_components(self) -> list[str]:
        """The components of the pathspec."""
        return list(self._components)

    @property
    def id(self) -> str:
        """The last component of the pathspec."""
        return self._components[-1] if self._components else ""

    @property
    def parent(self) -> MetaflowObject | None:
        """The object one level up (a run's flow, a task's step), or ``None``."""
        return None

    @property
    def tags(self) -> frozenset[str]:
        """All tags of the run this object belongs to (user and system tags)."""
        return self.user_tags | self.system_tags

    @property
    def user_tags(self) -> frozenset[str]:
        """Tags set by users (``run(tags=...)``, :meth:`Run.add_tag`)."""
        return frozenset()

    @property
    def system_tags(self) -> frozenset[str]:
        """Tags set when the run started (``user:``, ``python_version:``, ...)."""
        return frozenset()

    @property
    def created_at(self) -> datetime | None:
        """When this object came into existence."""
        return None

    @property
    def origin_pathspec(self) -> str | None:
        """The pathspec of the object this one was served from (cached tasks), or ``None``."""
        return None

    def is_in_namespace(self) -> bool:
        """Whether this object is visible in the current namespace."""
        ns = get_namespace()
        return ns is None or ns in self.tags

    def __iter__(self) -> Iterator[Any]:
        """The children in the current namespace, newest first."""
        return self._children()

    def __getitem__(self, child_id: str) -> Any:
        """The child called ``child_id``; ``KeyError`` (:class:`MetaflowNotFound`) if none."""
        return self._child_by_id(str(child_id))

    def __contains__(self, child_id: object) -> bool:
        try:
            self._child_by_id(str(child_id))
        except (MetaflowNotFound, MetaflowInvalidPathspec, MetaflowNamespaceMismatch):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.pathspec == other.pathspec

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.pathspec))

    def __repr__(self) -> str:
        inside = f"'{self.pathspec}'" if self.pathspec else ""
        return f"{type(self).__name__}({inside})"


class Metaflow(MetaflowObject):
    """Every flow with at least one run in the current namespace."""

    _kind = "metaflow"

    def is_in_namespace(self) -> bool:
        return True

    @property
    def flows(self) -> list[Flow]:
        """The flows in the current namespace, most recently run first."""
        return list(self._children())

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[Flow]:
        ns = get_namespace()
        stmt = select(_runs_t.c.flow, func.max(_runs_t.c.created_at).label("last"))
        if ns is not None:
            stmt = stmt.where(_in_ns(_runs_t.c.id, ns))
        stmt = stmt.group_by(_runs_t.c.flow).order_by(func.max(_runs_t.c.created_at).desc())
        with self._connect() as conn:
            names = [r[0] for r in conn.execute(stmt)]
        for name in names:
            yield self._related(Flow, name)

    def _child_by_id(self, child_id: str) -> Flow:
        return Flow(child_id, _repo=self._repo)


class Flow(MetaflowObject):
    """Every run with one flow name."""

    _depth = 1
    _kind = "flow"

    def _load(self) -> Any:
        # The first run by number: one step down the (flow, run_number) index.
        stmt = (
            select(_runs_t.c.created_at)
            .where(_runs_t.c.flow == self._components[0])
            .order_by(_runs_t.c.run_number)
            .limit(1)
        )
        with self._connect() as conn:
            first = conn.execute(stmt).first()
        if first is None:
            raise self._not_found()
        return decode_datetime(first[0])

    def is_in_namespace(self) -> bool:
        ns = get_namespace()
        if ns is None:
            return True
        stmt = select(_runs_t.c.id).where(
            _runs_t.c.flow == self._components[0], _in_ns(_runs_t.c.id, ns)
        )
        with self._connect() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    @property
    def created_at(self) -> datetime | None:
        """When the first run of the flow started."""
        return self._row

    def runs(self, *tags: str) -> Iterator[Run]:
        """The runs of this flow carrying every one of ``tags``, newest first."""
        _runs.validate_tags(tags)
        return self._children(tags)

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[Run]:
        ns = get_namespace()
        wanted = list(tags) + ([ns] if ns is not None else [])
        conditions = [_runs_t.c.flow == self._components[0], *_has_tags(_runs_t.c.id, wanted)]
        last: int | None = None
        page = 4
        while True:
            # Keyset pagination over the (flow, run_number) index, in pages
            # that grow: the latest run costs one small query whatever the
            # flow's size, and a full listing few queries.
            stmt = select(*_RUN_COLUMNS).where(*conditions)
            if last is not None:
                stmt = stmt.where(_runs_t.c.run_number < last)
            stmt = stmt.order_by(_runs_t.c.run_number.desc()).limit(page)
            with self._connect() as conn:
                rows = conn.execute(stmt).all()
            for row in rows:
                yield self._related(Run, f"{row[1]}/{row[2]}", _row=row)
            if len(rows) < page:
                return
            last = rows[-1][2]
            page = min(page * 4, _PAGE)

    def _child_by_id(self, child_id: str) -> Run:
        return Run(f"{self._components[0]}/{child_id}", _repo=self._repo)

    @property
    def latest_run(self) -> Run | None:
        """The newest run in the namespace (running, finished or failed), or ``None``."""
        return next(self._children(), None)

    @property
    def latest_successful_run(self) -> Run | None:
        """The newest run that finished successfully, from the stored status."""
        ns = get_namespace()
        stmt = select(*_RUN_COLUMNS).where(
            _runs_t.c.flow == self._components[0],
            _runs_t.c.status == "successful",
            *_has_tags(_runs_t.c.id, [ns] if ns is not None else []),
        )
        stmt = stmt.order_by(_runs_t.c.run_number.desc()).limit(1)
        with self._connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        return self._related(Run, f"{row[1]}/{row[2]}", _row=row)


class _InRun(MetaflowObject):
    """An object that belongs to a run: it shares the run's tags."""

    @property
    def _run(self) -> Run:
        if self._run_obj is None:
            self._run_obj = self._related(Run, "/".join(self._components[:2]))
        return self._run_obj

    @property
    def user_tags(self) -> frozenset[str]:
        return self._run.user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._run.system_tags


class Run(_InRun):
    """One execution: the decorated calls made in ``provenance.run(...)`` or in a process."""

    _depth = 2
    _kind = "run"

    def _load(self) -> Any:
        # The pathspec's numbers were validated and normalised in __init__.
        flow, number = self._components[0], int(self._components[1])
        stmt = select(*_RUN_COLUMNS).where(_runs_t.c.flow == flow, _runs_t.c.run_number == number)
        with self._connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise self._not_found()
        return row

    @property
    def _run(self) -> Run:
        return self

    _tag_sets: tuple[frozenset[str], frozenset[str]] | None = None

    def _load_tags(self) -> tuple[frozenset[str], frozenset[str]]:
        cached = self._tag_sets
        if cached is None:
            stmt = select(_tags_t.c.tag, _tags_t.c.system).where(_tags_t.c.run_id == self._row[0])
            with self._connect() as conn:
                rows = conn.execute(stmt).all()
            cached = (
                frozenset(t for t, system in rows if not system),
                frozenset(t for t, system in rows if system),
            )
            self._tag_sets = cached
        return cached

    @property
    def user_tags(self) -> frozenset[str]:
        return self._load_tags()[0]

    @property
    def system_tags(self) -> frozenset[str]:
        return self._load_tags()[1]

    @property
    def parent(self) -> Flow:
        return self._related(Flow, self._components[0])

    @property
    def created_at(self) -> datetime | None:
        """When the run started."""
        return decode_datetime(self._row[6])

    @property
    def finished_at(self) -> datetime | None:
        """When the run ended (``None`` while it runs)."""
        return decode_datetime(self._row[7])

    @property
    def finished(self) -> bool:
        """Whether the run ended (an implicit run ends when its process exits)."""
        return bool(self._row[4] != "running")

    @property
    def successful(self) -> bool:
        """Whether the run ended without an uncaught exception."""
        return bool(self._row[4] == "successful")

    @property
    def user(self) -> str | None:
        """Who started the run."""
        return self._row[3]

    @property
    def implicit(self) -> bool:
        """True for the run a process opened for calls made outside ``provenance.run``."""
        return bool(self._row[5])

    @property
    def code(self) -> None:
        """Code packages are not stored; always ``None`` (kept for Metaflow compatibility)."""
        return None

    def steps(self, *tags: str) -> Iterator[Step]:
        """The steps of the run (newest first) if the run carries every one of ``tags``."""
        _runs.validate_tags(tags)
        if not set(tags) <= self.tags:
            return iter(())
        return self._children()

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[Step]:
        stmt = (
            select(_tasks_t.c.step)
            .where(_tasks_t.c.run_id == self._row[0])
            .group_by(_tasks_t.c.step)
            .order_by(func.max(_tasks_t.c.id).desc())
        )
        with self._connect() as conn:
            names = [r[0] for r in conn.execute(stmt)]
        for name in names:
            yield self._related(Step, f"{self.pathspec}/{name}", _run=self)

    def _child_by_id(self, child_id: str) -> Step:
        return self._related(Step, f"{self.pathspec}/{child_id}", _run=self)

    @property
    def end_task(self) -> Task | None:
        """The run's last task, or ``None`` if it has none yet."""
        stmt = (
            select(*_TASK_COLUMNS)
            .where(_tasks_t.c.run_id == self._row[0])
            .order_by(_tasks_t.c.id.desc())
            .limit(1)
        )
        with self._connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else self._task(row)

    def _task(self, row: Any) -> Task:
        return self._related(Task, f"{self.pathspec}/{row[1]}/{row[2]}", _row=row, _run=self)

    @property
    def data(self) -> MetaflowData:
        """Everything the run produced, by name; the latest task of a step wins."""
        return MetaflowData(self._outputs())

    def _outputs(self) -> dict[str, DataArtifact]:
        latest = (
            select(func.max(_tasks_t.c.id))
            .where(_tasks_t.c.run_id == self._row[0], _tasks_t.c.successful.is_(True))
            .group_by(_tasks_t.c.step)
        )
        stmt = select(*_TASK_COLUMNS).where(_tasks_t.c.id.in_(latest)).order_by(_tasks_t.c.id)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        tasks = [self._task(row) for row in rows]
        _prefetch_artifacts(self._repo, tasks)
        outputs: dict[str, DataArtifact] = {}
        for task in tasks:
            try:
                outputs.update(task._outputs())
            except MetaflowNotFound:
                # Its artifact was deleted: the other steps' data stays readable.
                continue
        return outputs

    # -- tags -----------------------------------------------------------------

    def add_tag(self, tag: str) -> None:
        """Add a user tag (adding a system tag is a no-op)."""
        self.replace_tags([], [tag])

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add user tags (system tags among them are skipped)."""
        self.replace_tags([], tags)

    def remove_tag(self, tag: str) -> None:
        """Remove a user tag; removing a system tag is an error, a missing tag a no-op."""
        self.replace_tags([tag], [])

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove user tags (all or nothing: a system tag among them is an error)."""
        self.replace_tags(tags, [])

    def replace_tag(self, tag_to_remove: str, tag_to_add: str) -> None:
        """Remove one tag and add another in one step; the removal comes first."""
        self.replace_tags([tag_to_remove], [tag_to_add])

    def replace_tags(self, tags_to_remove: Iterable[str], tags_to_add: Iterable[str]) -> None:
        """Remove and add tags in one transaction; removals first.

        Raises
        ------
        MetaflowTaggingError
            A tag is not a non-empty string of at most 500 characters, or a
            system tag is to be removed; nothing changes then.
        """
        remove = _runs.validate_tags(tags_to_remove, "tags to remove")
        add = _runs.validate_tags(tags_to_add, "tags to add")
        # Two users adding the same tag at once: the loser tries again.
        _runs._retrying(f"changing the tags of {self.pathspec}", lambda: self._replace(remove, add))
        self._tag_sets = None

    def _replace(self, remove: list[str], add: list[str]) -> None:
        run_id = self._row[0]
        with self._index._begin() as conn:
            system = {
                r[0]
                for r in conn.execute(
                    select(_tags_t.c.tag).where(
                        _tags_t.c.run_id == run_id, _tags_t.c.system.is_(True)
                    )
                )
            }
            refused = sorted(t for t in remove if t in system)
            if refused:
                raise MetaflowTaggingError(
                    f"cannot remove system tag(s) {refused} of run {self.pathspec}"
                )
            if remove:
                conn.execute(
                    delete(_tags_t).where(
                        _tags_t.c.run_id == run_id,
                        _tags_t.c.system.is_(False),
                        _tags_t.c.tag.in_(remove),
                    )
                )
            current = {
                r[0] for r in conn.execute(select(_tags_t.c.tag).where(_tags_t.c.run_id == run_id))
            }
            new = [t for t in add if t not in current]
            if new:
                conn.execute(
                    insert(_tags_t), [{"run_id": run_id, "tag": t, "system": False} for t in new]
                )


class Step(_InRun):
    """A decorated function called in a run: its tasks are the calls."""

    _depth = 3
    _kind = "step"

    def _load(self) -> Any:
        run = self._run
        # The first and the latest task, each one step down the (run, step,
        # task_number) index, whatever the number of tasks.
        where = (_tasks_t.c.run_id == run._row[0], _tasks_t.c.step == self._components[2])
        times = select(_tasks_t.c.started_at, _tasks_t.c.finished_at).where(*where).limit(1)
        with self._connect() as conn:
            first = conn.execute(times.order_by(_tasks_t.c.task_number)).first()
            last = conn.execute(times.order_by(_tasks_t.c.task_number.desc())).first()
        if first is None or last is None:
            raise self._not_found()
        return (decode_datetime(first[0]), decode_datetime(last[1]))

    @property
    def parent(self) -> Run:
        return self._run

    @property
    def created_at(self) -> datetime | None:
        """When the step's first task started."""
        return self._row[0]

    @property
    def finished_at(self) -> datetime | None:
        """When the step's latest task finished."""
        return self._row[1]

    def tasks(self, *tags: str) -> Iterator[Task]:
        """The tasks carrying every one of ``tags`` (``'cached'``: cache hits), newest first."""
        _runs.validate_tags(tags)
        return self._children(tags)

    def _children(self, tags: tuple[str, ...] = (), limit: int | None = None) -> Iterator[Task]:
        run = self._run
        extra = set(tags) - run.tags
        if extra - {_runs.CACHED_TAG}:
            return
        stmt = select(*_TASK_COLUMNS).where(
            _tasks_t.c.run_id == run._row[0], _tasks_t.c.step == self._components[2]
        )
        if extra:
            stmt = stmt.where(_tasks_t.c.cached.is_(True))
        stmt = stmt.order_by(_tasks_t.c.task_number.desc()).limit(limit)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        for row in rows:
            yield run._task(row)

    def _child_by_id(self, child_id: str) -> Task:
        return self._related(Task, f"{self.pathspec}/{child_id}", _run=self._run)

    @property
    def task(self) -> Task | None:
        """The step's latest task (its only one, for a function called once)."""
        return next(self._children(limit=1), None)


class Task(_InRun):
    """One call of a decorated function in a run (computed, cached, or failed)."""

    _depth = 4
    _kind = "task"

    def _load(self) -> Any:
        run = self._run
        number = int(self._components[3])
        stmt = select(*_TASK_COLUMNS).where(
            _tasks_t.c.run_id == run._row[0],
            _tasks_t.c.step == self._components[2],
            _tasks_t.c.task_number == number,
        )
        with self._connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise self._not_found()
        return row

    @property
    def parent(self) -> Step:
        return self._related(Step, "/".join(self._components[:3]), _run=self._run)

    @property
    def system_tags(self) -> frozenset[str]:
        tags = self._run.system_tags
        return tags | {_runs.CACHED_TAG} if self.cached else tags

    @property
    def created_at(self) -> datetime | None:
        """When the call began."""
        return decode_datetime(self._row[8])

    @property
    def finished_at(self) -> datetime | None:
        """When the call returned or raised."""
        return decode_datetime(self._row[9])

    @property
    def finished(self) -> bool:
        """Always true: a task is recorded when its call ends."""
        return self._row[9] is not None

    @property
    def successful(self) -> bool:
        """Whether the call returned (from the cache or by running)."""
        return bool(self._row[5])

    @property
    def cached(self) -> bool:
        """Whether the value was served from the repo instead of computed."""
        return bool(self._row[4])

    @property
    def exception(self) -> TaskException | None:
        """What the call raised, or ``None``."""
        data = decode_json(self._row[6])
        return TaskException(data) if data else None

    @property
    def artifact_id(self) -> str | None:
        """The id of the artifact the call returned (``None`` if it raised)."""
        return self._row[3]

    @property
    def artifact(self) -> Any:
        """The :class:`~provenance.Artifact` the call returned, or ``None``."""
        if self.artifact_id is None:
            return None
        found = getattr(self, "_artifact", _UNSET)
        if found is _UNSET:
            found = self._repo.lookup(self.artifact_id)
            self._artifact = found
        if found is None:
            raise MetaflowNotFound(
                f"task {self.pathspec} returned artifact {self.artifact_id}, which is no longer "
                f"in {get_metadata()} (deleted by gc?)"
            )
        return found

    @property
    def input_artifact_ids(self) -> list[str]:
        """Ids of the artifacts passed in (lineage parents)."""
        return list(self.artifact.input_artifact_ids) if self.artifact_id else []

    @property
    def parameters(self) -> dict[str, Any]:
        """A JSON summary of the arguments, ``{'kargs': {...}, 'varargs': [...]}``."""
        if self.artifact_id is None:
            return decode_json(self._row[7]) or {"kargs": {}, "varargs": []}
        return self.artifact.inputs_json or {"kargs": {}, "varargs": []}

    @property
    def origin_pathspec(self) -> str | None:
        """For a cache hit, the task that first computed the artifact (when recorded)."""
        if not self.cached or self.artifact_id is None:
            return None
        stmt = (
            select(_runs_t.c.flow, _runs_t.c.run_number, _tasks_t.c.step, _tasks_t.c.task_number)
            .join(_runs_t, _runs_t.c.id == _tasks_t.c.run_id)
            .where(_tasks_t.c.artifact_id == self.artifact_id, _tasks_t.c.cached.is_(False))
            .order_by(_tasks_t.c.id)
            .limit(1)
        )
        with self._connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else "/".join(str(c) for c in row)

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """Run info, timings and cache status of the call."""
        meta: dict[str, Any] = {
            "cache": "hit" if self.cached else "miss",
            "successful": self.successful,
            "started_at": self.created_at,
            "finished_at": self.finished_at,
            "artifact_id": self.artifact_id,
        }
        if self.artifact_id is not None:
            artifact = self.artifact
            meta.update(
                value_id=artifact.value_id,
                name=artifact.name,
                version=artifact.version,
                computed_at=artifact.computed_at,
                compute_duration=artifact.compute_duration,
                hash_duration=artifact.hash_duration,
                input_id_duration=artifact.input_id_duration,
                serializer=artifact.serializer,
                size=artifact.size,
                run_info=artifact.run_info,
            )
        return meta

    def _outputs(self) -> dict[str, DataArtifact]:
        if self.artifact_id is None:
            return {}
        artifact = self.artifact
        if artifact.composite:
            members = _composite_members(artifact)
        else:
            members = {self._components[2]: self.artifact_id}
        return {
            name: self._related(
                DataArtifact, f"{self.pathspec}/{name}", _row=artifact_id, _run=self._run
            )
            for name, artifact_id in members.items()
        }

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[DataArtifact]:
        return iter(list(self._outputs().values()))

    def _child_by_id(self, child_id: str) -> DataArtifact:
        found = self._outputs().get(child_id)
        if found is None:
            raise MetaflowNotFound(f"task {self.pathspec} has no data artifact {child_id!r}")
        return found

    @property
    def data(self) -> MetaflowData:
        """The values the call produced, by name (``task.data.train``)."""
        return MetaflowData(self._outputs())

    @property
    def artifacts(self) -> MetaflowArtifacts:
        """The :class:`DataArtifact` objects the call produced, by name."""
        return MetaflowArtifacts(self._outputs())


def _composite_members(artifact: Any) -> dict[str, str]:
    # The composite's value is a CompositeDict over its members: their ids,
    # not their values, are wanted here.
    return {str(k): str(v) for k, v in artifact.value.member_ids.items()}


def _prefetch_artifacts(repo: Any, tasks: list[Task]) -> None:
    # One query for the artifacts of many tasks instead of one per task.
    ids = [t.artifact_id for t in tasks if t.artifact_id is not None]
    found = repo.get_artifacts(ids) if hasattr(repo, "get_artifacts") else {}
    for task in tasks:
        if task.artifact_id in found:
            task._artifact = found[task.artifact_id]


class DataArtifact(_InRun):
    """One output of a task: its value (loaded on demand) and its identity."""

    _depth = 5
    _kind = "data artifact"

    def _load(self) -> Any:
        found = self.parent._outputs().get(self._components[4])
        if found is None:
            raise self._not_found()
        return found._row

    @property
    def artifact_id(self) -> str:
        """The id of the provenance artifact holding the value."""
        return str(self._row)

    @property
    def artifact(self) -> Any:
        """The :class:`~provenance.Artifact` holding the value."""
        found = getattr(self, "_artifact", None)
        if found is None:
            found = self._repo.lookup(self.artifact_id)
            if found is None:
                raise MetaflowNotFound(
                    f"data artifact {self.pathspec} refers to artifact {self.artifact_id}, "
                    f"which is no longer in {get_metadata()} (deleted by gc?)"
                )
            self._artifact = found
        return found

    @property
    def parent(self) -> Task:
        return self._related(Task, "/".join(self._components[:4]), _run=self._run)

    @property
    def data(self) -> Any:
        """The value, as an :class:`~provenance.ArtifactProxy` (it carries lineage)."""
        try:
            return self.artifact.proxy()
        except BlobNotFound as exc:
            if not self._repo.write and type(self._repo.blobstore).__name__ == "MemoryStore":
                raise BlobNotFound(
                    f"{self.pathspec}: the value is in a blobstore, and the metadata provider "
                    f"{get_metadata()} is a bare database URL; select a configured repo with "
                    "provenance.client.metadata('<repo name>') to read values"
                ) from exc
            raise

    @property
    def origin_pathspec(self) -> str | None:
        """For an output of a cache hit, the same output of the task that computed it."""
        origin = self.parent.origin_pathspec
        return f"{origin}/{self._components[4]}" if origin else None

    @property
    def sha(self) -> str:
        """The content hash of the value (the artifact's value id)."""
        return str(self.artifact.value_id)

    @property
    def size(self) -> int:
        """The stored (serialized) size of the value in bytes."""
        return int(self.artifact.size or 0)

    @property
    def created_at(self) -> datetime | None:
        """When the value was computed."""
        return self.artifact.computed_at

    @property
    def finished_at(self) -> datetime | None:
        """Alias of :attr:`created_at`."""
        return self.created_at


class MetaflowData:
    """The values of data artifacts by name: ``run.data.model``, ``'model' in run.data``.

    Values are loaded when an attribute is read, one at a time.
    """

    def __init__(self, artifacts: dict[str, DataArtifact]) -> None:
        self._artifacts = artifacts

    def _get(self, name: str) -> Any:
        return self._artifacts[name].data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._artifacts:
            raise AttributeError(f"no data artifact {name!r}; available: {sorted(self._artifacts)}")
        return self._get(name)

    def __getitem__(self, name: str) -> Any:
        if name not in self._artifacts:
            raise MetaflowNotFound(
                f"no data artifact {name!r}; available: {sorted(self._artifacts)}"
            )
        return self._get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._artifacts

    def __iter__(self) -> Iterator[str]:
        return iter(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)

    def keys(self) -> list[str]:
        """The names of the data artifacts."""
        return list(self._artifacts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {', '.join(self._artifacts)}>"


class MetaflowArtifacts(MetaflowData):
    """Like :class:`MetaflowData`, but gives :class:`DataArtifact` objects, not values."""

    def _get(self, name: str) -> Any:
        return self._artifacts[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._artifacts.values())
