"""Judging a form measurement: each diagnostic against its tolerance, and the result.

>>> form_tolerance("float64", None)
1e-08
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from symcheck.core.groups import Orthogonal
from symcheck.core.signature import DEFAULT_TRIALS, Signature
from symcheck.core.specs import AxisSpec
from symcheck.core.tolerances import tolerance_for
from symcheck.core.verdicts import SKIP, Computed, Judged, Serialised, Verdict, brief
from symcheck.engine.form import (
    FORM_RTOL,
    LOG_BILINEAR_TOL,
    CaseValue,
    FormMeasurement,
    measure_form,
)
from symcheck.engine.problem import CheckedRun, Problem

Array = np.ndarray

# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Diagnostic(Serialised):
    """One diagnostic: its number, tolerance and status.

    ``status`` is "pass" / "fail" (compared with the tolerance), or "skipped" (``note`` says
    why). ``gating`` diagnostics decide the verdict; the attention-likeness ones describe.
    """

    key: str
    value: float | None
    tolerance: float | None
    status: str
    gating: bool
    worst_case: str | None = None
    note: str | None = None


@dataclass
class FormResult(CheckedRun, Judged):
    """Everything :func:`check_form` measured and decided; :meth:`to_dict` is the JSON."""

    span_tolerance: float
    weights: str
    weight_inputs: tuple[int, ...]
    #: what was measured (its numbers are the JSON's computed keys)
    measurement: FormMeasurement = field(metadata=SKIP)
    diagnostics: list[Diagnostic]
    warnings: list[str] = field(default_factory=list)

    json_order = (
        "model", Computed("verdict"), Computed("holds", "passed"), "seed", "trials", "dtype",
        "tolerance", "span_tolerance", "inputs", "outputs", "sizes", "weights",
        "weight_inputs", *(Computed(name, f"measurement.{name}") for name in (
            "layout", "unique", "not_unique_reason", "min_rank", "max_cond")),
        "diagnostics", Computed("cases", lambda r: {
            "span_residual": r.measurement.span,
            "coefficient_invariance": r.measurement.invariance,
            "permutation_covariance": r.measurement.covariance}),
        Computed("negative_fraction", "measurement.negative_fraction"),
        Computed("fit", "measurement.fit"), Computed("seconds", "measurement.seconds"),
        "warnings",
    )

    @property
    def finite(self) -> bool:
        return self.measurement.finite

    def __repr__(self) -> str:
        failing = [d.key for d in self.diagnostics if d.gating and d.status == "fail"]
        return brief("FormResult", self.model, self.verdict.value,
                     f"failing: {', '.join(failing)}" if failing else "no gating diagnostic fails",
                     f"{len(self.diagnostics)} diagnostics", self.dtype, f"seed {self.seed}")

    @property
    def verdict(self) -> Verdict:
        if not self.finite:
            return Verdict.NON_FINITE
        held = all(d.status == "pass" for d in self.diagnostics if d.gating)
        return Verdict.PASS if held else Verdict.FAIL

    def diagnostic(self, key: str) -> Diagnostic:
        return next(d for d in self.diagnostics if d.key == key)


def _worst(values: list[CaseValue]) -> CaseValue | None:
    return max(values, key=lambda c: c.value if np.isfinite(c.value) else np.inf, default=None)


def _gate(key: str, values: list[CaseValue], tolerance: float) -> Diagnostic:
    worst = _worst(values)
    if worst is None:
        return Diagnostic(key, None, tolerance, "skipped", True, note="no finite case")
    ok = np.isfinite(worst.value) and worst.value <= tolerance
    return Diagnostic(key, worst.value, tolerance, "pass" if ok else "fail", True, worst.case)


def judge_form(m: FormMeasurement, tolerance: float, span_tolerance: float) -> list[Diagnostic]:
    """Compare each measured number with its tolerance (attention-likeness: descriptive)."""
    out = [_gate("span_residual", m.span, span_tolerance)]
    if m.layout.d <= m.min_rank and m.layout.d < m.layout.vectors:
        out[0] = replace(out[0], note="Z spans the whole embedding space: every output is "
                         "in its span, so this residual is zero by construction")
    inv = _gate("coefficient_invariance", m.invariance, tolerance)
    if not m.unique:
        inv = replace(inv, note="minimum-norm coefficients (not unique)")
    out.append(inv)
    if m.covariance is None:
        out.append(Diagnostic("permutation_covariance", None, tolerance, "skipped", False,
                              note="no permutation group such as S(n) is declared"))
    else:
        cov = _gate("permutation_covariance", m.covariance, tolerance)
        out.append(cov if m.unique else replace(cov, note="minimum-norm coefficients "
                                                "(not unique)"))
    skipped = None if m.unique else ("the coefficients are not unique" if m.not_unique_reason
                                     else "no finite draw")
    if m.negative_mass is None or m.row_sum_error is None:
        out.append(Diagnostic("negative_coefficients", None, tolerance, "skipped", False,
                              note=skipped))
        out.append(Diagnostic("row_sums", None, tolerance, "skipped", False, note=skipped))
    else:
        out.append(Diagnostic("negative_coefficients", m.negative_mass, tolerance,
                              "pass" if m.negative_mass <= tolerance else "fail", False,
                              note=f"fraction of negative entries {m.negative_fraction:.3g}"))
        out.append(Diagnostic("row_sums", m.row_sum_error, tolerance,
                              "pass" if m.row_sum_error <= tolerance else "fail", False))
    fit = m.fit
    if fit is None or fit.r2 is None:
        out.append(Diagnostic("log_bilinear_r2", None, 1 - LOG_BILINEAR_TOL, "skipped", False,
                              note=skipped if fit is None else fit.skipped))
    else:
        out.append(Diagnostic(
            "log_bilinear_r2", fit.r2, 1 - LOG_BILINEAR_TOL,
            "pass" if fit.r2 >= 1 - LOG_BILINEAR_TOL else "fail", False,
            note=f"{fit.equations} equations, {fit.parameters} parameters, {fit.draws} draws",
        ))
    return out


# --------------------------------------------------------------------------- entry point


def array_defaults(fn: Callable[..., Any], count: int) -> list[Array | None]:
    """The first ``count`` parameters' default values that are arrays (a model's weights).

    >>> def f(x, w=np.eye(2)): return x @ w
    >>> [None if a is None else a.shape for a in array_defaults(f, 2)]
    [None, (2, 2)]
    """
    try:
        params = list(inspect.signature(fn).parameters.values())[:count]
    except (TypeError, ValueError):
        return [None] * count
    found: list[Array | None] = [
        np.asarray(p.default, dtype=np.float64) if isinstance(p.default, np.ndarray) else None
        for p in params
    ]
    return found + [None] * (count - len(found))


def hold_weights_fixed(signature: Signature, weights: Sequence[int], label: str) -> Signature:
    """``signature`` with the embedding label of each weight input renamed ``<label>_fixed``.

    No group acts on the renamed axes, so ``O(label)`` turns ``X`` and ``K`` but leaves the
    weights where they are: the check of a trained model whose weights are fixed.

    >>> s = Signature.parse(inputs=("n d", "d k"), outputs=("n d",), groups=("O(d)",))
    >>> [str(spec) for spec in hold_weights_fixed(s, [1], "d").inputs]
    ['n d', 'd_fixed k']
    """
    specs = list(signature.inputs)
    for i in weights:
        specs[i] = AxisSpec(tuple(f"{label}_fixed" if lab == label else lab
                                  for lab in specs[i].labels))
    return replace(signature, inputs=tuple(specs))


def embedding_label(signature: Signature) -> str:
    """The label of the declared ``O``/``SO`` group, else ``d``."""
    for name in signature.groups:
        if issubclass(name.kind, Orthogonal):
            return name.label
    return "d"


def form_tolerance(dtype: str, rtol: float | None) -> float:
    tolerance_for(dtype)  # validates the dtype name
    if rtol is None:
        return FORM_RTOL[dtype]
    return tolerance_for(dtype, rtol)


def check_form_problem(problem: Problem, signature: Signature, seed: int, *,
                       weights: str = "cotransform", weight_inputs: tuple[int, ...] = (),
                       span_rtol: float | None = None, fit: bool = True) -> FormResult:
    """Measure and judge a prepared problem (every door calls this through the service)."""
    trials = signature.trials if signature.trials is not None else DEFAULT_TRIALS
    tolerance = form_tolerance(problem.dtype, signature.rtol)
    span_tolerance = form_tolerance(problem.dtype, span_rtol) if span_rtol else tolerance
    m = measure_form(problem, seed, trials, fit)
    warnings = []
    if weights == "fixed" and not weight_inputs:
        warnings.append("weights fixed: no parameter has an array default value, so no "
                        "input is held fixed")
    if m.unique and m.max_cond > 1e6:
        warnings.append(f"Z is ill-conditioned (cond {m.max_cond:.1e}): coefficient errors are "
                        "amplified by up to that factor")
    return FormResult(
        model=problem.name, inputs=problem.inputs, outputs=problem.outputs,
        sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=seed, trials=trials, tolerance=tolerance,
        span_tolerance=span_tolerance, weights=weights, weight_inputs=weight_inputs,
        measurement=m, diagnostics=judge_form(m, tolerance, span_tolerance), warnings=warnings,
    )


