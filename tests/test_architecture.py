"""The architecture, held by tools: import contracts, no cycles, short modules.

``docs/architecture.rst`` describes the wings; the contracts that enforce
them are in ``pyproject.toml`` (``[tool.importlinter]``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "provenance"
#: "No module over about 600 lines": the bound, with the slack "about" gives.
MAX_LINES = 650


#: import-linter's own command, run by the interpreter that runs the tests
#: (its console script may not be on PATH).
LINT = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package found first on the path from ``cwd``."""
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(cwd)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("storage/ids.py", "from ..config import settings", "Storage imports nothing above it"),
        ("hashing/core.py", "from ..storage import ids", "Hashing and serializers import only"),
        ("verbs/gc.py", "from ..cli import main", "Nothing imports the command line"),
        ("decorator.py", "from .verbs import sets", "each imports only the ones below it"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: pathlib.Path, module: str, forbidden: str, contract: str
) -> None:
    # A copy of the package with one forbidden import added: the same
    # command that CI runs must refuse it, naming the contract and the line.
    shutil.copytree(PACKAGE, tmp_path / "provenance")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "provenance" / module
    target.write_text(target.read_text() + f"\n{forbidden}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout
    dotted = "provenance." + module[: -len(".py")].replace("/", ".")
    assert dotted in result.stdout


#: Run in a fresh interpreter, so that grimp finds the package first on the
#: path (in this process ``provenance`` is already imported from the tree).
CYCLES_SCRIPT = """
import json, sys
import grimp

# Every import statement counts, those inside functions included; only
# imports under TYPE_CHECKING (which never run) are left out.
graph = grimp.build_graph("provenance", exclude_type_checking_imports=True, cache_dir=None)
# The package root re-exports the public API; a module that reads a
# submodule through it (``from . import config``) imports the submodule.
ROOT = "provenance"
order, low, stack, on_stack, found = {}, {}, [], set(), []
sys.setrecursionlimit(10000)

def visit(v):  # Tarjan's strongly connected components
    order[v] = low[v] = len(order)
    stack.append(v)
    on_stack.add(v)
    for w in graph.find_modules_directly_imported_by(v) - {ROOT}:
        if w not in order:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], order[w])
    if low[v] == order[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            found.append(sorted(component))

for v in sorted(graph.modules - {ROOT}):
    if v not in order:
        visit(v)
print(json.dumps({"modules": len(graph.modules), "cycles": found}))
"""


def module_cycles(cwd: pathlib.Path) -> dict[str, Any]:
    """The import cycles between modules of the package found first on the path from ``cwd``."""
    result = subprocess.run(
        [sys.executable, "-c", CYCLES_SCRIPT],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(cwd)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_no_module_import_cycle_even_inside_functions() -> None:
    found = module_cycles(ROOT)
    assert found["modules"] > 50  # the whole package was read
    assert found["cycles"] == []


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: pathlib.Path) -> None:
    # decorator imports signature; an import of the decorator hidden in a
    # function of signature closes a loop that no layer contract sees (both
    # are in the call path).
    shutil.copytree(PACKAGE, tmp_path / "provenance")
    target = tmp_path / "provenance" / "signature.py"
    target.write_text(
        target.read_text() + "\n\ndef _later():\n    from .decorator import provenance  # noqa\n"
    )
    cycles = module_cycles(tmp_path)["cycles"]
    assert any({"provenance.decorator", "provenance.signature"} <= set(c) for c in cycles)


def test_no_module_is_long() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
