"""Default tolerances for the relative equivariance error, keyed by the dtype of the check.

The check computes errors in float64 whatever the model's dtype; the tolerance reflects the
precision the model itself computes in. Values are a few hundred ulps of a typical attention
layer's accumulated round-off (measured on the bundled samples), not a guess at the bug size.

>>> tolerance_for("float32")
0.0001
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
    check_dtype(dtype)
    if rtol is None:
        return DEFAULT_RTOL[dtype]
    return check_rtol(rtol)


def check_dtype(dtype: str) -> str:
    """``dtype`` if it is one the tolerance table knows, else a :class:`SpecError`."""
    if dtype not in DEFAULT_RTOL:
        raise SpecError(f"{dtype!r} is not one of {', '.join(DEFAULT_RTOL)}", argument="dtype",
                        value=dtype)
    return dtype


def check_rtol(rtol: float, argument: str = "rtol") -> float:
    """A tolerance must be a finite number > 0: ``inf`` or ``nan`` would pass anything."""
    import math

    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not (
            math.isfinite(rtol) and rtol > 0):
        raise SpecError(f"{rtol!r} must be a finite number greater than 0", argument=argument,
                        value=rtol)
    return float(rtol)
