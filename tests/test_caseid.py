"""Case identity as a value: every case the engine makes prints as its label and reads back
from ``GROUP/CASE`` as the same value; what is not a label is refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.core.caseid import CaseId, GroupSet, UnknownCase
from symcheck.core.errors import SpecError
from symcheck.core.signature import Signature
from symcheck.engine.cases import (
    case_batches,
    input_probe_batch,
    search_case,
    size_probe_batch,
)
from symcheck.engine.equivariance import EquivarianceResult
from symcheck.engine.problem import resolve

ORTH, S = GroupSet(("O(d)",)), GroupSet(("S(n)",))
OS = GroupSet(("O(d)", "S(n)"))

# (value, its label): one row per kind, single groups and products, plain and size probes
LABELS: list[tuple[CaseId, str]] = [
    (CaseId(ORTH, "haar", 3), "haar:3"),
    (CaseId(ORTH, "identity", 0), "identity:0"),
    (CaseId(S, "input", 2, probe="one-hot"), "input:one-hot:2"),
    (CaseId(ORTH, "probe", probe="reflection-e1", factor="O(d)"), "probe:reflection-e1"),
    (CaseId(OS, "probe", probe="reflection-e1", factor="O(d)"), "probe:O(d):reflection-e1"),
    (CaseId(OS, "probe", probe="cyclic-shift", factor="S(n)"), "probe:S(n):cyclic-shift"),
    (CaseId(OS, "haar", 11), "haar:11"),
    (CaseId(ORTH, "search"), "search"),
    (CaseId(OS, "search"), "search"),
    (CaseId(S, "haar", 0, size=("n", 25)), "size:n=25:haar:0"),
    (CaseId(S, "probe", probe="transposition-01", factor="S(n)", size=("n", 1)),
     "size:n=1:probe:transposition-01"),
    (CaseId(OS, "probe", probe="transposition-01", factor="S(n)", size=("n", 25)),
     "size:n=25:probe:S(n):transposition-01"),
]


@pytest.mark.parametrize(("case", "label"), LABELS, ids=[lab for _, lab in LABELS])
def test_a_case_prints_as_its_label_and_parses_back(case: CaseId, label: str) -> None:
    assert str(case) == label
    assert case.ref == f"{case.groups}/{label}"
    assert CaseId.parse(case.ref) == case


def test_a_product_is_shown_with_times_and_read_with_an_ascii_x() -> None:
    assert str(OS) == "O(d) × S(n)" and OS.product and not ORTH.product
    case = CaseId(OS, "haar", 0)
    assert CaseId.parse("O(d) x S(n)/haar:0") == CaseId.parse("O(d) × S(n)/haar:0") == case


@pytest.mark.parametrize("sizes", [{"n": 4, "d": 3}])
@pytest.mark.parametrize("groups", [("S(n)",), ("O(d)",), ("O(d)", "S(n)")])
def test_every_case_the_engine_makes_round_trips(groups: tuple[str, ...],
                                                 sizes: dict[str, int]) -> None:
    p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), groups, sizes))
    group_set = tuple(p.groups)
    cases = [*case_batches(p, group_set, 0, 3).labels]
    probes = input_probe_batch(p, group_set, 0)
    assert probes is not None
    cases += probes.labels
    small = p.resized("n", 2)
    cases += size_probe_batch(small, tuple(small.groups), 0, "n", 2).labels
    cases.append(search_case([(g, g.identity()) for g in group_set]))
    kinds = {c.kind for c in cases}
    assert kinds == {"haar", "probe", "identity", "input", "search"}
    assert any(c.size == ("n", 2) for c in cases)
    labels = [str(c) for c in cases]
    assert len(set(labels)) == len(labels), "two cases share a label"
    for c in cases:
        assert CaseId.parse(c.ref) == c, c.ref
        assert str(c.groups) == " × ".join(groups)


@pytest.mark.parametrize("text", [
    "O(d)/haar:03", "O(d)/haar:x", "O(d)/haar", "O(d)/probe:O(d):reflection-e1",
    "O(d) × S(n)/probe:reflection-e1", "O(d)/size:n=2:search", "O(d)/size:n=2:identity:0",
    "O(d)/size:n:haar:0", "O(d)/search:1", "O(d)/input:one-hot", "O(d)/bogus",
    "O(d)/calibrate:x",
])
def test_what_no_case_prints_as_is_refused(text: str) -> None:
    with pytest.raises(UnknownCase) as info:
        CaseId.parse(text)
    assert info.value.case == text.rpartition("/")[2]
    assert str(info.value.groups) == text.rpartition("/")[0]


@pytest.mark.parametrize("text", ["haar:0", "", "O(d)"])
def test_text_without_a_group_is_not_group_slash_case(text: str) -> None:
    with pytest.raises(SpecError, match="not GROUP/CASE") as info:
        CaseId.parse(text)
    assert not isinstance(info.value, UnknownCase)


def test_cases_are_equal_by_value_and_hashable() -> None:
    assert CaseId(ORTH, "haar", 1) == CaseId(GroupSet(("O(d)",)), "haar", 1)
    assert CaseId(ORTH, "haar", 1) != CaseId(S, "haar", 1)  # another group set
    assert CaseId(S, "haar", 0) != CaseId(S, "haar", 0, size=("n", 25))
    assert len({CaseId(ORTH, "haar", 1), CaseId(ORTH, "haar", 1), CaseId(ORTH, "identity", 1)}) == 2


def _double(x: np.ndarray) -> np.ndarray:
    return 2.0 * x


def _check(case: str | None = None) -> EquivarianceResult:
    return check_equivariance(_double, "n d", "n d", ["O(d)", "S(n)"], {"n": 4, "d": 3},
                              trials=3, case=case)


def test_every_reported_case_replays_alone_through_case() -> None:
    """What a check reports is what ``case=`` takes back (an ASCII ``x`` for a product): one
    case of each kind and group set runs alone, under the same label, to the same error."""
    full = _check()
    picked = {}
    for g in full.groups:
        for c in g.measurement.cases:
            picked.setdefault((g.name, c.case_id.kind, c.case_id.size is None), c)
    assert {k for _, k, _ in picked} == {"haar", "probe", "input"}
    assert any(not plain for _, _, plain in picked)  # size probes too
    for (name, _, _), c in picked.items():
        for text in (c.case_id.ref, c.case_id.ref.replace(" × ", " x ")):
            (only,) = [g for g in _check(text).groups if g.name == name]
            assert [r.case for r in only.measurement.cases] == [c.case], text
            assert only.measurement.cases[0].error == pytest.approx(c.error, abs=1e-12)


@pytest.mark.parametrize(("case", "message"), [
    ("S(n)/haar:03", "no case 'haar:03' in S(n)"),  # not a label: no such case, as before
    ("O(d) x S(n)/probe:reflection-e1", "no case 'probe:reflection-e1' in O(d) × S(n)"),
    ("S(n)/haar:99", "no case 'haar:99' in S(n)"),
    ("Q(n)/haar:0", "is not GROUP/CASE with GROUP one of"),
    ("haar:0", "is not GROUP/CASE with GROUP one of"),
    ("S(n)/search", "is the search's case"),
])
def test_a_case_that_names_nothing_is_refused(case: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        _check(case)
