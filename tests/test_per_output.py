"""Each output judged on its own scale, element counts on the criterion of the error, and
round-off notes that name only what was measured (issue 20, deliverables 1 and 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symcheck.api import check_equivariance
from symcheck.core.caseid import CaseId, GroupSet
from symcheck.engine.cases import CaseBatch
from symcheck.engine.evaluate import BatchEvaluation, compare_batch, output_scales
from symcheck.engine.precision import Calibration

SIZES = {"n": 6, "d": 4}
FIELD = np.array([1.0, 0.0, 0.0, 0.0])


def attention(x: np.ndarray) -> np.ndarray:
    s = x @ x.T / 2.0
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ x


def _batch(fx: list[np.ndarray], fgx: list[np.ndarray]) -> BatchEvaluation:
    """One case with the given outputs, g·f(x) = f(x) (no element is applied: comparing needs
    only the outputs)."""
    case = CaseId(GroupSet(("S(n)",)), "haar", 0)
    return BatchEvaluation(CaseBatch([case], [np.zeros((1, 2))], []),
                           [a[None] for a in fx], [a[None] for a in fgx],
                           [a[None] for a in fx])


@pytest.mark.parametrize(("fx", "fgx", "worst", "error"), [
    # an energy of 1e4 and forces of 1 with a 1e-6 relative violation: pooled 1e-10
    ([np.array(1e4), np.ones(3)], [np.array(1e4), np.ones(3) + 1e-6 * FIELD[:3]], 1, 5.8e-7),
    # the violation in the large output instead: judged on the large output's scale
    ([np.array(1e4), np.ones(3)], [np.array(1e4 * (1 + 1e-6)), np.ones(3)], 0, 1e-6),
    # an output at round-off of the other is judged on the whole output's scale
    ([np.ones(3), np.full(2, 1e-18)], [np.ones(3), np.full(2, -1e-18)], 1, 1.6e-18),
])
def test_each_output_is_judged_on_its_own_scale(fx: list[np.ndarray], fgx: list[np.ndarray],
                                               worst: int, error: float) -> None:
    (r,) = compare_batch(_batch(fx, fgx), 1e-9)
    assert r.where[0] == worst
    assert r.error == pytest.approx(error, rel=0.05)
    assert r.error == max(r.outputs) and r.pooled <= r.error


@pytest.mark.parametrize("size", [12, 37, 400])
def test_a_case_above_its_tolerance_has_an_element_that_differs(size: int) -> None:
    """One huge element and a violation spread evenly: the norm-wise error is 3× the tolerance
    while no element differs by the tolerance × the largest |g·f(x)| (the old count: 0/N next
    to the largest difference); counted against the output's RMS, every element does."""
    tol = 1e-9
    out = np.ones(size)
    out[0] = 1e6
    spread = 3 * tol * np.linalg.norm(out) / np.sqrt(size)
    (r,) = compare_batch(_batch([out], [out + spread]), tol)
    assert r.error == pytest.approx(3 * tol, rel=1e-6)
    assert np.count_nonzero(spread > tol * np.abs(out).max()) == 0  # the old criterion
    assert r.mismatched == r.total == size
    assert r.max_abs == pytest.approx(spread)


def test_output_scales_keeps_a_vanishing_output_off_its_own_scale() -> None:
    norms = np.array([[3.0, 4.0, 1e-17], [3.0, 4.0, 1.0]])
    assert output_scales(norms, norms, "float64").tolist() == [[3.0, 4.0, 5.0], [3.0, 4.0, 1.0]]


def test_calibration_has_a_tolerance_per_output() -> None:
    cal = Calibration(3e-5, "calibrated", 1e-7, floor=1e-6, draws=6, rhos=(1e-7, 1e-5))
    assert cal.for_outputs(2) == pytest.approx((1e-6, 3e-5)) and cal.level == 1e-5
    assert "output 1: ρ = 1.00e-05" in cal.describe()
    assert Calibration(1e-9, "table").for_outputs(3) == (1e-9,) * 3


