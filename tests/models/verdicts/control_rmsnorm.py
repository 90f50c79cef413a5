"""RMSNorm without a gain, ``x_i / sqrt(mean(x_i²) + eps)``: an equivariant control.

``mean(x_i²) = ‖x_i‖² / d`` is unchanged by any orthogonal map, and the map acts token by
token, so O(d) and S(n) hold exactly, at every scale (for a tiny token the ``eps`` dominates,
still a rotation-invariant number) and at a zero token (output 0). It is the norm that
computational-invariance rotations (SliceGPT, QuaRot) rely on once its gain is folded away.
Expected: exit 0.
"""

import numpy as np

import symcheck

EPS = 1e-6


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def rmsnorm(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + EPS)
