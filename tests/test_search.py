"""Batched cases, the worst-case local search, and counterexample files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import symcheck
from symcheck.api import check_equivariance
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

PLANTED = '''
import numpy as np
import symcheck


@symcheck.equivariant(inputs="n d", output="n d", groups="O(d)", sizes={"n": 2, "d": 32},
                      rtol=1e-6)
def planted(x):
    """O(d)-equivariant but for a term exp(30·cos θ)·1e-14, θ the angle of token 0 to e1:
    below 1e-9 for all but a 4-sigma-rare set of rotations, 1e-2 at θ = 0."""
    c = x[0, 0] / np.linalg.norm(x[0])
    y = x.copy()
    y[0, 0] += FIX * 1e-14 * np.exp(30.0 * c)
    return y
'''


def planted_model(tmp_path: Path, fixed: bool = False) -> Path:
    path = tmp_path / ("fixed.py" if fixed else "planted.py")
    path.write_text(f"FIX = {0.0 if fixed else 1.0}\n" + PLANTED)
    return path


def _planted(x: np.ndarray) -> np.ndarray:
    c = x[0, 0] / np.linalg.norm(x[0])
    y = x.copy()
    y[0, 0] += 1e-14 * np.exp(30.0 * c)
    return y


ARGS = ("n d", "n d", "O(d)", {"n": 2, "d": 32})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_finds_a_planted_violation_that_100_haar_draws_miss(seed: int) -> None:
    haar = check_equivariance(_planted, *ARGS, trials=100, rtol=1e-6, seed=seed, probes=False)
    assert haar.passed, "the planted violation should be invisible to Haar sampling"
    searched = check_equivariance(_planted, *ARGS, trials=100, rtol=1e-6, seed=seed,
                                  search=400, probes=False)
    m = searched.groups[0].measurement
    assert not searched.passed
    assert m.worst.case == "search" and m.worst.error > 1e-5


def test_search_never_reports_less_than_the_random_trials() -> None:
    w = np.random.default_rng(0).standard_normal((3, 3))

    def f(x: np.ndarray) -> np.ndarray:
        return np.tanh(x @ w)

    plain = check_equivariance(f, "n d", "n d", ["O(d)", "S(n)"], {"n": 5, "d": 3}, seed=4)
    searched = check_equivariance(f, "n d", "n d", ["O(d)", "S(n)"], {"n": 5, "d": 3}, seed=4,
                                  search=60)
    for a, b in zip(plain.groups, searched.groups, strict=True):
        assert b.measurement.cases[-1].case == "search"
        assert b.measurement.stat(100) >= a.measurement.stat(100)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_an_axis_aligned_needle_is_found_by_the_probes_and_the_search(seed: int) -> None:
    """With probes (the default) the one-hot probe reaches it; the search from the probes
    climbs to the worst case."""
    probed = check_equivariance(_planted, *ARGS, trials=20, rtol=1e-6, seed=seed)
    assert not probed.passed and probed.groups[0].measurement.worst.case.startswith("input:")
    searched = check_equivariance(_planted, *ARGS, trials=20, rtol=1e-6, seed=seed, search=100)
    assert searched.groups[0].measurement.stat(100) >= probed.groups[0].measurement.stat(100)


def test_search_case_replays_exactly() -> None:
    first = check_equivariance(_planted, *ARGS, trials=20, rtol=1e-6, seed=1, search=200)
    again = check_equivariance(_planted, *ARGS, trials=20, rtol=1e-6, seed=1, search=200,
                               case="O(d)/search")
    assert again.groups[0].measurement.cases[0].error == first.groups[0].measurement.cases[-1].error


def test_batched_and_per_case_calls_give_the_same_numbers() -> None:
    calls = {"n": 0}

    @symcheck.equivariant(inputs="b n d", output="b n d", groups=["O(d)", "S(n)"],
                          sizes={"b": 2, "n": 5, "d": 4})
    def attention(x: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        s = np.einsum("bid,bjd->bij", x, x)
        w = np.exp(s - s.max(-1, keepdims=True))
        return np.einsum("bij,bjd->bid", w / w.sum(-1, keepdims=True), x)

    batched = check_equivariance(attention, trials=16, seed=2, probes=False)
    n_batched, calls["n"] = calls["n"], 0
    single = check_equivariance(attention, trials=16, seed=2, batch=False, probes=False)
    assert n_batched == 2 * 3  # two calls per group set: f(x) and f(g·x) for every case at once
    assert calls["n"] > 10 * n_batched
    for a, b in zip(batched.groups, single.groups, strict=True):
        assert [c.case for c in a.measurement.cases] == [c.case for c in b.measurement.cases]
        np.testing.assert_allclose(a.measurement.errors, b.measurement.errors, atol=1e-14)


def test_a_leading_unacted_axis_that_is_not_b_is_not_batched() -> None:
    """The chiral sample averages over tokens: stacking cases along n would be wrong."""
    def mean_mix(x: np.ndarray) -> np.ndarray:
        return x + x.mean(axis=0)

    r = check_equivariance(mean_mix, "n d", "n d", "O(d)", {"n": 4, "d": 3})
    assert r.passed


W_FRAME = np.random.default_rng(7).standard_normal((4, 4)) / 2


def framed(x: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """O(d)-equivariant through a frame the group turns with the tokens: ``x Fᵀ`` is invariant,
    ``… F`` turns back (how the weights path co-transforms a layer)."""
    return np.tanh(x @ np.swapaxes(frame, -1, -2) @ W_FRAME) @ frame


def test_a_fixed_input_that_leads_with_b_is_stacked_with_the_cases() -> None:
    """The engine batches when every fixed input leads with the batch label too: each case's
    copy of it is turned by that case's element and stacked along ``b`` like the drawn inputs,
    with the numbers of one call per case. A fixed input without ``b`` leaves one call each."""
    from symcheck.core.options import Measure
    from symcheck.core.signature import Signature
    from symcheck.engine.equivariance import measure_equivariance
    from symcheck.engine.problem import resolve

    calls: list[int] = []

    def model(x: np.ndarray, frame: np.ndarray) -> np.ndarray:
        calls.append(x.shape[0])
        return framed(x, frame)

    signature = Signature.parse(("b n d", "b e d"), ("b n d",), ("O(d)",), {"b": 1, "n": 5})
    problem = resolve(model, signature, data=[None, np.eye(4)[None]])
    assert problem.batch_label == "b"
    options = Measure(trials=6, probes=False)
    (batched,) = measure_equivariance(problem, options)
    assert len(calls) == 2 and calls[0] > 6  # f(x) and f(g·x), every case in one call
    calls.clear()
    (single,) = measure_equivariance(problem, replace(options, batch=False))
    assert len(calls) > 6 and set(calls) == {1}
    assert max(batched.errors) < 1e-14  # each case's frame turned by its own element
    np.testing.assert_allclose(batched.errors, single.errors, atol=1e-14)
    w = np.random.default_rng(1).standard_normal((3, 4))
    unbatched = resolve(lambda x, w: x @ w.T @ w, Signature.parse(("b n d", "k d"), ("b n d",),
                                                          ("O(d)",), {"b": 1, "n": 5}),
                        data=[None, w])
    assert unbatched.batch_label is None


def test_another_function_measured_on_given_cases() -> None:
    """A check keeps the cases it measured; another function of the same specs is measured on
    exactly those (the same elements and inputs), nothing drawn or searched anew. The same
    function on its own cases measures the same errors, case by case."""
    from symcheck.core.errors import SpecError
    from symcheck.core.options import Measure
    from symcheck.core.signature import Signature
    from symcheck.engine.equivariance import check_problem
    from symcheck.engine.problem import resolve

    signature = Signature.parse(("b n d", "b e d"), ("b n d",), ("O(d)", "S(n)"), {"b": 1, "n": 5})
    first = check_problem(resolve(framed, signature, data=[None, np.eye(4)[None]]),
                          Measure(seed=3, trials=5, search=20))
    drawn = {g.measurement.name: g.measurement.drawn for g in first.groups}
    assert [d.kind for d in drawn["O(d)"]][:2] == ["main", "input"]
    assert drawn["O(d)"][-1].kind == "search"
    again = check_problem(resolve(framed, signature, data=[None, np.eye(4)[None]]),
                          Measure(seed=99, trials=50, search=500), given=drawn)
    for a, b in zip(first.groups, again.groups, strict=True):
        assert [c.case for c in a.measurement.cases] == [c.case for c in b.measurement.cases]
        np.testing.assert_array_equal(a.measurement.errors, b.measurement.errors)
        for d, e in zip(a.measurement.drawn, b.measurement.drawn, strict=True):
            for (_, x), (_, y) in zip(d.elements, e.elements, strict=True):
                np.testing.assert_array_equal(x.matrices(), y.matrices())

    def shifted(x: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return framed(x, frame) + 0.1  # breaks O(d), keeps S(n)

    other = check_problem(resolve(shifted, signature, data=[None, np.eye(4)[None]]),
                          Measure(), given={"O(d)": drawn["O(d)"]})
    (only,) = other.groups  # only the group set given
    assert only.measurement.name == "O(d)" and not only.passed
    assert [c.case for c in only.measurement.cases] == \
        [c.case for c in first.groups[0].measurement.cases]
    with pytest.raises(SpecError, match="not a group set"):
        check_problem(resolve(framed, signature, data=[None, np.eye(4)[None]]),
                      Measure(), given={"SO(d)": drawn["O(d)"]})
    # the user's data is probed like a draw: the cases keep it as probed
    data = np.random.default_rng(4).standard_normal((5, 3))
    user = resolve(lambda x: x + x[:1], Signature.parse(("n d",), ("n d",), ("S(n)",), {}),
                   data=[data], probe_data=True)
    (measured,) = check_problem(user, Measure(trials=4)).groups
    (remeasured,) = check_problem(user, Measure(), given={
        "S(n)": measured.measurement.drawn}).groups
    assert any(c.case.startswith("input:") for c in measured.measurement.cases)
    np.testing.assert_array_equal(measured.measurement.errors, remeasured.measurement.errors)


def test_counterexample_save_and_replay(cli: Cli, tmp_path: Path) -> None:
    model = planted_model(tmp_path)
    ce = tmp_path / "case.npz"
    r = cli("equivariance", model, "--trials", "50", "--search", "400",
            "--save-counterexample", ce)
    assert r.exit_code == 1
    assert f"counterexample saved: {ce}" in r.stdout
    with np.load(ce, allow_pickle=False) as archive:
        assert {"input_0", "element_0", "f_gx_0", "g_fx_0", "meta"} <= set(archive.files)
        q = archive["element_0"]
    np.testing.assert_allclose(q @ q.T, np.eye(32), atol=1e-12)
    again = cli("replay", ce)
    assert again.exit_code == 1, again.output
    assert "still broken" in again.stdout
    fixed = cli("replay", ce, planted_model(tmp_path, fixed=True))
    assert fixed.exit_code == 0, fixed.output
    assert "no longer fails" in fixed.stdout


def test_passing_check_writes_no_counterexample(cli: Cli, tmp_path: Path) -> None:
    ce = tmp_path / "none.npz"
    r = cli("equivariance", planted_model(tmp_path, fixed=True), "--trials", "3",
            "--save-counterexample", ce)
    assert r.exit_code == 0
    assert not ce.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"garbage", "cannot read"),
     (b"PK", "cannot read"),
     ("npy", "holds a single array")],
)
def test_bad_counterexample_files(cli: Cli, tmp_path: Path, content: bytes | str | None,
                                  message: str) -> None:
    path = tmp_path / "bad.npz"
    if content == "npy":
        path = tmp_path / "matrix.npy"
        np.save(path, np.eye(3))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    r = cli("replay", path)
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.output
