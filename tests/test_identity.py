"""What identifies a call: the five ways the cache used to return a wrong value, and the modes.

1. same-named functions in two modules shared ids;
2. a proxy changed in place was hashed by its stale value id;
3. an edited function returned its old result (checked across real processes);
4. a path argument was identified by its text (provenance.File);
5. a function changing its argument in place was not caught by default.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import provenance as p


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def run_script(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a script in a fresh interpreter with its own PROVENANCE_HOME."""
    env = {**os.environ, "PROVENANCE_HOME": str(home), "PYTHONHASHSEED": "random"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=script.parent, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip


# -- 1. module-qualified names ---------------------------------------------------------


def test_same_named_functions_in_two_modules_do_not_share_ids(
    repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module, factor in (("models_rf", 1), ("models_lr", 2)):
        write(
            tmp_path / "mods" / f"{module}.py",
            f"""
            import provenance as p

            @p.provenance(version=1)
            def train(n):
                return n * {factor}
            """,
        )
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    import models_lr
    import models_rf

    assert models_rf.train(100) == 100
    assert models_lr.train(100) == 200
    assert models_rf.train.name == "models_rf.train"
    assert models_rf.train(100).artifact.name == "models_rf.train"
    assert models_rf.train.artifact_id(100) != models_lr.train.artifact_id(100)


def test_an_explicit_name_wins_and_composite_members_append_their_key(repo: Any) -> None:
    @p.provenance(name="shared", version=1)
    def a(n: int) -> int:
        return n

    @p.provenance(returns_composite=True)
    def split(n: int) -> dict[str, int]:
        return {"a": n, "b": -n}

    assert a(1).artifact.name == "shared"
    parts = split(1)
    assert parts["a"].artifact.name == f"{__name__}.split_a"
    assert split.name == f"{__name__}.split"


def test_names_use_dunder_name_not_qualname(repo: Any) -> None:
    class Holder:
        @p.provenance(version=1)
        def method(self, x: int) -> int:
            return x

    assert Holder.method.name == f"{__name__}.method"


def test_a_script_and_its_import_give_the_same_ids(tmp_path: Path) -> None:
    script = write(
        tmp_path / "proj" / "pipeline.py",
        """
        import provenance as p

        @p.provenance()
        def load(n):
            return list(range(n))

        if __name__ == "__main__":
            print(load.name, load.artifact_id(3))
        """,
    )
    home = tmp_path / "home"
    as_script = run_script(script, home).stdout.split()
    importer = write(
        tmp_path / "proj" / "use.py",
        "import pipeline\nprint(pipeline.load.name, pipeline.load.artifact_id(3))\n",
    )
    as_module = run_script(importer, home).stdout.split()
    assert as_script == as_module
    assert as_script[0] == "pipeline.load"


# -- 2. proxies changed in place -------------------------------------------------------


def test_a_proxy_changed_in_place_does_not_poison_the_cache(repo: Any) -> None:
    @p.provenance()
    def ones(n: int) -> list[int]:
        return [1] * n

    @p.provenance()
    def total(xs: list[int]) -> int:
        return sum(xs)

    xs = ones(3)
    xs[0] += 10
    with pytest.warns(p.MutatedArtifactValueWarning, match=r"argument 'xs'.*" + xs.artifact.id):
        changed = total(xs)
    assert changed == 13
    assert total([1, 1, 1]) == 3  # not 13: the changed value got its own id
    assert total([11, 1, 1]).artifact.id == changed.artifact.id
    # Recorded as a plain value, without lineage to the artifact it no longer is.
    assert changed.artifact.input_artifact_ids == []
    assert p.load_artifact(changed.artifact.id).inputs["kargs"]["xs"] == [11, 1, 1]
    # Another process asking for total([1, 1, 1]) gets 3 too.
    assert total.artifact_id([1, 1, 1]) != changed.artifact.id


def test_a_changed_proxy_raises_under_check_mutations(repo: Any) -> None:
    @p.provenance()
    def ones(n: int) -> list[int]:
        return [1] * n

    ran = []

    @p.provenance()
    def total(xs: Any) -> int:
        ran.append(1)
        return sum(xs)

    xs = ones(3)
    xs.append(5)
    p.set_check_mutations(True)
    with pytest.raises(p.MutatedArtifactValueError, match=rf"argument 'xs'.*{xs.artifact.id}"):
        total(xs)
    with pytest.raises(p.MutatedArtifactValueError, match=r"argument \*args\[0\]"):

        @p.provenance()
        def many(*items: Any) -> int:
            return len(items)

        many(xs)
    assert ran == []


def test_a_changed_proxy_inside_a_container_is_caught(repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> dict[str, int]:
        return {"n": n}

    @p.provenance()
    def combine(parts: list[Any]) -> int:
        return sum(d["n"] for d in parts)

    a, b = make(1), make(2)
    first = combine([a, b])
    b["n"] = 20
    with pytest.warns(p.MutatedArtifactValueWarning):
        second = combine([a, b])
    assert (first, second) == (3, 21)
    assert second.artifact.input_artifact_ids == [a.artifact.id]  # b is a plain value now


def test_unchanged_and_immutable_proxies_keep_their_lineage(repo: Any) -> None:
    @p.provenance()
    def make(n: int) -> Any:
        return {"list": [n], "text": "x" * n, "tuple": (n, "a")}

    @p.provenance(returns_composite=True)
    def parts(n: int) -> dict[str, Any]:
        return {"list": [n], "text": "x" * n, "tuple": (n, "a")}

    @p.provenance()
    def use(value: Any) -> int:
        return len(value)

    members = parts(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for key in ("list", "text", "tuple"):
            used = use(members[key])
            assert used.artifact.input_artifact_ids == [members[key].artifact.id]


def test_numpy_proxies_are_checked_too(repo: Any) -> None:
    np = pytest.importorskip("numpy")

    @p.provenance()
    def zeros(n: int) -> Any:
        return np.zeros(n)

    @p.provenance()
    def total(a: Any) -> float:
        return float(a.sum())

    arr = zeros(4)
    assert total(arr) == 0.0
    arr[1] = 5.0
    with pytest.warns(p.MutatedArtifactValueWarning):
        assert total(arr) == 5.0
    assert total(np.zeros(4)) == 0.0


# -- 3. edited code ----------------------------------------------------------------------

EVALUATE = """
import sys
import provenance as p

WEIGHT = 2


def helper(x):
    return x + 1


@p.provenance()
def evaluate(n):
    return helper(n) * WEIGHT


if __name__ == "__main__":
    result = evaluate(int(sys.argv[1]))
    print(result, result.artifact.id)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit, same",
    [
        (("    return helper(n) * WEIGHT", "    return helper(n) * WEIGHT + 100"), False),
        (("    return x + 1", "    return x + 10"), False),  # a helper
        (("WEIGHT = 2", "WEIGHT = 3"), False),  # a constant
        (("def helper(x):", 'def helper(x):\n    # a comment\n    """A docstring."""'), True),
        (("    return helper(n) * WEIGHT", "    return (helper(n)\n            * WEIGHT)"), True),
    ],
)
def test_an_edited_function_is_recomputed_in_a_fresh_process(
    tmp_path: Path, edit: tuple[str, str], same: bool
) -> None:
    home = tmp_path / "home"
    script = write(tmp_path / "evaluation.py", EVALUATE)
    before = run_script(script, home, "4").stdout.split()
    assert before[0] == "10"
    assert run_script(script, home, "4").stdout.split() == before  # a hit
    assert EVALUATE.count(edit[0]) == 1
    write(script, EVALUATE.replace(*edit))
    after = run_script(script, home, "4").stdout.split()
    if same:
        assert after == before
    else:
        assert after[1] != before[1]
        expected = {"+ 100": "110", "x + 10": "28", "WEIGHT = 3": "15"}
        assert after[0] == next(v for k, v in expected.items() if k in edit[1])


@pytest.mark.slow
def test_with_a_version_the_version_decides_and_a_changed_hit_warns_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    versioned = EVALUATE.replace("@p.provenance()", "@p.provenance(version=1)").replace(
        "    print(result, result.artifact.id)",
        "    print(result, result.artifact.id)\n    print(evaluate(int(sys.argv[1])))",
    )
    script = write(tmp_path / "evaluation.py", versioned)
    first = run_script(script, home, "4")
    assert first.stdout.split()[0] == "10" and "CodeChangedWarning" not in first.stderr
    write(script, versioned.replace("WEIGHT = 2", "WEIGHT = 3"))
    second = run_script(script, home, "4")
    assert second.stdout.split()[:2] == first.stdout.split()[:2]  # the version decides
    assert second.stderr.count("CodeChangedWarning") == 1  # two hits, one warning
    assert "bump version=" in second.stderr.lower() and "evaluation.evaluate" in second.stderr
    write(script, versioned.replace("WEIGHT = 2", "WEIGHT = 3").replace("version=1", "version=2"))
    assert run_script(script, home, "4").stdout.split()[0] == "15"


def test_code_identity_modes(repo: Any) -> None:
    def body(n: int) -> int:
        return n

    versioned = p.provenance(version=1, name="f")(body)
    unversioned = p.provenance(name="f")(body)
    plain_id = versioned.artifact_id(1)
    code_id = unversioned.artifact_id(1)
    assert plain_id != code_id
    p.set_code_identity("always")
    assert p.get_code_identity() == "always"
    assert versioned.artifact_id(1) not in (plain_id, code_id)  # version and code
    p.set_code_identity("never")
    assert versioned.artifact_id(1) == plain_id
    assert unversioned.artifact_id(1) not in (plain_id, code_id)  # version 0, no code
    with pytest.raises(p.ConfigError, match="'sometimes'"):
        p.set_code_identity("sometimes")
    p.set_code_identity("auto")
    assert unversioned.artifact_id(1) == code_id


def test_code_identity_config_key(tmp_path: Path) -> None:
    from conftest import sqlite_config

    p.load_config({**sqlite_config(str(tmp_path)), "code_identity": "never"})
    assert p.get_code_identity() == "never"
    with pytest.raises(p.ConfigError, match="'code_identity' must be one of"):
        p.load_config({**sqlite_config(str(tmp_path)), "code_identity": "yes"})


def test_never_warns_nothing_on_a_changed_hit(repo: Any) -> None:
    @p.provenance(version=1, name="g")
    def g(n: int) -> int:
        return n

    g(1)
    row = repo.lookup(g.artifact_id(1))
    assert row is not None and row.code_fingerprint == g.code_fingerprint().digest

    @p.provenance(version=1, name="g")
    def g2(n: int) -> int:
        return n + 1  # other code, same version: the version decides

    with pytest.warns(p.CodeChangedWarning, match=row.id):
        assert g2(1) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g2(1) == 1  # once per function per process

    @p.provenance(version=1, name="g")
    def g3(n: int) -> int:
        return n + 2

    p.set_code_identity("never")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g3(1) == 1


def test_the_source_is_stored_once_per_fingerprint(repo: Any) -> None:
    @p.provenance()
    def square(n: int) -> int:
        return n * n

    square(2), square(3)
    fingerprint = square(2).artifact.code_fingerprint
    assert fingerprint == square.code_fingerprint().digest
    stored = repo.code_source(fingerprint)
    assert stored is not None and "return n * n" in stored["source"]
    with repo.index.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from code_sources")).scalar() == 1


# -- 4. files by contents --------------------------------------------------------------


def test_a_file_argument_is_identified_by_its_contents(repo: Any, tmp_path: Path) -> None:
    data = tmp_path / "iris.csv"
    data.write_text("".join(f"{i},1.0\n" for i in range(150)))
    os.utime(data, (1_000_000_000, 1_000_000_000))

    @p.provenance()
    def load_data(path: Any) -> int:
        with open(path) as f:
            return len(f.readlines())

    first = load_data(p.File(str(data)))
    assert first == 150
    summary = first.artifact.inputs_json["path"]
    assert summary["$path"] == str(data) and summary["$type"] == "provenance.File"
    data.write_text("".join(f"{i},1.0\n" for i in range(59)))
    why = load_data.why(p.File(str(data)))
    assert not why.cached and [d.label for d in why.differences] == ["argument 'path'"]
    assert "File(" in str(why)
    assert load_data(p.File(str(data))) == 59


def test_a_str_path_argument_warns_once(repo: Any, tmp_path: Path) -> None:
    (tmp_path / "iris.csv").write_text("a\n")

    @p.provenance()
    def load_data(path: str) -> int:
        return len(path)

    with pytest.warns(p.PathArgumentWarning, match=r"provenance.File\('iris.csv'\)"):
        load_data("iris.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_data("./iris.csv")  # once per parameter
        load_data("no such file.csv")


# -- 5. functions that change their arguments ----------------------------------------------


def test_a_function_changing_its_argument_raises_by_default(repo: Any) -> None:
    @p.provenance()
    def sort_in_place(xs: list[int]) -> list[int]:
        xs.sort()
        return xs

    with pytest.raises(p.ImpureFunctionError, match=r"sort_in_place\(\) changed its argument"):
        sort_in_place([3, 1, 2])
    assert repo.lookup(sort_in_place.artifact_id([1, 2, 3])) is None
    assert repo.lookup(sort_in_place.artifact_id([3, 1, 2])) is None  # nothing stored
    # The original library's default setting, False, does not turn the check off.
    p.set_check_mutations(False)
    with pytest.raises(p.ImpureFunctionError):
        sort_in_place([3, 1, 2])


def test_a_function_changing_a_proxy_argument_raises(repo: Any) -> None:
    @p.provenance()
    def ones(n: int) -> list[int]:
        return [1] * n

    @p.provenance()
    def grow(xs: Any) -> int:
        xs.append(2)
        return len(xs)

    with pytest.raises(p.ImpureFunctionError, match="'xs'"):
        grow(ones(2))


def test_a_notebook_redefining_a_helper_gets_the_new_result(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    script = write(
        tmp_path / "notebook.py",
        """
        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        cells = [
            "import provenance as p",
            "def helper(x):\\n    return x + 1",
            "@p.provenance()\\ndef f(x):\\n    return helper(x) * 10",
            "print('first', f(1))",
            "def helper(x):\\n    return x + 2",
            "print('second', f(1))",
            "print('why', f.why(1).cached)",
        ]
        for cell in cells:
            result = shell.run_cell(cell)
            result.raise_error()
        """,
    )
    out = run_script(script, tmp_path / "home").stdout.split()
    assert out == ["first", "20", "second", "30", "why", "True"]


def test_a_composite_with_a_member_changed_in_place_gets_a_new_id(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def split(n: int) -> dict[str, list[int]]:
        return {"train": list(range(n)), "test": [n]}

    @p.provenance()
    def count(parts: Any) -> int:
        return sum(len(v) for v in parts.values())

    parts = split(3)
    first = count(parts)
    assert first == 4 and first.artifact.input_artifact_ids == [parts.artifact.id]
    parts["train"].append(1000)
    with pytest.warns(p.MutatedArtifactValueWarning):
        second = count(parts)
    assert second == 5 and second.artifact.id != first.artifact.id
    assert p.load_artifact(second.artifact.id).inputs["kargs"]["parts"]["train"][-1] == 1000
    assert count(split(3)) == 4


def test_a_changed_proxy_in_another_container_is_recorded_by_value(repo: Any) -> None:
    import dataclasses

    @dataclasses.dataclass
    class Box:
        content: Any

    @p.provenance()
    def ones(n: int) -> list[int]:
        return [1] * n

    @p.provenance()
    def total(box: Any) -> int:
        return sum(box.content)

    xs = ones(3)
    xs[0] = 100
    with pytest.warns(p.MutatedArtifactValueWarning):
        made = total(Box(xs))
    assert made == 102
    assert p.load_artifact(made.artifact.id).inputs["kargs"]["box"].content == [100, 1, 1]


def test_same_named_methods_of_two_classes_are_warned_about(repo: Any, tmp_path: Path) -> None:
    source = """
    import provenance as p

    class CsvReader:
        @staticmethod
        @p.provenance(version=1)
        def load(n):
            return ["csv"] * n

    class JsonReader:
        @staticmethod
        @p.provenance(version=1)
        def load(n):
            return ["json"] * n
    """
    folder = tmp_path / "readers"
    write(folder / "readers_mod.py", source)
    sys.path.insert(0, str(folder))
    try:
        with pytest.warns(p.ArtifactNameWarning, match="JsonReader.load and CsvReader.load"):
            import readers_mod
        # Methods taking self differ by it; static ones would collide:
        assert readers_mod.CsvReader.load(2) == ["csv", "csv"]
        with pytest.warns(p.ArtifactNameWarning, match="another function"):
            readers_mod.JsonReader.load(2)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("readers_mod", None)


def test_a_mode_change_is_seen_whoever_asks_for_the_fingerprint_first(repo: Any) -> None:
    @p.provenance(version=1, name="h")
    def h(n: int) -> int:
        return n

    h.code_fingerprint()
    plain_id = h.artifact_id(1)  # its prefix is kept
    p.set_code_identity("always")
    h.code_fingerprint()  # made again for the new generation, before any call
    assert h.artifact_id(1) != plain_id  # the code is part of the id now
    p.set_code_identity("auto")
    assert h.artifact_id(1) == plain_id
