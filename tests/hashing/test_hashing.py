"""Tests for :mod:`provenance.hashing`.

The golden ids live in ``tests/hashing/golden_hashes.json``.  A changed id invalidates every
user's cache, so it must be a reviewed decision: bump ``HASH_SCHEME`` and regenerate
with ``python tests/hashing/test_hashing.py --regenerate``.
"""

from __future__ import annotations

import ast
import collections
import copy
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import json
import linecache
import math
import os
import pathlib
import random
import socket
import struct
import subprocess
import sys
import threading
import tracemalloc
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import wrapt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from xxhash import xxh3_128_digest

from provenance import hashing
from provenance.errors import HashingError
from provenance.hashing import (
    HASH_SCHEME,
    hash_bytes,
    hash_file,
    hash_value,
    new_hasher,
    register_hasher,
    value_digest,
)

GOLDEN_FILE = pathlib.Path(__file__).with_name("golden_hashes.json")
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


# --- the golden table ---------------------------------------------------------------
# Everything named here carries __module__ = "golden", so the ids do not depend on the
# name under which pytest (or the subprocess check) imports this file.


class GoldenColor(enum.Enum):
    RED = 1
    GREEN = 2


class GoldenPerm(enum.Flag):
    R = 4
    W = 2
    X = 1


@dataclasses.dataclass(frozen=True)
class GoldenPoint:
    x: int
    y: float
    tags: tuple[str, ...] = ()


GoldenPair = collections.namedtuple("GoldenPair", "left right", module="golden")


class GoldenPlain:
    def __init__(self) -> None:
        self.name = "plain"
        self.items = [1, 2, 3]


# Functions hash by their source text: editing the text of the golden functions (even
# reformatting them) changes their pinned ids.
def golden_function(x: int, y: int = 2, *, z: Any = None) -> int:
    return x + y


for _named in (GoldenColor, GoldenPerm, GoldenPoint, GoldenPlain, golden_function):
    _named.__module__ = "golden"


def golden_adder(n: int) -> Any:
    def add(x: int) -> int:
        return x + n

    add.__module__ = "golden"
    return add


