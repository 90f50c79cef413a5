"""Sparse approximation of a target matrix (``symcheck sparse-approx``, a ``matrix`` check),
the verification of saved parameters (``sparse-approx`` with ``verify``) and the sweep over lengths
(``sparse-sweep``)."""

from __future__ import annotations

from pathlib import Path

from symcheck.app import outcomes as recipe
from symcheck.app.outcomes import Outcome
from symcheck.app.requests import MatrixRequest, SweepRequest
from symcheck.core.options import Measure
from symcheck.core.verdicts import Verdict


def run_matrix(request: MatrixRequest) -> Outcome:
    """Sparse approximation: PASS when some verified ``d ≤ max_d`` meets the precision; with
    ``verify``, PASS when the saved parameters meet it."""
    source = request.matrix if isinstance(request.matrix, str | Path) else None
    if request.verify is not None:
        from symcheck.sparse import verify

        checked = verify(request.matrix, request.verify, precision=request.precision,
                         ratio_precision=request.ratio_precision,
                         leak_precision=request.leak_precision)
        return Outcome("verify", checked.verdict, checked,
                       file=None if source is None else str(source))
    from symcheck.sparse import approximate

    result = approximate(request.matrix, precision=request.precision,
                         ratio_precision=request.ratio_precision,
                         leak_precision=request.leak_precision, method=request.method,
                         max_d=request.max_d, seed=request.seed,
                         seeds_per_d=request.seeds_per_d, time_limit=request.time_limit,
                         progress=request.progress)
    verdict = (Verdict.PASS if result.passed else
               Verdict.INCONCLUSIVE if result.timed_out else Verdict.FAIL)
    return Outcome("matrix", verdict, result, recipe.Reproduction(
        kind="matrix", target=None if source is None else str(source), name=str(source),
        measure=Measure(seed=request.seed)), file=None if source is None else str(source))


def run_sweep(request: SweepRequest) -> Outcome:
    """The sweep: PASS when it ran (it measures; it judges nothing)."""
    from symcheck.sparse.sweep import sweep

    result = sweep(request.family, request.k, list(request.lengths), methods=request.methods,
                   precision=request.precision, seed=request.seed,
                   seeds_per_d=request.seeds_per_d, time_limit=request.time_limit,
                   jl_max_length=request.jl_max_length, opt_max_length=request.opt_max_length)
    return Outcome("sweep", Verdict.PASS, result)
