"""Explicit runs: ``with provenance.run("Flow"):`` groups a block's calls into one run.

The calls themselves are recorded by :mod:`provenance.recording`; this module
names and brackets a run of them, and hands it to the client view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from ..config import resolve_repo, using_repo
from ..errors import MetaflowTaggingError
from ..recording import (
    flush,
    pop_run,
    push_run,
    start_run,
    validate_tags,
    writer_of,
)
from ..storage.runs import RunRef, finish_run
from ..storage.validate import check_name, check_tags
from .client import Run

__all__ = ["ActiveRun", "run"]


class ActiveRun:
    """A run started by :func:`run`; the calls made while it is active are its tasks.

    Attributes
    ----------
    flow : str
        The flow name.
    id : str
        The run id (an increasing integer per flow, as a string).
    pathspec : str
        ``"<flow>/<id>"``, as the client view addresses the run.
    """

    def __init__(self, flow: str, tags: list[str], repo: Any) -> None:
        self.flow = flow
        self._tags = tags
        self._repo = repo
        self._ref: RunRef | None = None
        self._using: Any = None
        self._token: Any = None

    @property
    def id(self) -> str:
        return str(self._started().number)

    @property
    def pathspec(self) -> str:
        return self._started().pathspec

    def _started(self) -> RunRef:
        if self._ref is None:
            raise RuntimeError("the run has not started: use it as `with provenance.run(...):`")
        return self._ref

    @property
    def client(self) -> Any:
        """The :class:`provenance.client.Run` of this run (whatever the namespace)."""
        return Run(self.pathspec, _namespace_check=False, _repo=self._writer)

    def __enter__(self) -> ActiveRun:
        if self._ref is not None:
            raise RuntimeError(f"run {self.pathspec} was already started")
        writer = writer_of(resolve_repo(self._repo))
        if writer is None:
            raise PermissionError(f"cannot start a run of {self.flow}: the repo cannot write")
        self._writer = writer
        self._ref = start_run(
            writer.index,
            self.flow,
            self._tags,
            implicit=False,
            created_at=datetime.now(timezone.utc),
        )
        self._token = push_run(self._ref)
        # The calls of the block use the run's repo, so the run can load
        # what they stored.
        self._using = using_repo(self._repo) if self._repo is not None else None
        if self._using is not None:
            self._using.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ref = self._started()
        if self._using is not None:
            self._using.__exit__(None, None, None)
        pop_run(ref, self._token)
        flush()
        ok = exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None))
        finish_run(ref, "successful" if ok else "failed")

    def __repr__(self) -> str:
        where = self._ref.pathspec if self._ref else f"{self.flow} (not started)"
        return f"<provenance.ActiveRun {where}>"


def run(flow: str, tags: Iterable[str] | None = None, *, repo: Any = None) -> ActiveRun:
    """Group the decorated calls of a block into a run of ``flow``.

    Parameters
    ----------
    flow : str
        The flow name: 1-255 letters, digits, ``_``, ``-`` and ``.``, not
        ``.`` or ``..``.
    tags : collection of str, optional
        User tags of the run (each non-empty and at most 500 characters).
    repo : Repository or str, optional
        Where the run is recorded, and the repo the block's calls use (as
        with :func:`~provenance.using_repo`); the default repo when omitted.

    Returns
    -------
    ActiveRun
        A context manager; ``run.pathspec`` is ``"<flow>/<id>"`` once entered.

    Examples
    --------
    >>> with provenance.run("TrainFlow", tags=["exp-3"]) as r:   # doctest: +SKIP
    ...     model = train(load_data("iris.csv"))
    >>> provenance.client.Run(r.pathspec).data.train              # doctest: +SKIP
    """
    # Before the block runs: a run that cannot be recorded never starts.
    check_name(flow, "the flow name")
    check_tags(tags, "the run's tags", error=MetaflowTaggingError)
    return ActiveRun(flow, validate_tags(tags), repo)