def golden_values() -> dict[str, Any]:
    """About fifty values covering every rule, built deterministically."""
    lam = [lambda v: v * 3][0]
    lam.__module__ = "golden"
    arrow_str = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's "str" with pyarrow
    structured = np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))])
    structured["a"] = [1, -1]
    structured["b"] = [[0.5, 1.5], [2.5, 3.5]]
    frame = pd.DataFrame(
        {
            "i": np.array([1, 2, 3], dtype="int64"),
            "f": np.array([0.5, np.nan, -2.0], dtype="float64"),
            "o": pd.Series(["x", None, 3], dtype=object),
            "c": pd.Categorical(["a", "b", "a"], categories=["a", "b"]),
        },
        index=pd.Index([10, 20, 30], dtype="int64", name="key"),
    )
    return {
        "none": None,
        "true": True,
        "false": False,
        "int_zero": 0,
        "int_negative": -1,
        "int_small": 42,
        "int_big": 2**100 + 7,
        "int_int64_min": -(2**63),
        "float": 1.5,
        "float_negative_zero": -0.0,
        "float_nan": float("nan"),
        "float_inf": float("inf"),
        "complex": complex(1, -2),
        "str": "héllo wörld",
        "str_empty": "",
        "bytes": b"\x00\xffabc",
        "bytearray": bytearray(b"abc"),
        "memoryview": memoryview(b"abcdef")[::2],
        "ellipsis": ...,
        "tuple": (1, "a", None, 2.5),
        "list_nested": [1, [2, [3, []]], {"k": (4,)}],
        "dict": {"b": 2, "a": [1.0, None], 3: "three"},
        "ordered_dict": collections.OrderedDict([("z", 1), ("a", 2)]),
        "set_of_str": {"delta", "alpha", "charlie", "bravo"},
        "frozenset": frozenset({1, 2, 3}),
        "decimal": decimal.Decimal("3.140"),
        "fraction": fractions.Fraction(-1, 3),
        "range": range(0, 10, 3),
        "slice": slice(1, None, 2),
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        "datetime_tz": datetime.datetime(
            2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
        "date": datetime.date(2024, 2, 29),
        "time": datetime.time(13, 14, 15),
        "timedelta": datetime.timedelta(days=1, seconds=2, microseconds=3),
        "posix_path": pathlib.PurePosixPath("/data/file.csv"),
        "windows_path": pathlib.PureWindowsPath(r"C:\Data\File.csv"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "enum": GoldenColor.GREEN,
        "flag_composite": GoldenPerm.R | GoldenPerm.W,
        "dataclass": GoldenPoint(1, 2.5, ("a", "b")),
        "namedtuple": GoldenPair(1, "right"),
        "class_builtin": int,
        "class_user": GoldenPlain,
        "module": math,
        "object_by_reduce": GoldenPlain(),
        "function": golden_function,
        "lambda": lam,
        "closure": golden_adder(3),
        "partial": functools.partial(golden_function, 1, z=3),
        "builtin_function": len,
        "np_float64_matrix": np.arange(12, dtype="<f8").reshape(3, 4),
        "np_int32_strided": np.arange(10, dtype="<i4")[::3],
        "np_fortran_int16": np.asfortranarray(np.arange(6, dtype="<i2").reshape(2, 3)),
        "np_bool": np.array([True, False, True]),
        "np_bigendian": np.array([1.0, 2.0], dtype=">f8"),
        "np_structured": structured,
        "np_object": np.array([1, "a", None, 2.5], dtype=object),
        "np_datetime64": np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
        "np_unicode": np.array(["ab", "c"], dtype="<U2"),
        "np_zero_dim": np.array(7.0),
        "np_empty": np.zeros((0, 3), dtype="<f4"),
        "np_scalar_float64": np.float64(1.5),
        "np_scalar_int8": np.int8(-3),
        "np_dtype": np.dtype("<f8"),
        "pd_frame": frame,
        "pd_series": pd.Series(
            np.array([1.0, 2.0, 3.0]), index=pd.Index([3, 1, 2], dtype="int64"), name="s"
        ),
        "pd_range_index": pd.RangeIndex(0, 10, 2),
        "pd_multiindex": pd.MultiIndex.from_arrays(
            [pd.Index([1, 1, 2], dtype="int64"), pd.Index(["a", "b", "a"], dtype=object)],
            names=["n", "l"],
        ),
        "pd_nullable_int": pd.Series(pd.array([1, None, 3], dtype="Int64")),
        "pd_datetime_tz": pd.Series(
            pd.DatetimeIndex(
                np.array(["2020-01-01T00:00", "2020-07-01T12:00"], dtype="datetime64[ns]")
            ).tz_localize("UTC")
        ),
        # Scheme /4: string columns and string labels in bulk (tests/hashing/test_strings.py).
        "pd_str_arrow": pd.Series(["a", None, "", "héllo", "None"], dtype=arrow_str),
        "pd_str_python_nulls": pd.Series(
            ["nan", None, "", "<NA>"], dtype=pd.StringDtype("python", na_value=np.nan)
        ),
        "pd_string_nullable": pd.Series(["x", None, "", "ü"], dtype=pd.StringDtype("python")),
        "pd_arrow_dtype_string": pd.Series(["x", None, "yz"], dtype=pd.ArrowDtype(pa.string())),
        "pd_object_strings": pd.Series(["a", None, float("nan"), pd.NA, "", "None"], dtype=object),
        "pd_str_sliced_frame": pd.DataFrame(
            {
                "s": pd.Series(list("abcdefgh"), dtype=arrow_str),
                "o": pd.Series(["p", "q", None, "r", "s", "t", "u", "v"], dtype=object),
            },
            index=pd.Index([f"row{i}" for i in range(8)], dtype=object, name="row"),
        ).iloc[2:6],
        "pd_str_chunked": pd.Series(
            pd.arrays.ArrowStringArray(
                pa.chunked_array(
                    [pa.array(c, pa.large_string()) for c in (["a", None], ["bc", ""])]
                ),
                dtype=arrow_str,
            )
        ),
        "pd_str_index": pd.Index(["x", None, "yy"], dtype=arrow_str, name="i"),
        # Scheme /3: a set hashes by its value_repr (members and labels), never its repo.
        "artifact_set": __import__("provenance").ArtifactSet(["0" * 32, "f" * 32], "s"),
    }


def compute_golden_ids() -> dict[str, str]:
    return {name: hash_value(value) for name, value in golden_values().items()}


def load_golden() -> dict[str, Any]:
    return json.loads(GOLDEN_FILE.read_text())  # type: ignore[no-any-return]


def test_golden_ids_are_pinned() -> None:
    golden = load_golden()
    assert golden["scheme"] == HASH_SCHEME, "HASH_SCHEME changed: regenerate the golden ids"
    computed = compute_golden_ids()
    assert sorted(computed) == sorted(golden["ids"])
    changed = {k: (golden["ids"][k], v) for k, v in computed.items() if golden["ids"][k] != v}
    assert not changed, f"ids changed (pinned, now): {changed}"


def test_golden_ids_are_distinct() -> None:
    ids = compute_golden_ids()
    assert len(set(ids.values())) == len(ids)


_SUBPROCESS_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("golden_table_check", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
print(json.dumps(module.compute_golden_ids()))
"""


def test_golden_ids_match_in_other_processes_and_hash_seeds() -> None:
    procs = []
    for seed in ("0", "123"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _SUBPROCESS_SCRIPT, __file__],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    here = compute_golden_ids()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out) == here


# --- basics -------------------------------------------------------------------------


def test_hash_value_is_hex_of_value_digest() -> None:
    for value in [None, 1, "a", (1, 2), {"a": [1]}]:
        digest = value_digest(value)
        assert isinstance(digest, bytes) and len(digest) == 16
        assert hash_value(value) == digest.hex()
        assert len(hash_value(value)) == 32 and hash_value(value).islower()
    assert HASH_SCHEME == "xxh3_128/4"


def test_containers_are_merkle_nodes() -> None:
    # Every element contributes exactly its own value_digest: what makes a proxy (whose
    # digest is its known value id) interchangeable with the raw value inside containers.
    x, y = {"a": [1, 2.5]}, "text"
    dx, dy = value_digest(x), value_digest(y)
    assert value_digest([x, y]) == xxh3_128_digest(b"list:" + dx + dy)
    assert value_digest((x, y)) == xxh3_128_digest(b"tuple:" + dx + dy)
    pair = value_digest("k") + dx
    assert value_digest({"k": x}) == xxh3_128_digest(b"dict:" + pair)
    assert value_digest({"\ud800": 1}) == xxh3_128_digest(
        b"dict:" + value_digest("\ud800") + value_digest(1)
    )  # a str key that UTF-8 cannot encode strictly
    assert value_digest(frozenset([x["a"][0], y])) == xxh3_128_digest(
        b"frozenset:" + b"".join(sorted([value_digest(1), dy]))
    )


def test_distinct_types_stay_distinct() -> None:
    values = [
        1, 1.0, True, "1", b"1", bytearray(b"1"), memoryview(b"1"), (1,), [1], {1}, frozenset({1}),
        {1: 1}, 1 + 0j, decimal.Decimal(1), fractions.Fraction(1), np.int64(1), np.float64(1.0),
        np.array(1), np.array([1]), None, 0, False, "", b"", (), [], {}, set(), frozenset(),
        collections.OrderedDict(), range(1), ..., GoldenColor.RED, int, float,
    ]  # fmt: skip
    ids = [hash_value(v) for v in values]
    assert len(set(ids)) == len(ids)


def test_floats() -> None:
    assert hash_value(float("nan")) == hash_value(-float("nan")) == hash_value(math.nan)
    assert hash_value(0.0) != hash_value(-0.0)
    assert hash_value(float("inf")) != hash_value(float("-inf"))
    assert hash_value(complex(math.nan, 1)) == hash_value(complex(-math.nan, 1))
    assert hash_value(complex(math.nan, 1)) != hash_value(complex(math.nan, 2))


@pytest.mark.parametrize("n", [0, 1, -1, 127, 128, -128, -129, 1023, 1024, 2**63 - 1, -(2**63)])
def test_ints_at_encoding_boundaries(n: int) -> None:
    neighbours = {hash_value(m) for m in (n - 1, n, n + 1)}
    assert len(neighbours) == 3
    assert hash_value(n) == hash_value(int(str(n)))


def test_huge_ints_have_no_digit_limit() -> None:
    big = 10**5000
    assert hash_value(big) != hash_value(big + 1)
    assert hash_value(-big) != hash_value(big)


def test_strings() -> None:
    assert hash_value("a") != hash_value("a\x00")
    assert hash_value("\ud800") != hash_value("\ud801")  # lone surrogates are fine
    assert hash_value("\u00e9") != hash_value("e\u0301")  # no Unicode normalisation


def test_bytes_like() -> None:
    # bytes and bytearray differ on purpose: distinct (mutable) types.
    assert hash_value(b"abc") != hash_value(bytearray(b"abc"))
    big = os.urandom(1 << 17)  # above the streaming threshold
    assert hash_value(big) == hash_value(bytes(bytearray(big)))
    assert hash_value(big) != hash_value(big[:-1])
    assert hash_value(memoryview(b"abcdef")[::2]) == hash_value(memoryview(b"ace"))
    assert hash_value(memoryview(b"abcd")) != hash_value(memoryview(b"abcd").cast("B", (2, 2)))


def test_dict_order_and_ordered_dict() -> None:
    assert hash_value({"a": 1, "b": 2}) == hash_value({"b": 2, "a": 1})
    assert hash_value({"a": 1, "b": 2}) != hash_value({"a": 2, "b": 1})
    od1 = collections.OrderedDict([("a", 1), ("b", 2)])
    od2 = collections.OrderedDict([("b", 2), ("a", 1)])
    assert hash_value(od1) != hash_value(od2)  # OrderedDict equality is order-sensitive
    assert hash_value(od1) == hash_value(collections.OrderedDict(od1))
    assert hash_value(od1) != hash_value(dict(od1))


def test_sets_ignore_order_with_and_without_numpy_sort() -> None:
    words = [f"w{i}" for i in range(2000)]  # large enough for the numpy-accelerated sort
    shuffled = words[:]
    random.Random(0).shuffle(shuffled)
    assert hash_value(set(words)) == hash_value(set(shuffled))
    assert hash_value(set(words)) == hash_value(set(words[:10]) | set(words[10:]))
    # The numpy sort path and the pure-Python path produce the same bytes.
    parts = [os.urandom(16) for _ in range(1000)] + [b"\x00" * 16, b"\x00" * 15 + b"\x01"]
    assert hashing._sorted_join(list(parts), 16) == b"".join(sorted(parts))
    big = {str(i): i for i in range(1000)}
    small_parts = dict(list(big.items())[::-1])
    assert hash_value(big) == hash_value(small_parts)


def test_range_slice_and_misc() -> None:
    assert hash_value(range(0, 3, 2)) == hash_value(range(0, 4, 2))  # same sequence
    assert hash_value(range(0)) == hash_value(range(5, 5))
    assert hash_value(range(3)) != hash_value(range(1, 3))
    assert hash_value(range(10**30)) != hash_value(range(10**30 + 1))
    assert hash_value(slice(1, 2)) == hash_value(slice(1, 2, None))
    assert hash_value(slice(None)) != hash_value(slice(0))
    assert hash_value(decimal.Decimal("1.0")) != hash_value(decimal.Decimal("1.00"))
    assert hash_value(fractions.Fraction(2, 4)) == hash_value(fractions.Fraction(1, 2))
    assert hash_value(NotImplemented) != hash_value(...)


def test_datetimes_and_paths_and_uuids() -> None:
    utc = datetime.timezone.utc
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    naive = datetime.datetime(2020, 1, 1, 12)
    assert hash_value(naive) != hash_value(naive.replace(tzinfo=utc))
    assert hash_value(naive.replace(tzinfo=utc)) != hash_value(naive.replace(tzinfo=plus2))
    assert hash_value(naive) != hash_value(naive.date())
    assert hash_value(datetime.timedelta(1)) == hash_value(datetime.timedelta(hours=24))
    assert hash_value(pathlib.Path("/a/b")) == hash_value(pathlib.PurePosixPath("/a/b"))
    assert hash_value(pathlib.PurePosixPath("/a/b")) != hash_value(pathlib.PureWindowsPath("/a/b"))
    windows = pathlib.PureWindowsPath
    assert hash_value(windows("C:/A")) == hash_value(windows("c:\\a"))
    assert hash_value(pathlib.Path("a")) != hash_value("a")
    u = uuid.UUID(int=7)
    assert hash_value(u) == hash_value(uuid.UUID(str(u))) != hash_value(uuid.UUID(int=8))


def test_subclasses_of_builtins_keep_their_class() -> None:
    class Name(str):
        pass

    class Counts(dict):  # type: ignore[type-arg]
        pass

    assert hash_value(Name("x")) != hash_value("x")
    assert hash_value(Name("x")) == hash_value(Name("x"))
    assert hash_value(Counts(a=1, b=2)) == hash_value(Counts(b=2, a=1))
    assert hash_value(Counts(a=1)) != hash_value({"a": 1})
    assert hash_value(collections.Counter("abca")) == hash_value(collections.Counter("aacb"))
    assert hash_value(collections.defaultdict(list, a=[1])) != hash_value({"a": [1]})


# --- enums, dataclasses, namedtuples, classes, objects -------------------------------


def test_enums_dataclasses_namedtuples() -> None:
    class OtherColor(enum.Enum):
        RED = 1

    assert hash_value(GoldenColor.RED) != hash_value(OtherColor.RED)
    assert hash_value(GoldenColor.RED) != hash_value(GoldenColor.GREEN)
    assert hash_value(GoldenPerm.R | GoldenPerm.W) == hash_value(GoldenPerm(6))
    p = GoldenPoint(1, 2.0)
    assert hash_value(p) == hash_value(GoldenPoint(1, 2.0))
    assert hash_value(p) != hash_value(GoldenPoint(1, 2.5))
    assert hash_value(p) != hash_value((1, 2.0, ()))

    Other = collections.namedtuple("Other", "left right")
    assert hash_value(GoldenPair(1, 2)) != hash_value(Other(1, 2))
    assert hash_value(GoldenPair(1, 2)) != hash_value((1, 2))
    assert hash_value(GoldenPair(1, 2)) == hash_value(GoldenPair(left=1, right=2))


def test_dataclass_field_without_value() -> None:
    @dataclasses.dataclass
    class Lazy:
        x: int
        cache: list[int] = dataclasses.field(init=False)

    assert hash_value(Lazy(1)) == hash_value(Lazy(1))
    filled = Lazy(1)
    filled.cache = []
    assert hash_value(Lazy(1)) != hash_value(filled)


def test_objects_by_reduction() -> None:
    a, b = GoldenPlain(), GoldenPlain()
    assert hash_value(a) == hash_value(b)
    b.items.append(4)
    assert hash_value(a) != hash_value(b)
    # Attribute order does not matter: the state dict is hashed like a dict.
    c = GoldenPlain.__new__(GoldenPlain)
    c.items, c.name = [1, 2, 3], "plain"
    assert hash_value(a) == hash_value(c)

    class Slotted:
        __slots__ = ("p", "q")

        def __init__(self, p: int, q: int) -> None:
            self.p, self.q = p, q

    assert hash_value(Slotted(1, 2)) == hash_value(Slotted(1, 2))
    assert hash_value(Slotted(1, 2)) != hash_value(Slotted(2, 1))
    assert hash_value(collections.deque([1, 2], maxlen=3)) != hash_value(collections.deque([1, 2]))


def test_classes_and_modules_by_name() -> None:
    assert hash_value(int) != hash_value(float)
    assert hash_value(GoldenPlain) == hash_value(GoldenPlain)
    assert hash_value(math) != hash_value(os)
    assert hash_value(list[int]) != hash_value(list[str])


# --- functions ------------------------------------------------------------------------


def _function_from_source(source: str, name: str, filename: str) -> Any:
    """Compile ``source`` as if it were the file ``filename`` (kept in linecache)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": "fake_module"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def test_function_identity_code_defaults_and_closures() -> None:
    assert hash_value(golden_function) == hash_value(golden_function)
    assert hash_value(golden_adder(1)) == hash_value(golden_adder(1))
    assert hash_value(golden_adder(1)) != hash_value(golden_adder(2))
    f1 = _function_from_source("def f(x, y=1):\n    return x + y\n", "f", "<fake-f1>")
    f2 = _function_from_source("def f(x, y=2):\n    return x + y\n", "f", "<fake-f2>")
    f3 = _function_from_source("def f(x, y=1):\n    return x - y\n", "f", "<fake-f3>")
    f4 = _function_from_source("def f(x, y=1):\n    return x + y\n", "f", "<fake-f4>")
    assert hash_value(f1) == hash_value(f4)  # same source, module and qualname
    assert len({hash_value(f) for f in (f1, f2, f3)}) == 3


def test_function_decorators_are_not_part_of_the_fingerprint() -> None:
    body = "def f(x):\n    return x * 2\n"
    prelude = "def keep(*a):\n    return (lambda fn: fn) if a else a\n"
    f1 = _function_from_source(prelude + "@keep(1)\n" + body, "f", "<fake-deco1>")
    f2 = _function_from_source(prelude + "\n\n@keep(2, 3)\n" + body, "f", "<fake-deco2>")
    assert hash_value(f1) == hash_value(f2)


def test_lambdas_on_one_line_differ() -> None:
    pair = [lambda x: x + 1, lambda x: x * 2]
    assert hash_value(pair[0]) != hash_value(pair[1])
    assert hashing._function_source(pair[0].__code__) == "lambda x: x + 1"
    assert hashing._function_source(pair[1].__code__) == "lambda x: x * 2"


def test_lambda_disambiguation_without_positions() -> None:
    # Python 3.10 has no co_positions(): lambdas are told apart by what they compile to.
    pair = [lambda x: x + 1, lambda x: x * 2]
    parsed = hashing._parse_file(__file__)
    assert parsed is not None
    _, tree, text = parsed
    line = pair[0].__code__.co_firstlineno
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line]
    assert [hashing._compiles_alike(pair[0].__code__, n, text) for n in nodes] == [True, False]
    assert [hashing._compiles_alike(pair[1].__code__, n, text) for n in nodes] == [False, True]


def test_functions_without_source_use_bytecode() -> None:
    ns1: dict[str, Any] = {}
    ns2: dict[str, Any] = {}
    exec("def g(x):\n    return x + 1\n", ns1)
    exec("def g(x):\n    return x + 2\n", ns2)
    assert hashing._function_source(ns1["g"].__code__) is None
    assert hash_value(ns1["g"]) == hash_value(ns1["g"])
    assert hash_value(ns1["g"]) != hash_value(ns2["g"])


def test_closures_over_unhashable_and_recursive_functions() -> None:
    lock = threading.Lock()

    def uses_lock() -> bool:
        return lock.locked()

    assert hash_value(uses_lock) == hash_value(uses_lock)

    def make_recursive() -> Any:
        def fact(n: int) -> int:
            return 1 if n <= 1 else n * fact(n - 1)

        return fact

    assert hash_value(make_recursive()) == hash_value(make_recursive())


def test_partials_methods_builtins() -> None:
    p = functools.partial(golden_function, 1, z=2)
    assert hash_value(p) == hash_value(functools.partial(golden_function, 1, z=2))
    assert hash_value(p) != hash_value(functools.partial(golden_function, 1, z=3))
    assert hash_value(p) != hash_value(functools.partial(golden_function, 2, z=2))
    assert hash_value(len) != hash_value(abs)
    assert hash_value(math.sqrt) != hash_value(math.floor)
    assert hash_value(GoldenPlain().__init__) == hash_value(GoldenPlain().__init__)
    assert hash_value([1].append) != hash_value([2].append)
    assert hash_value(str.upper) != hash_value(str.lower)


# --- the proxy rule -----------------------------------------------------------------


class FakeProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """Stands in for provenance.ArtifactProxy: a wrapped value with a known value id."""

    def __init__(self, wrapped: Any, value_id: str) -> None:
        super().__init__(wrapped)
        self._self_value_id = value_id

    @property
    def _provenance_value_id_(self) -> str:
        return self._self_value_id  # type: ignore[no-any-return]


def test_proxy_hashes_as_its_value_id() -> None:
    raw = {"a": [1, 2, 3]}
    proxy = FakeProxy(raw, hash_value(raw))
    assert isinstance(proxy, dict) and proxy.__class__ is dict  # __class__ is forwarded
    assert hash_value(proxy) == hash_value(raw)
    assert hash_value([proxy]) == hash_value([raw])
    assert hash_value((1, proxy)) == hash_value((1, raw))
    assert hash_value({"k": proxy}) == hash_value({"k": raw})
    assert hash_value(GoldenPoint(1, 2.0, (proxy,))) == hash_value(GoldenPoint(1, 2.0, (raw,)))
    frozen = FakeProxy("text", hash_value("text"))
    assert hash_value({frozen}) == hash_value({"text"})


def test_proxy_value_is_never_rehashed() -> None:
    some_id = "0123456789abcdef0123456789abcdef"
    proxy = FakeProxy(threading.Lock(), some_id)  # the lock itself is unhashable
    assert hash_value(proxy) == some_id
    assert value_digest([proxy]) == value_digest([FakeProxy(object(), some_id)])


def test_proxy_with_malformed_id() -> None:
    with pytest.raises(HashingError, match="_provenance_value_id_"):
        hash_value(FakeProxy(1, "not-hex"))


# --- errors -------------------------------------------------------------------------


def test_unhashable_objects_name_their_type_and_path() -> None:
    value = {"config": {"lock": threading.Lock()}}
    with pytest.raises(HashingError) as err:
        hash_value(value)
    assert "cannot hash value of type _thread.lock at ['config']['lock']" in str(err.value)
    assert isinstance(err.value, TypeError)  # HashingError is also a TypeError
    with pytest.raises(HashingError, match=r"at params\[0\]\['config'\]\['lock'\]"):
        hash_value([value], path="params")

    holder = GoldenPlain()
    holder.items = [1, threading.RLock()]  # type: ignore[list-item]
    with pytest.raises(HashingError, match=r"_thread.RLock at \.items\[1\]"):
        hash_value(holder)


def test_other_unhashable_things() -> None:
    with pytest.raises(HashingError, match="generator"):
        hash_value(x for x in [])
    with open(__file__, "rb") as f, pytest.raises(HashingError, match="_io.BufferedReader"):
        hash_value({"f": f})
    with socket.socket() as s, pytest.raises(HashingError, match="socket"):
        hash_value(s)


def test_registered_hasher_errors_are_reported() -> None:
    class Fussy:
        pass

    def refuse(obj: Fussy) -> object:
        raise ValueError("nope")

    register_hasher(Fussy, refuse)
    with pytest.raises(HashingError, match=r"Fussy at \[0\].*refuse.*nope"):
        hash_value([Fussy()])


def test_self_referencing_values_raise() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(HashingError, match=r"type list at \[1\]: it refers back"):
        hash_value(loop)
    d: dict[str, Any] = {}
    d["me"] = {"again": d}
    with pytest.raises(HashingError, match=r"type dict at x\['me'\]\['again'\]: it refers back"):
        hash_value(d, path="x")
    node = GoldenPlain()
    node.items = [GoldenPlain()]
    node.items[0].parent = node  # type: ignore[attr-defined]
    with pytest.raises(HashingError, match=r"GoldenPlain at \.items\[0\]\.parent: it refers back"):
        hash_value(node)
    array = np.empty(2, dtype=object)
    array[:] = [1, array]
    with pytest.raises(HashingError, match=r"ndarray at \[1\]: it refers back"):
        hash_value(array)


def test_shared_references_are_not_cycles() -> None:
    shared = [1, {"a": 2}]
    assert hash_value([shared, shared, (shared,)]) == hash_value(
        [[1, {"a": 2}]] * 2 + [([1, {"a": 2}],)]
    )
    node = GoldenPlain()
    assert hash_value({"x": node, "y": [node]}) == hash_value(
        {"x": GoldenPlain(), "y": [GoldenPlain()]}
    )


def test_threads_hashing_the_same_value_concurrently() -> None:
    value = [{"k": list(range(20)), "n": [i, str(i)]} for i in range(500)]
    expected = hash_value(value)
    results: list[str] = []

    def work() -> None:
        for _ in range(3):
            results.append(hash_value(value))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 12


def test_deep_but_acyclic_nesting() -> None:
    value: Any = 0
    for _ in range(100):
        value = [value]
    assert hash_value(value) == hash_value(copy.deepcopy(value))
    for _ in range(10_000):
        value = [value]
    with pytest.raises(HashingError, match="nested too deeply"):
        hash_value(value)


# --- registration ---------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float, cache: Any = None) -> None:
        self.degrees = degrees
        self.cache = cache


register_hasher(Celsius, lambda c: c.degrees)


class HotCelsius(Celsius):
    pass


def test_register_hasher() -> None:
    assert hash_value(Celsius(1.0, threading.Lock())) == hash_value(Celsius(1.0))
    assert hash_value(Celsius(1.0)) != hash_value(Celsius(2.0))
    assert hash_value(Celsius(1.0)) != hash_value(1.0)
    # Subclasses use the registration but keep their own class name.
    assert hash_value(HotCelsius(1.0, threading.Lock())) == hash_value(HotCelsius(1.0))
    assert hash_value(HotCelsius(1.0)) != hash_value(Celsius(1.0))


def test_register_hasher_as_decorator_and_precedence() -> None:
    @dataclasses.dataclass
    class Job:
        name: str
        scratch: Any = None

    before = hash_value(Job("a"))

    @register_hasher(Job)
    def job_key(job: Job) -> object:
        return job.name

    assert job_key(Job("x")) == "x"  # the decorator returns the function
    assert hash_value(Job("a")) != before  # the registration beats the dataclass rule
    assert hash_value(Job("a", threading.Lock())) == hash_value(Job("a"))
    with pytest.raises(TypeError):
        register_hasher("not a class", job_key)  # type: ignore[call-overload]


# --- hypothesis: equal values hash equal, different values differ -----------------------

hashable_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
)
json_values = st.recursive(
    hashable_scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.lists(kids, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=4) | st.integers(), kids, max_size=4)
        | st.frozensets(hashable_scalars, max_size=4)
    ),
    max_leaves=12,
)


