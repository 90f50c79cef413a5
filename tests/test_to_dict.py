"""One JSON protocol: every result's ``to_dict`` is the one built from its dataclass fields
(``symcheck.core.verdicts.fields_dict``), declared by field metadata and computed keys."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pytest

import symcheck
from symcheck.core.caseid import CaseId, GroupSet
from symcheck.core.groups import GroupName
from symcheck.core.specs import AxisSpec
from symcheck.core.verdicts import SKIP, Computed, Serialised, Verdict, json_key, key, plain

#: classes allowed to write their own ``to_dict`` (none: every result uses the generated one)
OWN_TO_DICT: set[str] = set()


def classes_with_to_dict() -> list[type]:
    """Every class of the package that has a ``to_dict`` (each module imported)."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(symcheck.__path__, "symcheck."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == info.name
                    and dataclasses.is_dataclass(value) and hasattr(value, "to_dict")):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


def own_to_dict(classes: list[type]) -> list[str]:
    """The classes whose ``to_dict`` is not the generated one."""
    return [c.__qualname__ for c in classes
            if getattr(c, "to_dict", None) is not Serialised.to_dict]


CLASSES = classes_with_to_dict()


def test_every_result_class_uses_the_generated_to_dict() -> None:
    assert len(CLASSES) >= 28  # the results, their parts, the recipe, the options
    assert set(own_to_dict(CLASSES)) == OWN_TO_DICT


def test_a_class_that_writes_its_own_to_dict_is_found() -> None:
    """Negative control: an override is what the test above would report."""

    @dataclass
    class Own(Serialised):
        x: int

        def to_dict(self) -> dict[str, Any]:
            return {"x": self.x}

    assert own_to_dict([Own, *CLASSES[:2]]) == [Own.__qualname__]


def layout_problems(cls: type) -> list[str]:
    """What is wrong with a class's JSON declaration: a field neither written nor marked
    SKIP, a skipped field written, a name in ``json_order`` that is no field, a key twice."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    order = getattr(cls, "json_order", None)
    if order is None:
        return []
    names = [e for e in order if isinstance(e, str)]
    problems = [f"{n!r} is not a field" for n in names if n not in fields]
    for name, f in fields.items():
        skipped = json_key(f).skip
        if skipped and name in names:
            problems.append(f"{name!r} is marked SKIP but written")
        if not skipped and name not in names:
            problems.append(f"{name!r} is neither written nor marked SKIP")
    keys = [e.key if isinstance(e, Computed) else json_key(fields[e]).name or e
            for e in order if isinstance(e, Computed) or e in fields]
    problems += [f"key {k!r} twice" for k in set(keys) if keys.count(k) > 1]
    return problems


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
def test_the_json_order_accounts_for_every_field(cls: type) -> None:
    assert layout_problems(cls) == []


def test_a_forgotten_field_is_found() -> None:
    """Negative control: a field left out of ``json_order`` without SKIP, a stale name."""

    @dataclass
    class Forgot(Serialised):
        a: int
        b: int
        json_order = ("a", "c")

    assert layout_problems(Forgot) == ["'c' is not a field",
                                       "'b' is neither written nor marked SKIP"]


class Colour(Enum):
    RED = "red"


@dataclass
class Inner(Serialised):
    value: float
    hidden: str = field(default="x", metadata=SKIP)


@dataclass(frozen=True)
class Plain:  # a dataclass without to_dict or a display form: written by its fields
    eps1: float
    eps2: float


@dataclass
class Outer(Serialised):
    name: str = field(metadata=key("model"))
    inner: Inner
    arrays: tuple[np.ndarray, np.float32, np.int64]
    extra: dict[str, Any] = field(default_factory=dict, metadata=key(spread=True))
    fold: Inner | None = field(default=None, metadata=key(omit_none=True))
    where: tuple[int, int] = field(default=(1, 2), metadata=key(
        convert=lambda w: {"output": w[0], "index": w[1]}))
    params: Any = field(default=None, metadata=SKIP)

    json_order = ("name", Computed("twice", lambda o: 2 * o.inner.value), "inner", "arrays",
                  Computed("value", "inner.value"), "where", "extra", "fold")


CONVERSIONS = [
    # (value, what JSON carries)
    (Verdict.NON_FINITE, "non-finite"),
    (Colour.RED, "red"),
    (np.float64(0.25), 0.25),
    (np.array([[1, 2]], dtype=np.int32), [[1, 2]]),
    ((1, (2, 3)), [1, [2, 3]]),
    ({"a": (np.bool_(True),)}, {"a": [True]}),
    (CaseId(GroupSet(("O(d)", "S(n)")), "haar", 3), "haar:3"),
    (GroupSet(("O(d)", "S(n)")), "O(d) × S(n)"),
    (AxisSpec.parse("forces=n c:point"), "forces=n c:point"),
    (GroupName.parse("O(d)"), "O(d)"),
    (Plain(0.1, 0.2), {"eps1": 0.1, "eps2": 0.2}),
    (Inner(1.5), {"value": 1.5}),
    (None, None),
]


@pytest.mark.parametrize(("value", "want"), CONVERSIONS, ids=lambda v: type(v).__name__)
def test_plain_converts_each_kind_of_value(value: Any, want: Any) -> None:
    got = plain(value)
    assert got == want
    assert type(got) is type(want)


def test_the_generated_to_dict_renames_skips_spreads_converts_and_computes() -> None:
    outer = Outer("m", Inner(0.5, "secret"), (np.arange(3), np.float32(0.5), np.int64(7)),
                  extra={"k": Verdict.PASS}, params=np.zeros(4))
    got = outer.to_dict()
    assert got == {"model": "m", "twice": 1.0, "inner": {"value": 0.5},
                   "arrays": [[0, 1, 2], 0.5, 7], "value": 0.5,
                   "where": {"output": 1, "index": 2}, "k": "pass"}
    assert list(got) == ["model", "twice", "inner", "arrays", "value", "where", "k"]
    assert type(got["arrays"][2]) is int
    folded = dataclasses.replace(outer, fold=Inner(2.0)).to_dict()
    assert list(folded)[-1] == "fold" and folded["fold"] == {"value": 2.0}


def test_without_json_order_the_fields_are_written_in_their_order() -> None:
    assert list(Inner(1.0).to_dict()) == ["value"]
    assert list(symcheck.core.options.Measure().to_dict())[:2] == ["trials", "seed"]
