"""Sparse approximation of a target matrix (``symcheck sparse-approx``, a ``matrix`` check)."""

from __future__ import annotations

from pathlib import Path

from symcheck.app import reproduction as recipe
from symcheck.app.outcomes import Outcome
from symcheck.app.requests import MatrixRequest
from symcheck.core.verdicts import Verdict


def run_matrix(request: MatrixRequest) -> Outcome:
    """Sparse approximation: PASS when some verified ``d ≤ max_d`` meets the precision."""
    from symcheck.sparse import approximate

    result = approximate(request.matrix, precision=request.precision, max_d=request.max_d,
                         seed=request.seed, method=request.method, **dict(request.options))
    verdict = (Verdict.PASS if result.met else
               Verdict.INCONCLUSIVE if result.timed_out else Verdict.FAIL)
    source = request.matrix if isinstance(request.matrix, str | Path) else None
    return Outcome("matrix", verdict, result, recipe.Reproduction(
        kind="matrix", target=None if source is None else str(source), name=str(source),
        seed=request.seed), file=None if source is None else str(source))
