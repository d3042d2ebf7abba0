"""The base of every client object: a pathspec, its parent, children and tags.

:class:`MetaflowObject` parses and normalises the pathspec, finds the repo it
reads (:func:`~provenance.flows.client.namespaces._current_repo`), loads its
row and checks the namespace; each level (:mod:`.objects`) says how it loads
itself and finds its children.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ... import recording as _runs
from ...display import client_html
from ...errors import MetaflowInvalidPathspec, MetaflowNamespaceMismatch, MetaflowNotFound
from ...storage.validate import MAX_NAME, check_text, quote
from .names import quote_name, unquote_name
from .namespaces import _current_repo, get_metadata, get_namespace


def _number(component: str, what: str, pathspec: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", component):
        raise MetaflowInvalidPathspec(
            f"{what} id {quote(component)} in pathspec {quote(pathspec)} is not a positive integer"
        )
    return int(component)


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
        _run: MetaflowObject | None = None,
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
                    f"{type(self).__name__} pathspec must look like '{shape}', "
                    f"got {quote(pathspec)}"
                )
            for i, part in enumerate(parts):
                what = ["flow name", "run id", "step name", "task id", "artifact name"][i]
                where = f"the {what} in {type(self).__name__}({quote(pathspec)})"
                if part in (".", ".."):
                    named = f"; one named {part!r} is {quote_name(part)!r}" if i in (2, 4) else ""
                    raise MetaflowInvalidPathspec(
                        f"{part!r} is not a {what} (in pathspec {quote(pathspec)}){named}",
                        field=what,
                    )
                # A quoted name is up to three times its name's length.
                check_text(part, where, 3 * MAX_NAME if i in (2, 4) else MAX_NAME,
                           error=MetaflowInvalidPathspec)  # fmt: skip
                if i in (2, 4):
                    # Looked up by its name, refused as every backend would refuse
                    # it; kept quoted the one way (names.py), so that equal
                    # objects have one pathspec.
                    name = check_text(unquote_name(part), where, error=MetaflowInvalidPathspec)
                    parts[i] = quote_name(name)
            for i in (1, 3):
                # 'F/03' is run 3: the pathspec says so, so objects compare equal.
                if i < len(parts):
                    parts[i] = str(_number(parts[i], "run" if i == 1 else "task", pathspec))
            self._components = parts
        _runs.flush()
        self._repo = _repo if _repo is not None else _current_repo()
        self._index = self._repo.index
        # The run of an object in a run, when the caller has it at hand: _load
        # reads it.  Typed MetaflowObject here, as Run is defined above this
        # module; objects._InRun narrows it to Run.
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

    def _read(self, query: tuple[str, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        # The client's queries are plain SQL (storage/run_queries.py): on the
        # light SQLite index they run without SQLAlchemy.
        sql, params = query
        return self._index.read_rows(sql, params)

    def _first(self, query: tuple[str, tuple[Any, ...]]) -> tuple[Any, ...] | None:
        rows = self._read(query)
        return rows[0] if rows else None

    def _related(self, cls: type[Any], pathspec: str, **known: Any) -> Any:
        # A parent or child: same repo, and in the namespace when this is.
        return cls(pathspec, _namespace_check=False, _repo=self._repo, **known)

    @property
    def pathspec(self) -> str | None:
        """The path addressing this object, e.g. ``'TrainFlow/3'`` for a run."""
        return "/".join(self._components) or None

    @property
    def _step_name(self) -> str:
        # The name the step's id (the third component) stands for: its
        # tasks' step in the index.
        return unquote_name(self._components[2])

    @property
    def _data_name(self) -> str:
        # The name of a data artifact, which its id (the fifth component) quotes.
        return unquote_name(self._components[4])

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
        # Of an object whose pathspec was refused, while its error is shown.
        if "_components" not in self.__dict__:
            return f"{type(self).__name__}(<invalid pathspec>)"
        inside = f"'{self.pathspec}'" if self.pathspec else ""
        return f"{type(self).__name__}({inside})"

    def _repr_html_(self) -> str:
        """A card for notebooks: this object's state and its first children."""
        return client_html(self)
