"""One vocabulary of verdicts for every result and outcome.

A :class:`Verdict` is a string enum, so it serialises as ``"pass"``/``"fail"``/… in JSON and
compares equal to those strings. Only the command line turns verdicts into exit codes.

>>> Verdict.PASS == "pass", Verdict.worst([Verdict.PASS, Verdict.NON_FINITE]).value
(True, 'non-finite')
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable


class Verdict(StrEnum):
    #: the checked property holds
    PASS = "pass"
    #: it does not (a symmetry is broken, the precision is not met)
    FAIL = "fail"
    #: the model returned NaN or Inf where the check needed finite numbers
    NON_FINITE = "non-finite"
    #: the check stopped before it could decide (a time limit)
    INCONCLUSIVE = "inconclusive"
    #: the check could not run (bad input, a model that raises or exits)
    ERROR = "error"

    @property
    def passed(self) -> bool:
        return self is Verdict.PASS

    @staticmethod
    def worst(verdicts: Iterable[Verdict]) -> Verdict:
        """The verdict of several checks together: an error above a failure above a pass."""
        order = [Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.FAIL, Verdict.NON_FINITE,
                 Verdict.ERROR]
        return max(verdicts, key=order.index, default=Verdict.PASS)


def brief(kind: str, name: str, *facts: str) -> str:
    """A result's one-line ``repr``: its kind, its name and the facts that matter, never the
    cases behind them (``to_dict()`` has those).

    >>> brief("GroupResult", "S(n)", "fail", "max error 9.0e-01", "tolerance 1.0e-09")
    "<GroupResult 'S(n)': fail, max error 9.0e-01, tolerance 1.0e-09>"
    """
    return f"<{kind} {name!r}: {', '.join(facts)}>"


class Judged:
    """What every result shares: ``passed``, the one word for "it held", read off the verdict
    (a result defines ``verdict``), and ``name``, read from the field :attr:`name_field` (the
    model, the matrix, the file)."""

    name_field: ClassVar[str] = "model"

    @property
    def name(self) -> str:
        return str(getattr(self, self.name_field))

    if TYPE_CHECKING:
        @property
        def verdict(self) -> Verdict: ...

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS


@runtime_checkable
class Result(Protocol):
    """What the result of every command is, whatever it measured: a name, one
    :class:`Verdict`, ``passed`` (the one word for "it held": the verdict is PASS) and its
    JSON report.

    >>> from symcheck.api import check_equivariance
    >>> import numpy as np
    >>> isinstance(check_equivariance(np.tanh, "n d", "n d", "S(n)", {"n": 3, "d": 2}), Result)
    True
    """

    @property
    def name(self) -> str: ...

    @property
    def verdict(self) -> Verdict: ...

    @property
    def passed(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...
