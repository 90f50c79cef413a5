"""Default tolerances for the relative equivariance error, keyed by the dtype of the check.

The check computes errors in float64 whatever the model's dtype; the tolerance reflects the
precision the model itself computes in. Values are a few hundred ulps of a typical attention
layer's accumulated round-off (measured on the bundled samples), not a guess at the bug size.
"""

from __future__ import annotations

from symcheck.core.errors import SpecError

DEFAULT_RTOL: dict[str, float] = {
    "float64": 1e-9,
    "float32": 1e-4,
    "bfloat16": 3e-2,
    "float16": 1e-2,
}


def tolerance_for(dtype: str, rtol: float | None = None) -> float:
    """The tolerance to use: ``rtol`` when given, else the table entry for ``dtype``."""
    if dtype not in DEFAULT_RTOL:
        raise SpecError(f"--dtype: {dtype!r} is not one of {', '.join(DEFAULT_RTOL)}")
    if rtol is None:
        return DEFAULT_RTOL[dtype]
    if not rtol > 0:
        raise SpecError(f"--rtol: {rtol!r} must be a positive number")
    return float(rtol)
