"""The attention form of a callable (``symcheck form``, ``check_form``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from symcheck.app import outcomes as recipe
from symcheck.app.outcomes import Outcome
from symcheck.app.requests import FormRequest
from symcheck.app.service import _inputs, _load, wrap_model
from symcheck.core.groups import GroupName
from symcheck.core.signature import Signature
from symcheck.core.verdicts import Verdict
from symcheck.engine.form_judge import (
    FormResult,
    array_defaults,
    check_form_problem,
    embedding_label,
    hold_weights_fixed,
)
from symcheck.engine.problem import Problem, resolve
from symcheck.sources.python import line_of

Array = np.ndarray


def run_form(request: FormRequest) -> Outcome:
    """``symcheck form model.py`` and ``check_form``."""
    loaded = _load(request.target, request.obj, request.name)
    m = request.measure
    signature = request.declared.merge(loaded.signature, m)
    arrays, _ = _inputs(request, loaded.obj, signature.inputs)
    problem, weight_inputs, checked = prepare_form(
        loaded.obj, signature, dtype=m.dtype, data=arrays, weights=request.weights,
        name=loaded.name, backend=request.backend,
    )
    result: FormResult = check_form_problem(problem, checked, m.seed, weights=request.weights,
                                            weight_inputs=weight_inputs,
                                            span_rtol=request.span_rtol, fit=request.fit)
    verdict = (Verdict.NON_FINITE if not result.finite else
               Verdict.PASS if result.passed else Verdict.FAIL)
    repro = recipe.Reproduction(
        kind="form", target=request.target, name=loaded.name, inputs=checked.inputs,
        outputs=checked.outputs, groups=checked.groups, sizes=dict(result.sizes),
        measure=replace(m, trials=result.trials, rtol=signature.rtol), backend=request.backend,
        data=None if request.data is None else str(request.data),
    )
    return Outcome("form", verdict, result, repro, file=loaded.file, line=line_of(loaded.obj))






def prepare_form(
    fn: Callable[..., Any], signature: Signature, *, dtype: str = "float64",
    data: Sequence[Array | None] | None = None, weights: str = "cotransform",
    name: str | None = None,
    backend: str | None = None,
) -> tuple[Problem, tuple[int, ...], Signature]:
    """Resolve ``fn`` for a form check (shared by :func:`check_form` and the CLI).

    Inputs whose parameter has an array default are the model's **weights**: they are fixed
    to that default in every draw (unless ``data`` fixes them). With ``weights="cotransform"``
    their embedding axes turn with ``Q`` and their vectors join ``K``; with ``"fixed"`` they
    are held still and stay out of ``Z``. Returns the problem, the weight inputs, and the
    signature actually checked.
    """
    if not signature.groups:
        signature = replace(signature, groups=(GroupName("O", "d"),))
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
    wrapped = wrap_model(fn, dtype, backend)
    problem = resolve(wrapped, signature, dtype, fixed, name or getattr(fn, "__name__", None))
    return problem, weight_inputs, signature