def canon(v: Any) -> Any:
    """Type-aware equality key: 1, 1.0 and True differ; 0.0 and -0.0 differ."""
    t = type(v)
    if t is float:
        return ("float", struct.pack("<d", v) if v == v else b"nan")
    if t in (list, tuple):
        return (t.__name__, tuple(canon(x) for x in v))
    if t is dict:
        return ("dict", frozenset((canon(k), canon(x)) for k, x in v.items()))
    if t in (set, frozenset):
        return (t.__name__, frozenset(canon(x) for x in v))
    return (t.__name__, v)


def rebuilt(v: Any, rnd: random.Random) -> Any:
    """An equal value built anew: dicts in another insertion order, sets from shuffled lists."""
    t = type(v)
    if t is dict:
        items = [(k, rebuilt(x, rnd)) for k, x in v.items()]
        rnd.shuffle(items)
        return dict(items)
    if t is frozenset:
        members = list(v)
        rnd.shuffle(members)
        return frozenset(members)
    if t in (list, tuple):
        return t(rebuilt(x, rnd) for x in v)
    return v


def mutated(v: Any, rnd: random.Random) -> Any:
    """The value with one leaf changed (or one element added to an empty container)."""
    t = type(v)
    if t in (list, tuple):
        if not v:
            return t([0])
        i = rnd.randrange(len(v))
        return t([mutated(x, rnd) if j == i else x for j, x in enumerate(v)])
    if t is dict:
        if not v:
            return {"new": 0}
        key = rnd.choice(list(v))
        return {k: (mutated(x, rnd) if k == key else x) for k, x in v.items()}
    if t is frozenset:
        return v | {"\x00new"}
    if t is bool:
        return not v
    if t is int:
        return v + 1
    if t is float:
        return 0.5 if math.isinf(v) or v == 0 else v * 2
    if t in (str, bytes):
        return v + v[:0].__class__(b"x" if t is bytes else "x")
    return 0  # None


