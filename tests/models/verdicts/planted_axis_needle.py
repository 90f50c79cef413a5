"""Self-attention with a branch on an axis-aligned token: a planted needle.

When some token lies within ~2.6° of a coordinate axis (``max_i |x_i| > 0.999 ‖x‖``, e.g. a
one-hot token), a term ``0.5 · rms(x) · u`` along a fixed direction ``u`` is added to every
output. Axis alignment is not preserved by a rotation: for a one-hot token and a Haar ``Q``,
``x·Qᵀ`` takes the plain path while ``f(x)·Qᵀ`` carries the term (a relative error of order
0.5), and a signed permutation that keeps the token on an axis still turns ``u``. In d = 8 a
Gaussian token lands in one of the 16 caps of half-angle 2.56° with probability 8.3e-10 (a
Beta(1/2, 7/2) tail), so a check with Gaussian inputs never goes there; a one-hot probe, or a
search started from one, does. S(n) holds (the condition
and the term are the same for every order of the tokens). Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import rms, self_attention, unit_direction

D = 8
U = unit_direction(2, D)


def axis_aligned(x: np.ndarray) -> bool:
    return bool(np.any(np.abs(x).max(axis=-1) > 0.999 * np.linalg.norm(x, axis=-1)))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def needle_attention(x: np.ndarray) -> np.ndarray:
    out = self_attention(x)
    if axis_aligned(x):
        out = out + 0.5 * rms(x) * U.astype(x.dtype)
    return out
