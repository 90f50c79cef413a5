"""One outcome shape for every request: a verdict, the result, and how to reproduce it.

No outcome carries an exit code: the command line maps :class:`~symcheck.core.verdicts.Verdict`
to 0/1/2 in one place.

>>> from symcheck.core.verdicts import Verdict
>>> Outcome("model", Verdict.PASS, result=None).passed
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symcheck.core.verdicts import Verdict

if TYPE_CHECKING:
    from symcheck.app.reproduction import Reproduction
    from symcheck.core.caseid import CaseId
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
