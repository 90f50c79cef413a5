"""Self-attention with an absolute position embedding planted at 1.5e-7 relative, in float64.

``f(x) = attention(x + EPS · rms(x) · P[:n])`` with a fixed table ``P`` (64 × d, unit-variance
entries). The embedding is tied to positions and to fixed embedding directions, so S(n) and
O(d) are both broken; the relative error is about 1.5e-7 (``EPS`` is set for that), the size of
float32 round-off. But the residual ``f(g·x) − g·f(x) ≈ EPS · rms(x) · J(x)(P − g·P)`` is a
smooth function of ``x``: perturbing ``x`` by 1e-5 leaves it unchanged to 1e-5, so it stays
perfectly correlated with the unperturbed one — structure, not round-off. A genuine violation
must fail however small it is. Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import rms, self_attention

D, MAX_POSITIONS = 8, 64
EPS = 1.0e-7
P = np.random.default_rng(4).standard_normal((MAX_POSITIONS, D))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def position_attention(x: np.ndarray) -> np.ndarray:
    n = len(x)
    if n > MAX_POSITIONS:
        raise ValueError(f"at most {MAX_POSITIONS} positions, got n = {n}")
    return self_attention(x + EPS * rms(x) * P[:n].astype(x.dtype))
