"""symcheck: numerical verification of the symmetries of sequence models.

Public API (imported lazily so that the command line's help stays fast)::

    import symcheck

    @symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                          sizes={"n": 8, "d": 16})
    def attention(x): ...

    result = symcheck.check_equivariance(attention)   # numbers and verdicts
    symcheck.assert_equivariant(attention)            # raises EquivarianceError on failure
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "equivariant": "symcheck.core.signature",
    "Signature": "symcheck.core.signature",
    "check_equivariance": "symcheck.api",
    "EquivarianceResult": "symcheck.engine.equivariance",
    "assert_equivariant": "symcheck.api",
    "EquivarianceError": "symcheck.api",
    "SymcheckError": "symcheck.core.errors",
    "check_form": "symcheck.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'symcheck' has no attribute {name!r}")