@settings(max_examples=100, deadline=None)
@given(json_values, json_values)
def test_hash_equal_iff_type_aware_equal(a: Any, b: Any) -> None:
    assert (canon(a) == canon(b)) == (hash_value(a) == hash_value(b))


@settings(max_examples=100, deadline=None)
@given(json_values, st.randoms(use_true_random=False))
def test_rebuilt_and_copied_values_hash_equal(v: Any, rnd: random.Random) -> None:
    assert hash_value(rebuilt(v, rnd)) == hash_value(v)
    assert hash_value(copy.deepcopy(v)) == hash_value(v)


@settings(max_examples=100, deadline=None)
@given(json_values, st.randoms(use_true_random=False))
def test_mutated_values_hash_differently(v: Any, rnd: random.Random) -> None:
    w = mutated(v, rnd)
    assert canon(w) != canon(v)
    assert hash_value(w) != hash_value(v)
    wrappers = [v, [v], (v,), {"k": v}, {"k": [v]}]
    assert len({hash_value(x) for x in wrappers}) == len(wrappers)


# --- numpy ------------------------------------------------------------------------------


def test_numpy_layouts_hash_alike() -> None:
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    ids = {
        hash_value(a),
        hash_value(a.copy()),
        hash_value(np.asfortranarray(a)),
        hash_value(a.T.copy().T),
        hash_value(a[::-1][::-1]),
    }
    assert len(ids) == 1
    assert hash_value(a[:, ::2]) == hash_value(np.ascontiguousarray(a[:, ::2]))
    assert hash_value(np.broadcast_to(1.0, (3, 3))) == hash_value(np.ones((3, 3)))


