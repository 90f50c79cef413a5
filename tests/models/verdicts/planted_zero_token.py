"""Normalise-then-attend with a "safe normalisation" fallback that is wrong: a planted violation.

Each token is scaled to unit length, ``u_i = x_i / ‖x_i‖``, and the unit tokens attend to each
other. A token shorter than 1e-3 is replaced by the fixed unit vector ``e_0`` instead (to avoid
dividing by zero). ``e_0`` does not turn with the embedding: with a zero token, ``f(x·Qᵀ)``
holds ``e_0`` where ``f(x)·Qᵀ`` holds ``e_0·Qᵀ``, so O(d) is broken for every ``Q`` with
``Q e_0 ≠ e_0``. (S(n) holds: the fallback is the same at every position.) Gaussian tokens are
never that short; a zero-token probe (or a tiny-scale one, ×1e-6) takes the branch on both
sides. A correct fallback (``x_i / max(‖x_i‖, 1e-3)``) would be equivariant. Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import softmax


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def safe_normalised_attention(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    fallback = np.zeros_like(x)
    fallback[:, 0] = 1.0
    u = np.where(norms < 1e-3, fallback, x / np.maximum(norms, 1e-3))
    return softmax(u @ u.T * 2.0) @ u