def energy_and_forces(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"energy": np.asarray(1e4 + np.sum(x**2)), "forces": attention(x)}


def planted(x: np.ndarray) -> dict[str, np.ndarray]:
    out = energy_and_forces(x)
    forces = out["forces"]
    return {**out, "forces": forces + 1e-6 * np.sqrt(np.mean(forces**2)) * FIELD}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("model", "passed"), [(energy_and_forces, True), (planted, False)])
def test_a_small_output_is_not_hidden_by_a_large_one(model: object, passed: bool,
                                                    seed: int) -> None:
    r = check_equivariance(model, "n d", ["energy=", "forces=n d"], ["O(d)", "S(n)"], SIZES,
                           seed=seed, trials=5)
    assert r.passed is passed
    o = r.groups[0]
    rows = o.output_rows()
    assert [row["label"] for row in rows] == ["output 0 (energy)", "output 1 (forces)"]
    if not passed:
        assert not rows[1]["passed"] and rows[0]["passed"]
        assert o.worst.where[0] == 1
        assert o.measurement.pooled_stat(100) < o.tolerance < o.measurement.stat(100)
    report = r.to_dict()["groups"][0]
    assert [row["output"] for row in report["outputs"]] == [0, 1] and "pooled" in report
    assert len(report["worst"]["outputs"]) == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_identically_zero_output_is_no_failure(seed: int) -> None:
    """An invariant that is zero, and one at round-off (a sum minus the same sum reordered),
    next to an equivariant output: their own norms are ~0, so they are judged on the whole
    output's scale, never round-off over round-off."""

    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return attention(x), np.zeros(()), np.asarray(x.sum() - x[::-1].T.sum())

    r = check_equivariance(model, "n d", ["n d", "", ""], ["O(d)", "S(n)"], SIZES, seed=seed,
                           trials=5)
    assert r.passed, r


HUGE_ENERGY = '''
import numpy as np
import symcheck

P = np.random.default_rng(5).standard_normal((64, 3))

@symcheck.equivariant(inputs=["n c:point"], output=["", "n c"], groups=["E(c)"],
                      sizes={"n": 6, "c": 3})
def broken_forces(x):
    xc = x - x.mean(0)
    return 1e14 * np.linalg.norm(xc), -2 * xc + 0.6 * np.linalg.norm(xc) / 4.2 * P[:len(x)]

@symcheck.equivariant(inputs=["n c:point"], output=["", "n c"], groups=["E(c)"],
                      sizes={"n": 6, "c": 3})
def forces(x):
    xc = x - x.mean(0)
    return 1e14 * np.linalg.norm(xc), -2 * xc
'''


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_energy_of_1e14_does_not_make_the_forces_its_round_off(cli: Any, tmp_path: Path,
                                                                  seed: int) -> None:
    """An output far below the others is judged on its own scale unless it is small against
    the inputs too: forces of ~1 beside an energy of 1e14 are not round-off of the energy."""
    (tmp_path / "m.py").write_text(HUGE_ENERGY)
    bad = cli("equivariance", f"{tmp_path / 'm.py'}:broken_forces", "--seed", str(seed))
    assert bad.exit_code == 1 and "output 1: relative error" in bad.output, bad.output
    assert cli("equivariance", f"{tmp_path / 'm.py'}:forces", "--seed",
               str(seed)).exit_code == 0


def test_a_calibrated_tolerance_is_printed_in_the_digits_it_needs() -> None:
    from symcheck.report import fmt_tolerance

    assert fmt_tolerance(1e-9) == "1e-09" and fmt_tolerance(1e-6) == "1e-06"
    assert fmt_tolerance(1.3e-7) == "1.3e-07"  # one digit would print 1e-07 beside 1.21e-07
    assert fmt_tolerance(5.6e-8) == "5.6e-08"