@pytest.mark.parametrize(
    "make",
    [
        lambda r: np.asfortranarray(r.random((300, 5000))),  # several blocks and tiles
        lambda r: np.asfortranarray(r.random((200_000, 3))),  # tall
        lambda r: np.asfortranarray(r.random((3, 200_000))),  # wide
        lambda r: r.random((40, 50, 60)).transpose(2, 0, 1),
        lambda r: np.asfortranarray(r.integers(0, 9, (999, 777)).astype(np.int8)),
        lambda r: r.random((500, 600))[::-1, ::3],
        lambda r: r.random(300_000)[::7],
    ],
)
def test_numpy_non_contiguous_layouts_hash_as_their_copy(make: Any) -> None:
    a = make(np.random.default_rng(0))
    assert not a.flags.c_contiguous
    assert hash_value(a) == hash_value(np.ascontiguousarray(a))


def test_numpy_dtype_shape_and_content_matter() -> None:
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    others = [
        a.astype(np.float32),
        a.astype(">f8"),
        a.reshape(6, 4),
        a.reshape(24),
        a.view(np.int64),
        np.where(a == 5, 5.5, a),
    ]
    assert len({hash_value(x) for x in [a, *others]}) == 1 + len(others)
    assert hash_value(np.zeros((0, 3))) != hash_value(np.zeros((3, 0)))
    assert hash_value(np.array(["2020-01-01"], "M8[D]")) != hash_value(np.array([18262], "M8[s]"))


