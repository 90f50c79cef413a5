"""Assertions for test suites: :func:`assert_equivariant` raises with a replayable message."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from symcheck.engine import EquivarianceResult, check_equivariance


class EquivarianceError(AssertionError):
    """A symmetry is broken; ``.result`` holds the full measurement."""

    def __init__(self, message: str, result: EquivarianceResult) -> None:
        super().__init__(message)
        self.result = result


def assert_equivariant(
    fn: Callable[..., Any],
    inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None,
    **options: Any,
) -> EquivarianceResult:
    """Check ``fn`` like :func:`symcheck.check_equivariance`; raise if any group fails.

    >>> import numpy as np
    >>> assert_equivariant(np.tanh, "n d", "n d", "S(n)", {"n": 4, "d": 2}).passed
    True
    """
    from symcheck.report.equivariance import describe_failure

    result = check_equivariance(fn, inputs, output, groups, sizes, **options)
    failing = [g for g in result.groups if not g.passed]
    if not failing:
        return result
    lines = [
        f"{result.model} is not equivariant "
        f"({len(failing)} of {len(result.groups)} checks fail):"
    ]
    lines += [f"  {describe_failure(g)}" for g in failing]
    worst = result.worst_failure()
    assert worst is not None
    lines.append(
        f"  replay: check_equivariance(..., seed={result.seed}, trials={result.trials}, "
        f"case={worst.measurement.name + '/' + worst.measurement.worst.case!r})"
    )
    raise EquivarianceError("\n".join(lines), result)
