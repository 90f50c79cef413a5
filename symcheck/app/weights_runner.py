"""Saved weights: the requested check with its co-transform breakdown, or the whole stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from symcheck.app import outcomes as recipe
from symcheck.app.outcomes import Outcome
from symcheck.app.requests import WeightsRequest
from symcheck.core.verdicts import Judged, Verdict, key
from symcheck.engine.equivariance import EquivarianceResult


def run_weights(request: WeightsRequest) -> Outcome:
    """Saved weights: the requested check with its co-transform breakdown; ``layer="all"``
    checks the whole stack as one function."""
    from symcheck.sources.weights.check import DEFAULT_N, Settings, check_weights

    m = request.measure
    settings = Settings(n=request.n or DEFAULT_N, dtype=m.dtype, seed=m.seed, trials=m.trials,
                        rtol=m.rtol)
    if request.layer == "all":
        return _run_stack(request, settings)
    result = check_weights(request.path, layer=request.layer, heads=request.heads,
                           groups=request.groups, mode=request.mode,
                           component=request.component, settings=settings, case=m.case,
                           breakdown="full" if request.breakdown else "needed",
                           fold=request.fold)
    requested = result.requested
    repro = recipe.of_weights(
        str(request.path), requested, tuple(result.groups),
        layer=result.layer.prefix.rstrip("."), heads=request.heads, mode=result.mode,
        component=result.component, measure=m, fold=request.fold,
    )
    return Outcome("weights", requested.verdict, result, repro, file=str(request.path))


@dataclass
class StackResult(Judged):
    """The whole stack of a checkpoint checked as one function of the tokens."""

    path: str
    layers: list[str]
    folded: list[str]
    not_folded: list[str]
    #: the stack's check, whose keys follow the stack's own in the JSON
    result: EquivarianceResult = field(metadata=key(spread=True))

    name_field = "path"

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict


def _run_stack(request: WeightsRequest, settings: Any) -> Outcome:
    from symcheck.sources.weights.check import DEFAULT_GROUPS
    from symcheck.sources.weights.stack import check_stack, load_stack

    stack = load_stack(request.path, heads=request.heads, fold=request.fold)
    groups = tuple(request.groups or DEFAULT_GROUPS)
    result = check_stack(stack.layers, groups, mode=request.mode, settings=settings,
                         case=request.measure.case)
    folded = [f"{name}: {f.describe()}" for name, fold in zip(stack.names, stack.folds,
                                                              strict=False)
              for f in fold.folded]
    not_folded = [f"{name}: {n.norm}: {n.what} ({n.why})"
                  for name, fold in zip(stack.names, stack.folds, strict=False)
                  for n in fold.not_folded]
    repro = recipe.of_weights(str(request.path), result, groups, layer="all",
                              heads=request.heads, mode=request.mode, component="block",
                              measure=request.measure, fold=request.fold)
    return Outcome("stack", result.verdict,
                   StackResult(str(request.path), list(stack.names), folded, not_folded,
                               result), repro, file=str(request.path))