def test_numpy_scalars_and_object_arrays() -> None:
    assert hash_value(np.float64(1.0)) != hash_value(1.0)  # the dtype is part of the value
    assert hash_value(np.float64(1.0)) != hash_value(np.float32(1.0))
    assert hash_value(np.float64("nan")) == hash_value(-np.float64("nan"))
    assert hash_value(np.int64(3)) == hash_value(np.array([3])[0])
    objects = np.array([1, "a", None, (2, 3)], dtype=object)
    assert hash_value(objects) == hash_value(objects.copy())
    assert hash_value(objects) != hash_value(np.array([1, "a", None, (2, 4)], dtype=object))
    assert hash_value(np.array([1], dtype=object)) != hash_value(np.array(["1"], dtype=object))
    strings = np.array(["a", "bb"], dtype=np.dtypes.StringDType())
    assert hash_value(strings) == hash_value(strings.copy())
    assert hash_value(strings) != hash_value(np.array(["a", "bc"], dtype=np.dtypes.StringDType()))


def test_numpy_structured_padding_is_ignored() -> None:
    dt = np.dtype({"names": ["a", "b"], "formats": ["<i1", "<f8"], "offsets": [0, 8]})
    raw1 = bytearray(16 * 2)
    raw2 = bytearray(os.urandom(16 * 2))
    for raw in (raw1, raw2):
        for i in range(2):
            raw[16 * i] = i + 1
            raw[16 * i + 8 : 16 * i + 16] = struct.pack("<d", i + 0.5)
    a1 = np.frombuffer(bytes(raw1), dtype=dt)
    a2 = np.frombuffer(bytes(raw2), dtype=dt)
    assert a1.tobytes() != a2.tobytes()
    assert hash_value(a1) == hash_value(a2)


