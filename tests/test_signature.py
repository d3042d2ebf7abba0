"""The call's signature: the original's ``provenance.utils`` helpers (issue 14)."""

from __future__ import annotations

import functools
from typing import Any

import provenance as p
import provenance.utils as u


def test_with_merged_defaults_merges_dict_arguments() -> None:
    @u.with_merged_defaults()
    def train(data: int, params: dict[str, Any] = {"lr": 0.1, "epochs": 3}) -> dict[str, Any]:  # noqa: B006
        return {"data": data, **params}

    assert train(1, params={"lr": 0.5}) == {"data": 1, "lr": 0.5, "epochs": 3}
    assert train(1) == {"data": 1, "lr": 0.1, "epochs": 3}

    @u.with_merged_defaults("a")
    def two(a: dict[str, int] = {"x": 1}, b: dict[str, int] = {"y": 2}) -> Any:  # noqa: B006
        return a, b

    assert two(a={"z": 3}, b={"w": 4}) == ({"x": 1, "z": 3}, {"w": 4})


def test_a_decorated_merged_function_shares_ids_between_equal_merged_calls(repo: Any) -> None:
    runs = []

    @p.provenance()
    @u.with_merged_defaults()
    def fit(params: dict[str, Any] = {"lr": 0.1, "epochs": 3}) -> float:  # noqa: B006
        runs.append(params)
        return params["lr"] * params["epochs"]

    assert fit(params={"lr": 0.5}) == 1.5
    assert fit(params={"lr": 0.5, "epochs": 3}) == 1.5
    assert runs == [{"lr": 0.5, "epochs": 3}]


def test_fn_info_of_functions_and_partials() -> None:
    def scale(x: int, factor: int, offset: int = 0) -> int:
        return x * factor + offset

    assert u.fn_info(scale) == {
        "name": "scale",
        "module": __name__,
        "varargs": (),
        "kargs": {},
    }
    info = u.fn_info(functools.partial(scale, 2, offset=1))
    assert info["name"] == "scale" and info["kargs"] == {"x": 2, "offset": 1}
