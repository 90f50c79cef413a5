"""Tolerance floors for the relative equivariance error, keyed by the dtype of the check.

The check computes errors in float64 whatever the model's dtype. In float64 the tolerance is
the table's; in a lower precision the check measures the model's own rounding level and the
tolerance is a multiple of it, never below the floor here (a few units of the dtype's
resolution; see :mod:`symcheck.engine.precision`).

>>> tolerance_for("float32")
1e-06
>>> RESOLUTION["float32"] == 2.0 ** -23
True
"""

from __future__ import annotations

from symcheck.core.errors import SpecError

DEFAULT_RTOL: dict[str, float] = {
    "float64": 1e-9,
    "float32": 1e-6,
    "bfloat16": 8e-3,
    "float16": 4e-3,
}
#: machine epsilon (spacing of floats at 1) of each dtype
RESOLUTION: dict[str, float] = {
    "float64": 2.0 ** -52,
    "float32": 2.0 ** -23,
    "bfloat16": 2.0 ** -7,
    "float16": 2.0 ** -10,
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