def test_numpy_subclasses_keep_their_extra_state() -> None:
    m1 = np.ma.masked_array([1, 2], mask=[0, 1])
    assert hash_value(m1) == hash_value(np.ma.masked_array([1, 2], mask=[0, 1]))
    assert hash_value(m1) != hash_value(np.ma.masked_array([1, 2], mask=[0, 0]))
    assert hash_value(m1) != hash_value(np.array([1, 2]))


def test_numpy_arrays_are_hashed_without_a_full_copy() -> None:
    a = np.ones(2_000_000)  # 16 MB
    f = np.asfortranarray(np.ones((1000, 2000)))
    peaks = []
    tracemalloc.start()
    try:
        for action in (lambda: hash_value(a), lambda: hash_value(f), lambda: f.copy(order="C")):
            tracemalloc.reset_peak()
            action()
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    contiguous, fortran, copy_ = peaks
    assert contiguous < 1_000_000  # hashed in place
    assert fortran < 4_000_000  # streamed through a small buffer
    assert copy_ >= f.nbytes  # the measurement does see numpy's allocations


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes(),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    )
)
def test_numpy_copies_hash_alike(a: Any) -> None:
    expected = hash_value(a)
    assert hash_value(a.copy()) == expected
    assert hash_value(a.copy(order="F")) == expected  # np.asfortranarray makes 0-d 1-d
    if a.ndim:
        assert hash_value(a[..., ::-1][..., ::-1]) == expected


# --- pandas -------------------------------------------------------------------------------


def make_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.arange(5, dtype="int64"),
            "f": np.linspace(0, 1, 5),
            "s": ["a", "b", None, "d", "e"],
            "o": pd.Series([1, "1", None, 2.0, (1,)], dtype=object),
            "c": pd.Categorical(list("xyxzy")),
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "t": pd.date_range("2020-01-01", periods=5, tz="Europe/Paris"),
        },
        index=pd.Index(list("vwxyz"), name="key"),
    )


def test_pandas_equal_frames_hash_equal() -> None:
    df = make_frame()
    assert hash_value(df) == hash_value(df.copy())
    assert hash_value(df) == hash_value(df.copy(deep=True))
    rebuilt_frame = pd.DataFrame({c: df[c].copy() for c in df.columns}, index=df.index.copy())
    assert hash_value(df) == hash_value(rebuilt_frame)
    assert hash_value(df) == hash_value(df[list(df.columns)])
    assert hash_value(df["f"]) == hash_value(df["f"].copy())
    assert hash_value(df.index) == hash_value(pd.Index(list("vwxyz"), name="key"))


def test_pandas_changes_change_the_hash() -> None:
    df = make_frame()
    base = hash_value(df)
    cell = df.copy()
    cell.iloc[1, 1] = 0.3
    renamed = df.rename(columns={"f": "g"})
    reindexed = df.set_axis(list("abcde"))
    index_renamed = df.rename_axis("other")
    retyped = df.astype({"i": "int32"})
    reordered = df[list(df.columns)[::-1]]
    rows_reordered = df.iloc[::-1]
    changes = [cell, renamed, reindexed, index_renamed, retyped, reordered, rows_reordered]
    ids = [hash_value(x) for x in changes]
    assert base not in ids and len(set(ids)) == len(ids)
    s = df["f"]
    assert hash_value(s) != hash_value(s.rename("other"))
    assert hash_value(s) != hash_value(s.to_numpy())


