"""The graph of a :class:`~provenance.flow.FlowSpec`: its steps and transitions, from the source.

As Metaflow does, the graph is read statically from each ``@step``'s last
statement (``self.next(...)``), so a flow that cannot run (no ``start``, a
transition to something that is not a step, a join with the wrong arity, a
step nothing reaches) is refused with the step's name before any step runs.

A node's ``kind`` is Metaflow's: ``linear`` (one next step), ``split`` (a
static branch, ``self.next(self.a, self.b)``), ``foreach``
(``self.next(self.f, foreach="items")``), ``join`` (a step taking
``inputs``) and ``end``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlowError

__all__ = ["FlowGraph", "StepNode", "step_functions"]


@dataclass
class StepNode:
    """One step of a flow graph."""

    name: str
    #: ``linear``, ``split``, ``foreach``, ``join`` or ``end``.
    kind: str
    #: The steps ``self.next`` names, in order.
    out: list[str]
    #: The attribute a foreach iterates over.
    foreach: str | None
    #: Whether the step takes ``inputs`` (a join).
    joins: bool
    doc: str
    lineno: int
    #: The steps that lead here.
    into: list[str] = field(default_factory=list)

    @property
    def opens(self) -> bool:
        """Whether the step opens branches (a split or a foreach) that a join closes."""
        return self.foreach is not None or len(self.out) > 1


def step_functions(cls: type) -> dict[str, Callable[..., Any]]:
    """The ``@step`` functions of a flow class (its bases' included), by name."""
    found: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if getattr(value, "is_step", False) and callable(value):
                found[name] = value
            elif name in found:  # overridden by something that is not a step
                del found[name]
    return found


class FlowGraph:
    """The validated graph of a flow class.

    Raises
    ------
    FlowError
        When the flow cannot run; the message names the step.
    """

    def __init__(self, cls: type) -> None:
        self.name = cls.__name__
        self.doc = inspect.getdoc(cls) or ""
        functions = step_functions(cls)
        self.nodes: dict[str, StepNode] = {
            name: _node(self.name, name, fn) for name, fn in functions.items()
        }
        self._validate()

    def __getitem__(self, name: str) -> StepNode:
        return self.nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[StepNode]:
        """The steps in the order a run reaches them (breadth first from ``start``)."""
        seen: list[str] = []
        queue = ["start"]
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.append(name)
            queue.extend(self.nodes[name].out)
        return iter([self.nodes[n] for n in seen])

    def _validate(self) -> None:
        flow = self.name
        for required in ("start", "end"):
            if required not in self.nodes:
                raise FlowError(
                    f"flow {flow} has no {required!r} step: every flow begins with a "
                    "@step named 'start' and ends with one named 'end'"
                )
        for node in self.nodes.values():
            if node.name == "end":
                continue
            for target in node.out:
                if target not in self.nodes:
                    raise FlowError(
                        f"step {node.name!r} of {flow} calls self.next(self.{target}), but "
                        f"{target!r} is not a @step of the flow"
                    )
                self.nodes[target].into.append(node.name)
        if self.nodes["start"].joins:
            raise FlowError(f"step 'start' of {flow} cannot take inputs: it is not a join")
        reached = {n.name for n in self}
        for name in self.nodes:
            if name not in reached:
                raise FlowError(f"step {name!r} of {flow} is not reachable from 'start'")
        self._check_joins()

    def _check_joins(self) -> None:
        # Walk from start with the stack of splits not yet joined, as each
        # branch would run: a join must close the innermost open split, and
        # a step reached from several steps must be a join.
        flow = self.name
        for node in self.nodes.values():
            if len(node.into) > 1 and not node.joins:
                came = ", ".join(repr(n) for n in node.into)
                raise FlowError(
                    f"step {node.name!r} of {flow} is reached from {came}: it must be a join, "
                    f"def {node.name}(self, inputs)"
                )
        opened: dict[str, tuple[str, ...]] = {}
        pending: list[tuple[str, tuple[str, ...]]] = [("start", ())]
        while pending:
            name, stack = pending.pop()
            if name in opened:
                if opened[name] != stack:
                    raise FlowError(
                        f"step {name!r} of {flow} is reached inside different splits "
                        f"({_splits(opened[name])} and {_splits(stack)})"
                    )
                continue
            opened[name] = stack
            node = self.nodes[name]
            if node.joins:
                if not stack:
                    raise FlowError(
                        f"step {name!r} of {flow} takes inputs (a join), but no split or "
                        "foreach comes before it: def "
                        f"{name}(self) is what a step after a linear one takes"
                    )
                split = self.nodes[stack[-1]]
                if split.foreach is None and len(node.into) != len(split.out):
                    raise FlowError(
                        f"join {name!r} of {flow} is reached from {len(node.into)} step(s) but "
                        f"the split at {split.name!r} opens {len(split.out)} branches"
                    )
                stack = stack[:-1]
            if name == "end" and stack:
                raise FlowError(
                    f"the branches opened at step {stack[-1]!r} of {flow} are never "
                    "joined before 'end'"
                )
            inner = (*stack, name) if node.opens else stack
            if node.opens:
                for target in node.out:
                    if self.nodes[target].joins:
                        raise FlowError(
                            f"step {name!r} of {flow} opens branches that go straight to the "
                            f"join {target!r}: each branch needs a step of its own before it"
                        )
            for target in node.out:
                pending.append((target, inner))


def _splits(stack: tuple[str, ...]) -> str:
    return "no split" if not stack else "the split at " + " > ".join(repr(s) for s in stack)


def _node(flow: str, name: str, fn: Callable[..., Any]) -> StepNode:
    target = inspect.unwrap(fn)
    params = list(inspect.signature(target).parameters)
    if len(params) not in (1, 2):
        raise FlowError(
            f"step {name!r} of {flow} must take (self) or, for a join, (self, inputs); it "
            f"takes ({', '.join(params)})"
        )
    try:
        source = textwrap.dedent(inspect.getsource(target))
        lines, lineno = inspect.getsourcelines(target)
    except (OSError, TypeError) as exc:
        raise FlowError(f"the source of step {name!r} of {flow} cannot be read: {exc}") from None
    tree = ast.parse(source)
    func = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    calls = [
        c
        for c in ast.walk(func)
        if isinstance(c, ast.Call)
        and isinstance(c.func, ast.Attribute)
        and c.func.attr == "next"
        and isinstance(c.func.value, ast.Name)
        and c.func.value.id == params[0]
    ]
    doc = inspect.getdoc(target) or ""
    joins = len(params) == 2
    if name == "end":
        if calls:
            raise FlowError(f"step 'end' of {flow} must not call self.next(): the run ends there")
        return StepNode(name, "end", [], None, joins, doc, lineno)
    last = func.body[-1] if func.body else None
    if not calls:
        raise FlowError(
            f"step {name!r} of {flow} does not call self.next(): every step but 'end' must"
        )
    if len(calls) > 1 or not (
        isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and last.value is calls[0]
    ):
        raise FlowError(
            f"step {name!r} of {flow}: self.next(...) must be its last statement, and only one"
        )
    call = calls[0]
    out: list[str] = []
    for arg in call.args:
        if not (
            isinstance(arg, ast.Attribute)
            and isinstance(arg.value, ast.Name)
            and arg.value.id == params[0]
        ):
            raise FlowError(
                f"step {name!r} of {flow}: self.next() takes steps as self.<step>, got "
                f"{ast.unparse(arg)}"
            )
        out.append(arg.attr)
    foreach = None
    for keyword in call.keywords:
        if keyword.arg == "foreach":
            if not (
                isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str)
            ):
                raise FlowError(
                    f"step {name!r} of {flow}: foreach= takes the name of an attribute, as a "
                    "string literal"
                )
            foreach = keyword.value.value
        else:
            raise FlowError(
                f"step {name!r} of {flow}: self.next() does not take {keyword.arg}= here "
                "(only foreach=)"
            )
    if not out:
        raise FlowError(f"step {name!r} of {flow}: self.next() needs at least one step")
    if foreach is not None and len(out) != 1:
        raise FlowError(f"step {name!r} of {flow}: a foreach goes to exactly one step")
    kind = "join" if joins else "foreach" if foreach else "split" if len(out) > 1 else "linear"
    return StepNode(name, kind, out, foreach, joins, doc, lineno)
