"""One outcome shape for every request: a verdict, the result, and how to reproduce it.

No outcome carries an exit code: the command line maps :class:`~symcheck.core.verdicts.Verdict`
to 0/1/2 in one place.

**The reproduction recipe**: one value, built once from a request and its result. Every door
renders the same :class:`Reproduction` in its own words: the command line its options that
replay the worst case and the line that reruns a declared check
(:mod:`symcheck.cli.common`), the Python API a call, the counterexample file metadata.

>>> from symcheck.core.verdicts import Verdict
>>> Outcome("model", Verdict.PASS, result=None).passed
True
>>> from symcheck.core.caseid import GroupSet
>>> from symcheck.core.signature import Signature
>>> s = Signature.parse(("n d",), ("n d",), ("S(n)",))
>>> r = Reproduction(kind="model", target="m.py:f", name="f", inputs=s.inputs,
...                  outputs=s.outputs, groups=s.groups, sizes={"n": 4, "d": 2},
...                  case=CaseId(GroupSet(("S(n)",)), "haar", 3))
>>> r.failing, r.to_dict()["case"]
(True, 'S(n)/haar:3')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from symcheck.core.caseid import CaseId
from symcheck.core.options import Measure
from symcheck.core.signature import DEFAULT_TRIALS, Signature
from symcheck.core.verdicts import Verdict

if TYPE_CHECKING:
    from symcheck.core.groups import GroupName
    from symcheck.core.specs import AxisSpec
    from symcheck.engine.equivariance import EquivarianceResult
    from symcheck.engine.evaluate import Evaluation
    from symcheck.engine.problem import Problem


@dataclass
class Evidence:
    """The arrays behind the worst failing case, for a counterexample file."""

    problem: Problem
    evaluation: Evaluation
    case: CaseId
    error: float
    tolerance: float


@dataclass
class Outcome:
    """What a request found: the verdict, the result object of its kind, the recipe."""

    kind: str  # "model" | "weights" | "form" | "replay" | "matrix"
    verdict: Verdict
    result: Any
    reproduction: Reproduction | None = None
    evidence: Evidence | None = field(default=None, repr=False)
    #: where the checked callable is defined, when known (for annotations)
    file: str | None = None
    line: int | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        """The result's own JSON, with the verdict and the reproduction recipe."""
        body = self.result.to_dict() if hasattr(self.result, "to_dict") else {}
        return {**body, "verdict": self.verdict.value,
                "reproduction": None if self.reproduction is None else
                self.reproduction.to_dict()}



@dataclass(frozen=True)
class Reproduction:
    """Everything needed to re-run a check, and its worst failing case when there is one."""

    kind: str  # "model" | "weights" | "form" | "matrix"
    target: str | None  # the file target as given; None for an in-memory callable
    name: str  # the checked callable (or layer)
    inputs: tuple[AxisSpec, ...] = ()
    outputs: tuple[AxisSpec, ...] = ()
    groups: tuple[GroupName, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict)
    #: the measurement options that replay it (trials resolved; the case is :attr:`case`):
    #: a door repeats the ones its declaration says differ from the defaults
    measure: Measure = field(default_factory=lambda: Measure(trials=DEFAULT_TRIALS))
    data: str | None = None  # the inputs file, if any
    backend: str | None = None  # only when the caller chose one
    mask: str | None = None
    padding_mask: str | None = None
    case: CaseId | None = None  # the worst failing case; None: nothing fails
    #: weights checks: layer, heads, mode, component (what the command line needs)
    weights: Mapping[str, Any] = field(default_factory=dict)
    #: ``symcheck check``: the check's name and its configuration file
    check: str | None = None
    config: str | None = None

    @property
    def failing(self) -> bool:
        return self.case is not None

    def in_check(self, name: str, config: str | None) -> Reproduction:
        """The same recipe, known to come from a declared check."""
        return replace(self, check=name, config=config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "target": self.target, "name": self.name,
            "inputs": [str(s) for s in self.inputs], "outputs": [str(s) for s in self.outputs],
            "groups": [str(g) for g in self.groups], "sizes": dict(self.sizes),
            **{k: v for k, v in self.measure.to_dict().items() if k != "case"},
            "data": self.data, "backend": self.backend,
            "mask": self.mask, "padding_mask": self.padding_mask,
            "case": None if self.case is None else self.case.ref,
            "weights": dict(self.weights), "check": self.check, "config": self.config,
        }


def worst_case(result: EquivarianceResult) -> CaseId | None:
    """The worst failing case, or None when every group passes."""
    failing = result.worst_failure()
    return None if failing is None else failing.measurement.worst.case_id


def of_model(target: str | None, signature: Signature, result: EquivarianceResult,
             measure: Measure, *, data: str | None, backend: str | None) -> Reproduction:
    """The recipe of a model check: the merged signature, the options it ran with, the
    resolved sizes, the worst case."""
    return Reproduction(
        kind="model", target=target, name=result.model, inputs=signature.inputs,
        outputs=signature.outputs, groups=signature.groups, sizes=dict(result.sizes),
        measure=replace(measure, trials=result.trials, case=None), data=data,
        backend=backend, mask=signature.mask, padding_mask=signature.padding_mask,
        case=worst_case(result),
    )


def of_weights(target: str, result: EquivarianceResult, groups: tuple[GroupName, ...], *,
               layer: str, heads: int | None, mode: str, component: str,
               measure: Measure, fold: bool = False) -> Reproduction:
    """The recipe of a weights check (its specs come from the file, not the caller)."""
    return Reproduction(
        kind="weights", target=target, name=result.model, groups=groups,
        sizes={"n": result.sizes.get("n", 0)},
        measure=replace(measure, trials=result.trials, case=None),
        case=worst_case(result),
        weights={"layer": layer, "heads": heads, "mode": mode, "component": component,
                 "fold": fold},
    )