def test_pandas_object_and_string_columns_are_exact() -> None:
    # pandas.util.hash_pandas_object would collide on these (it hashes str(value)).
    assert hash_value(pd.Series([1], dtype=object)) != hash_value(pd.Series(["1"], dtype=object))
    none = pd.Series([None], dtype=object)
    assert hash_value(none) != hash_value(pd.Series(["None"], dtype=object))
    assert hash_value(pd.Series(["a", None])) != hash_value(pd.Series(["a", "nan"]))
    nullable = pd.Series(["a", None], dtype="string")
    assert hash_value(nullable) != hash_value(pd.Series(["a", "<NA>"], dtype="string"))


def test_pandas_masked_values_ignore_what_lies_under_the_mask() -> None:
    a = pd.array([1, 2, 3], dtype="Int64")
    b = pd.array([1, 99, 3], dtype="Int64")
    a[1] = pd.NA
    b[1] = pd.NA
    assert hash_value(pd.Series(a)) == hash_value(pd.Series(b))
    assert hash_value(pd.Series(a)) != hash_value(pd.Series([1, 0, 3], dtype="Int64"))


def test_pandas_indexes() -> None:
    assert hash_value(pd.RangeIndex(3)) == hash_value(pd.Index([0, 1, 2], dtype="int64"))
    assert hash_value(pd.RangeIndex(3)) != hash_value(pd.RangeIndex(4))
    assert hash_value(pd.RangeIndex(0, 10, 2)) == hash_value(pd.Index(range(0, 10, 2)))
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    assert hash_value(frame) == hash_value(frame.set_axis(pd.Index([0, 1])))
    mi = pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["n", "l"])
    same = pd.MultiIndex.from_arrays([[1, 2], ["a", "b"]], names=["n", "l"])
    assert hash_value(mi) == hash_value(same)
    assert hash_value(mi) != hash_value(mi.set_names(["n", "m"]))
    other = pd.MultiIndex.from_tuples([(1, "a"), (2, "c")], names=["n", "l"])
    assert hash_value(mi) != hash_value(other)
    # Categories hold their order: same values, different category order, different dtype codes.
    c1 = pd.CategoricalIndex(["a", "b"], categories=["a", "b"])
    c2 = pd.CategoricalIndex(["a", "b"], categories=["b", "a"])
    assert hash_value(c1) != hash_value(c2)
    assert hash_value(c1) != hash_value(pd.Index(["a", "b"]))
    # Labels: object and string Indexes of the same strings hash alike (pandas 2 vs 3).
    assert hash_value(pd.Index(["a", "b"], dtype=object)) == hash_value(pd.Index(["a", "b"]))
    assert hash_value(pd.Index(["a", "b"], dtype="string")) == hash_value(pd.Index(["a", "b"]))
    assert hash_value(pd.Index(["1"], dtype=object)) != hash_value(pd.Index([1], dtype=object))
    assert hash_value(pd.Index([1], dtype=object)) != hash_value(pd.Index([1], dtype="int64"))
    assert hash_value(pd.Categorical(["a", "b"])) == hash_value(pd.Categorical(["a", "b"]))


def test_pandas_large_range_index_streams() -> None:
    n = 3 * hashing._CHUNK_ITEMS + 5
    assert hash_value(pd.RangeIndex(n)) == hash_value(pd.Index(np.arange(n)))


def test_pandas_unhashable_cell_path() -> None:
    frame = pd.DataFrame({"x": pd.Series([1, threading.Lock()], dtype=object)})
    with pytest.raises(HashingError, match=r"_thread.lock at df\['x'\]\[1\]"):
        hash_value(frame, path="df")


# --- raw bytes and files ----------------------------------------------------------------------


def test_hash_bytes_file_and_streaming(tmp_path: pathlib.Path) -> None:
    data = os.urandom(3 * 2**20 + 17)
    target = tmp_path / "blob.bin"
    target.write_bytes(data)
    expected = hash_bytes(data)
    assert len(expected) == 32
    assert hash_file(target) == expected
    assert hash_file(str(target), chunk_size=4096) == expected
    assert hash_bytes(memoryview(data)) == expected
    hasher = new_hasher()
    for i in range(0, len(data), 1000):
        hasher.update(data[i : i + 1000])
    assert hasher.hexdigest() == expected
    assert hash_bytes(b"") == hash_file(_empty(tmp_path))
    assert hash_bytes(b"abc") != hash_value(b"abc")  # raw content, not a value id
    with pytest.raises(ValueError):
        hash_file(target, chunk_size=0)


def _empty(tmp_path: pathlib.Path) -> pathlib.Path:
    p = tmp_path / "empty"
    p.write_bytes(b"")
    return p


# --- import hygiene -------------------------------------------------------------------------


def test_import_does_not_import_numpy_or_pandas() -> None:
    # Load the module under a bare package object so that only hashing.py (and errors.py)
    # are exercised, whatever the package __init__ imports.
    script = f"""
import sys, types
package = types.ModuleType("provenance")
package.__path__ = [{str(REPO_ROOT / "provenance")!r}]
sys.modules["provenance"] = package
import provenance.hashing as h
h.hash_value([1, "a", {{"b": 2.0}}, (None, b"x"), {{1, 2}}])
print(",".join(m for m in ("numpy", "pandas") if m in sys.modules))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        payload = {"scheme": HASH_SCHEME, "ids": compute_golden_ids()}
        GOLDEN_FILE.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        print(f"wrote {len(payload['ids'])} ids to {GOLDEN_FILE}")
    else:
        print(json.dumps(compute_golden_ids(), indent=2))
