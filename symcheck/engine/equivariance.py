"""Measure every group of a problem, then judge the numbers against a tolerance.

Measuring and judging are separate (as in e3nn): :func:`measure_equivariance` returns numbers
only; :func:`judge` compares them with a tolerance.

>>> import numpy as np
>>> from symcheck.core.signature import DEFAULT_TRIALS, Signature
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> [g.verdict.value for g in judge(measure_equivariance(p, MeasureOptions(trials=3)), 1e-9)]
['pass']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.signature import DEFAULT_TRIALS
from symcheck.core.tolerances import tolerance_for
from symcheck.core.verdicts import Verdict
from symcheck.engine.cases import NOISE_REPEATS, case_batches, case_rng, set_name
from symcheck.engine.evaluate import CaseResult, Evaluation, compare_batch, evaluate_batch
from symcheck.engine.problem import _NUMPY_FLOATS, Problem
from symcheck.engine.search import search_worst

Array = np.ndarray

SEARCH_STARTS = 4


@dataclass
class GroupMeasurement:
    """All cases measured for one group, or for the product of all declared groups."""

    name: str
    factors: tuple[str, ...]
    #: the label each factor acts on (same order as ``factors``)
    labels: tuple[str, ...]
    cases: list[CaseResult]
    noise_floor: float
    seconds: float
    #: the arrays of the worst case (for counterexample files); not part of the report
    worst_evaluation: Evaluation | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> Array:
        return np.array([c.error for c in self.cases], dtype=np.float64)

    @property
    def finite(self) -> bool:
        return all(c.finite for c in self.cases)

    def stat(self, q: float) -> float:
        e = self.errors
        e = e[np.isfinite(e)]
        return float(np.percentile(e, q)) if e.size else float("nan")

    @property
    def worst(self) -> CaseResult:
        """The non-finite case if any, else the case with the largest error."""
        bad = [c for c in self.cases if not c.finite]
        return bad[0] if bad else max(self.cases, key=lambda c: c.error)


@dataclass
class GroupResult:
    """A :class:`GroupMeasurement` with its tolerance and verdict."""

    measurement: GroupMeasurement
    tolerance: float
    verdict: Verdict  # PASS | FAIL | NON_FINITE

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        m = self.measurement
        worst = m.worst
        return {
            "group": m.name, "factors": list(m.factors), "verdict": self.verdict,
            "trials": len(m.cases), "max": m.stat(100), "median": m.stat(50), "p99": m.stat(99),
            "tolerance": self.tolerance, "noise_floor": m.noise_floor, "seconds": m.seconds,
            "worst": worst.to_dict(), "cases": [c.to_dict() for c in m.cases],
        }


@dataclass
class EquivarianceResult:
    """Everything one check measured and decided; :meth:`to_dict` is the JSON report."""

    model: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sizes: dict[str, int]
    dtype: str
    seed: int
    trials: int
    tolerance: float
    groups: list[GroupResult]
    data_source: str = "random"
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.groups)

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(g.verdict for g in self.groups)

    def worst_failure(self) -> GroupResult | None:
        failing = [g for g in self.groups if not g.passed]
        return max(failing, key=lambda g: _order(g.measurement.worst.error)) if failing else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "verdict": self.verdict, "seed": self.seed,
            "trials": self.trials, "dtype": self.dtype, "tolerance": self.tolerance,
            "inputs": list(self.inputs), "outputs": list(self.outputs), "sizes": self.sizes,
            "data": self.data_source, "warnings": self.warnings,
            "groups": [g.to_dict() for g in self.groups],
        }


def _order(error: float) -> float:
    return float("inf") if not np.isfinite(error) else error


@dataclass
class MeasureOptions:
    """How to measure: seed, Haar trials, search steps, batching, and an optional single case."""

    seed: int = 0
    trials: int = DEFAULT_TRIALS
    tolerance: float = 0.0
    case: str | None = None
    search: int = 0
    batch: bool = True


def measure_equivariance(problem: Problem, options: MeasureOptions | None = None
                         ) -> list[GroupMeasurement]:
    """Measure every group (and the product of all of them) on Haar draws and probes.

    ``options.tolerance`` only sets which elements count as mismatched in each case's details;
    it plays no part in any error value. ``case="O(d)/haar:3"`` runs that one case only.
    """
    opts = options or MeasureOptions()
    if opts.trials < 1:
        raise SpecError(f"--trials: {opts.trials} must be at least 1")
    if opts.seed < 0:
        raise SpecError(f"--seed: {opts.seed} must be at least 0")
    if opts.search < 0:
        raise SpecError(f"--search: {opts.search} steps must be at least 0")
    wanted_set, wanted_case = _split_case(opts.case, problem)
    measurements = []
    for groups in problem.group_sets():
        label = set_name(groups)
        if wanted_set is not None and label != wanted_set:
            continue
        start = time.perf_counter()
        cases = case_batches(problem, groups, opts.seed, opts.trials)
        searching = opts.search > 0 and wanted_case in (None, "search")
        if wanted_case is not None and wanted_case != "search":
            chosen = [t for t, n in enumerate(cases.labels)
                      if n == wanted_case or n.startswith("identity:")]
            if len(chosen) == NOISE_REPEATS:
                raise SpecError(f"--case: {opts.case!r}: no case {wanted_case!r} in {label}")
            cases = cases.take(chosen)
        evaluation = evaluate_batch(problem, cases, opts.batch)
        results = []
        ranked: list[tuple[float, int]] = []
        noise = 0.0
        for t, r in enumerate(compare_batch(evaluation, opts.tolerance)):
            if r.case.startswith("identity:"):
                noise = max(noise, r.error) if r.finite else float("nan")
                continue
            results.append(r)
            ranked.append((_order(r.error), t))
        ranked.sort(key=lambda item: item[0], reverse=True)
        worst = (ranked[0][0], evaluation.case(ranked[0][1])) if ranked else None
        if searching and worst is not None:
            # Several starts: the worst case can be a trap (its error owed to x, not to g).
            rng = case_rng(opts.seed, label, "search", 0)
            starts = [evaluation.case(t) for _, t in ranked[:SEARCH_STARTS]]
            found, ev = max(
                (search_worst(problem, s, rng, opts.search // len(starts), opts.tolerance)
                 for s in starts),
                key=lambda pair: _order(pair[0].error),
            )
            results = [found] if wanted_case == "search" else [*results, found]
            if _order(found.error) >= worst[0]:
                worst = (_order(found.error), ev)
        m = GroupMeasurement(label, tuple(g.name for g in groups),
                             tuple(g.label for g in groups), results, noise,
                             time.perf_counter() - start)
        m.worst_evaluation = worst[1] if worst is not None else None
        measurements.append(m)
    return measurements


def _split_case(case: str | None, problem: Problem) -> tuple[str | None, str | None]:
    if case is None:
        return None, None
    group_part, sep, case_part = case.rpartition("/")
    names = [set_name(s) for s in problem.group_sets()]
    if not sep or group_part.replace(" x ", " × ") not in names:
        raise SpecError(
            f"--case: {case!r} is not GROUP/CASE with GROUP one of {names} "
            f"(e.g. '{names[0]}/haar:0')"
        )
    return group_part.replace(" x ", " × "), case_part



def judge(measurements: Sequence[GroupMeasurement], tolerance: float) -> list[GroupResult]:
    """Verdict per group: non-finite outputs are their own failure; else max error ≤ tolerance."""
    results = []
    for m in measurements:
        if not m.finite:
            verdict = Verdict.NON_FINITE
        elif m.stat(100) > tolerance:
            verdict = Verdict.FAIL
        else:
            verdict = Verdict.PASS
        results.append(GroupResult(m, tolerance, verdict))
    return results


def check_problem(problem: Problem, options: MeasureOptions, rtol: float | None = None,
                  data_source: str = "random") -> EquivarianceResult:
    """Measure and judge a resolved problem: the tolerance from ``rtol`` or the dtype table,
    every group set measured with ``options``, the verdicts, and the warnings a reader needs
    (a noise floor near the tolerance, a model that ran wider than the dtype asked)."""
    tolerance = tolerance_for(problem.dtype, rtol)
    options = replace(options, tolerance=tolerance)
    measurements = measure_equivariance(problem, options)
    groups = judge(measurements, tolerance)
    warnings = [
        f"{g.measurement.name}: noise floor {g.measurement.noise_floor:.2e} is above a tenth of "
        f"the tolerance {tolerance:.1e}: the model is not reproducible enough for this tolerance"
        for g in groups
        if np.isfinite(g.measurement.noise_floor) and g.measurement.noise_floor > tolerance / 10
    ]
    wider = sorted(
        d for d in problem.output_dtypes
        if problem.dtype in _NUMPY_FLOATS
        and np.dtype(d).itemsize > np.dtype(problem.dtype).itemsize
    )
    if wider:
        warnings.append(
            f"dtype {problem.dtype}: the model returned {', '.join(wider)}, so part of it ran "
            f"in higher precision than asked (e.g. a float64 constant promotes the arithmetic)"
        )
    return EquivarianceResult(
        model=problem.name, inputs=tuple(str(s) for s in problem.inputs),
        outputs=tuple(str(s) for s in problem.outputs), sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=options.seed, trials=options.trials, tolerance=tolerance,
        groups=groups, data_source=data_source, warnings=warnings,
    )
