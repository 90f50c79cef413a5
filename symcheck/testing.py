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
    result = check_equivariance(fn, inputs, output, groups, sizes, **options)
    if result.passed:
        return result
    raise EquivarianceError(failure_message(result), result)


def failure_message(result: EquivarianceResult) -> str:
    """A torch.testing-style report of every failing group, ending with how to replay it.

    Per failing group, for its worst case: how many output elements differ by more than
    ``tolerance × max|g·f(x)|``, the greatest absolute difference and where it is, and the
    relative error ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖`` against its tolerance.
    """
    failing = [g for g in result.groups if not g.passed]
    names = ", ".join(g.measurement.name for g in failing)
    lines = [
        f"{result.model} is not equivariant under {names} ({len(failing)} of "
        f"{len(result.groups)} group checks fail; seed {result.seed}, {result.trials} Haar "
        f"trials + probes, dtype {result.dtype})",
    ]
    for g in failing:
        w = g.measurement.worst
        lines.append("")
        if not w.finite:
            lines.append(f"{g.measurement.name}: case {w.case} produced NaN/Inf in the output")
            continue
        index = ", ".join(str(i) for i in w.where[1])
        share = 100.0 * w.mismatched / w.total if w.total else 0.0
        lines += [
            f"{g.measurement.name}: worst case {w.case}",
            f"  Mismatched elements: {w.mismatched} / {w.total} ({share:.1f}%)",
            f"  Greatest absolute difference: {w.max_abs:.3e} at index ({index}) of output "
            f"{w.where[0]}",
            f"  Greatest relative difference: {w.error:.3e} (‖f(g·x) − g·f(x)‖ / ‖f(x)‖, up to "
            f"{g.tolerance:.1e} allowed)",
        ]
    worst = result.worst_failure()
    assert worst is not None  # the result did not pass
    lines += [
        "",
        f"replay: check_equivariance(..., seed={result.seed}, trials={result.trials}, "
        f"case={worst.measurement.name + '/' + worst.measurement.worst.case!r})",
    ]
    return "\n".join(lines)
