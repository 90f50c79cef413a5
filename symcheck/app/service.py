"""The one service every door calls: a resolved problem in, one measured-and-judged result out.

The CLI, ``symcheck check``, the Python API and the pytest plugin all build their problem the
same way and call the functions here, so they report the same numbers for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.signature import WEIGHT_MODES, Signature
from symcheck.core.tolerances import tolerance_for
from symcheck.engine.equivariance import (
    EquivarianceResult,
    MeasureOptions,
    judge,
    measure_equivariance,
)
from symcheck.engine.form import measure_form
from symcheck.engine.form_judge import (
    FormResult,
    array_defaults,
    embedding_label,
    form_tolerance,
    hold_weights_fixed,
    judge_form,
)
from symcheck.engine.problem import _NUMPY_FLOATS, Problem, resolve

Array = np.ndarray


def run_problem(problem: Problem, signature: Signature, seed: int, case: str | None,
                data_source: str = "random", search: int = 0, batch: bool = True
                ) -> EquivarianceResult:
    """Measure and judge a resolved problem (shared by the Python API and the CLI)."""
    n_trials = signature.trials if signature.trials is not None else 20
    tolerance = tolerance_for(problem.dtype, signature.rtol)
    options = MeasureOptions(seed, n_trials, tolerance, case, search, batch)
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
            f"--dtype {problem.dtype}: the model returned {', '.join(wider)}, so part of it ran "
            f"in higher precision than asked (e.g. a float64 constant promotes the arithmetic)"
        )
    return EquivarianceResult(
        model=problem.name, inputs=tuple(str(s) for s in problem.inputs),
        outputs=tuple(str(s) for s in problem.outputs), sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=seed, trials=n_trials, tolerance=tolerance, groups=groups,
        data_source=data_source, warnings=warnings,
    )





def prepare(
    fn: Callable[..., Any], signature: Signature, *, dtype: str = "float64",
    data: Sequence[Array | None] | None = None, weights: str = "cotransform",
    name: str | None = None, namespace: dict[str, Any] | None = None,
    backend: str | None = None,
) -> tuple[Problem, tuple[int, ...], Signature]:
    """Resolve ``fn`` for a form check (shared by :func:`check_form` and the CLI).

    Inputs whose parameter has an array default are the model's **weights**: they are fixed
    to that default in every draw (unless ``data`` fixes them). With ``weights="cotransform"``
    their embedding axes turn with ``Q`` and their vectors join ``K``; with ``"fixed"`` they
    are held still and stay out of ``Z``. Returns the problem, the weight inputs, and the
    signature actually checked.
    """
    from symcheck.backends import BACKENDS, adapt

    if backend is not None and backend not in BACKENDS:
        raise SpecError(f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if weights not in WEIGHT_MODES:
        raise SpecError(f"--weights: {weights!r} is not one of {', '.join(WEIGHT_MODES)}")
    if not signature.groups:
        signature = replace(signature, groups=("O(d)",))
    count = len(signature.inputs)
    defaults = array_defaults(fn, count)
    weight_inputs = tuple(i for i, a in enumerate(defaults) if a is not None)
    if data is None:
        fixed: list[Array | None] | None = defaults if weight_inputs else None
    else:
        fixed = [given if given is not None else default
                 for given, default in zip(data, defaults, strict=False)]
    if weights == "fixed" and weight_inputs:
        signature = hold_weights_fixed(signature, weight_inputs, embedding_label(signature))
    _, wrapped = adapt(fn, dtype, namespace, backend)
    problem = resolve(wrapped, signature, dtype, fixed, name or getattr(fn, "__name__", None))
    return problem, weight_inputs, signature


def run_form(problem: Problem, signature: Signature, seed: int, *, weights: str = "cotransform",
             weight_inputs: tuple[int, ...] = (), span_rtol: float | None = None,
             fit: bool = True) -> FormResult:
    """Measure and judge a prepared problem (shared by the Python API and the CLI)."""
    trials = signature.trials if signature.trials is not None else 20
    tolerance = form_tolerance(problem.dtype, signature.rtol)
    span_tolerance = form_tolerance(problem.dtype, span_rtol) if span_rtol else tolerance
    m = measure_form(problem, seed, trials, fit)
    warnings = []
    if weights == "fixed" and not weight_inputs:
        warnings.append("--weights fixed: no parameter has an array default value, so no "
                        "input is held fixed")
    if m.unique and m.max_cond > 1e6:
        warnings.append(f"Z is ill-conditioned (cond {m.max_cond:.1e}): coefficient errors are "
                        "amplified by up to that factor")
    return FormResult(
        model=problem.name, inputs=tuple(str(s) for s in problem.inputs),
        outputs=tuple(str(s) for s in problem.outputs), sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=seed, trials=trials, tolerance=tolerance,
        span_tolerance=span_tolerance, weights=weights, weight_inputs=weight_inputs,
        measurement=m, diagnostics=judge_form(m, tolerance, span_tolerance), warnings=warnings,
    )


