"""An "overflow guard" that clamps every coordinate to ±1e3 before attention: a planted violation.

A coordinate-wise clamp is not rotation-equivariant: once some coordinates exceed 1e3, ``x·Qᵀ``
is clamped in different places than ``x``. Gaussian inputs (coordinates of order 1) never reach
the clamp; a huge-scale probe (×1e6) clamps nearly every coordinate, which maps a token to about
``1e3 · sign(x_i)``, and O(d) fails with an error of order 1. S(n) holds (the clamp acts on each
coordinate alike). Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import self_attention


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def clamped_attention(x: np.ndarray) -> np.ndarray:
    return self_attention(np.clip(x, -1e3, 1e3))
