"""e3nn's Wigner matrices for ``label:irreps(…)`` axes, in float64 whatever torch's default.

The core parses irreps, factors rotations away from e3nn's gimbal lock and memoises the
matrices (:mod:`symcheck.core.irreps`); this module is the one place that calls e3nn, and it
imports e3nn (and torch) only when a matrix is first needed. The core loads it by name
(:data:`symcheck.core.irreps.DEFAULT_SOURCE`) the first time an irreps axis needs a matrix;
importing it changes nothing.

e3nn builds its generators in torch's default dtype: under a float32 default its ``D`` is
only float32-accurate (≈ 7e-7, measured) even for a float64 ``Q``. The default is float64 while
the matrices are computed, and restored afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symcheck.core.errors import MissingExtraError

Array = np.ndarray


def _o3(what: str) -> Any:
    try:
        from e3nn import o3
    except ImportError:
        raise MissingExtraError("e3nn", "e3nn", what) from None
    return o3


class E3nnSource:
    """``Irreps(text).D_from_matrix(q)`` from e3nn, computed under a float64 default dtype."""

    def require(self, what: str) -> None:
        _o3(what)

    def matrices(self, irreps: str, q: Array) -> Array:
        o3 = _o3(f"the representation 'irreps({irreps})'")
        import torch

        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            d = o3.Irreps(irreps).D_from_matrix(torch.from_numpy(np.asarray(q, np.float64)))
            return np.array(d.to(torch.float64).numpy(), dtype=np.float64)
        finally:
            torch.set_default_dtype(previous)
