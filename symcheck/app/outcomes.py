"""One outcome shape for every request: a verdict, the result, and how to reproduce it.

No outcome carries an exit code: the command line maps :class:`~symcheck.core.verdicts.Verdict`
to 0/1/2 in one place.

**The reproduction recipe**: one value, built once from a request and its result. Every door
renders the same :class:`Reproduction` in its own words: the command line its options that
replay the worst case and the line that reruns a declared check
(:mod:`symcheck.cli.common`), the Python API a call, the counterexample file metadata.

>>> from symcheck.core.verdicts import SKIP, Serialised, Verdict, key
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
from symcheck.core.verdicts import SKIP, Serialised, Verdict, key

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
class Outcome(Serialised):
    """What a request found: the verdict, the result object of its kind, the recipe. Its JSON
    is the result's own, with the verdict and the reproduction recipe."""

    #: "model" | "weights" | "form" | "replay" | "matrix"
    kind: str = field(metadata=SKIP)
    verdict: Verdict
    result: Any = field(metadata=key(spread=True, convert=lambda result: result.to_dict()
                                     if hasattr(result, "to_dict") else {}))
    reproduction: Reproduction | None = None
    evidence: Evidence | None = field(default=None, repr=False, metadata=SKIP)
    #: where the checked callable is defined, when known (for annotations)
    file: str | None = field(default=None, metadata=SKIP)
    line: int | None = field(default=None, metadata=SKIP)

    json_order = ("result", "verdict", "reproduction")

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS


def _options_but_case(measure: Measure) -> dict[str, Any]:
    """A recipe's options in its JSON: the recipe's own ``case`` key says the case."""
    return {k: v for k, v in measure.to_dict().items() if k != "case"}


@dataclass(frozen=True)
class Reproduction(Serialised):
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
    measure: Measure = field(default_factory=lambda: Measure(trials=DEFAULT_TRIALS),
                             metadata=key(spread=True, convert=_options_but_case))
    data: str | None = None  # the inputs file, if any
    backend: str | None = None  # only when the caller chose one
    mask: str | None = None
    padding_mask: str | None = None
    #: the worst failing case (``GROUP/CASE``); None: nothing fails
    case: CaseId | None = field(default=None, metadata=key(
        convert=lambda case: None if case is None else case.ref))
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
