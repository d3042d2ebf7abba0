"""The implicit run's flow name in notebooks: the notebook's file when it can be known.

Each case runs in a fresh interpreter, since what is imported (ipykernel,
IPython) is part of what decides the name.  The notebook test
(``tests/test_notebook.py``) checks the same through a real Jupyter kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _flow_name(tmp_path: Path, code: str, **env: str) -> str:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(code) + "\nfrom provenance.runnames import default_flow_name\n"
        "print(default_flow_name())\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    environ.update(PYTHONPATH=str(ROOT), PROVENANCE_HOME=str(tmp_path / "home"), **env)
    done = subprocess.run(
        [sys.executable, str(script)], env=environ, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_jupyter_kernel_names_the_flow_after_its_notebook(tmp_path: Path) -> None:
    pytest.importorskip("ipykernel")
    name = _flow_name(tmp_path, "import ipykernel", JPY_SESSION_NAME="/home/u/My analysis.ipynb")
    assert name == "My_analysis"


def test_a_session_name_that_is_no_file_leaves_the_flow_interactive(tmp_path: Path) -> None:
    pytest.importorskip("ipykernel")
    name = _flow_name(tmp_path, "import ipykernel", JPY_SESSION_NAME="console-1-5d2c")
    assert name == "interactive"


def test_outside_a_kernel_the_session_variable_is_not_read(tmp_path: Path) -> None:
    # A terminal opened by Jupyter inherits the variable: the script names the flow.
    assert _flow_name(tmp_path, "", JPY_SESSION_NAME="/home/u/nb.ipynb") == "script"


def test_vs_code_names_the_flow_after_its_notebook(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    code = """
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns["__vsc_ipynb_file__"] = "/work/notebooks/train.v2.ipynb"
    """
    assert _flow_name(tmp_path, code) == "train.v2"


def test_ipython_without_a_notebook_file_stays_interactive(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    code = """
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    """
    assert _flow_name(tmp_path, code) == "interactive"
