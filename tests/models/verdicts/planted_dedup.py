"""Self-attention with a "dedup" fast path that is wrong: a planted violation.

When two tokens are exactly equal (a cache would compute them once), the fast path adds a term
that depends on the token's *slot*, ``0.5 · rms(x) · (i / n) · u`` for a fixed direction ``u``.
Equality of two rows is preserved by every permutation and every orthogonal map, so the branch
is taken on both sides of ``f(g·x) = g·f(x)`` alike; the slot term then breaks S(n) for every
permutation other than the identity (``(i / n)`` takes distinct values) and O(d) for every
``Q`` that does not fix ``u``. Gaussian inputs never have two equal tokens, so only a
repeated-token probe (or a search that reaches one) can see it. Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import rms, self_attention, unit_direction

D = 8
U = unit_direction(1, D)


def has_repeat(x: np.ndarray) -> bool:
    return len(np.unique(x, axis=0)) < len(x)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def dedup_attention(x: np.ndarray) -> np.ndarray:
    out = self_attention(x)
    if has_repeat(x):
        slot = np.arange(len(x), dtype=x.dtype)[:, None] / len(x)
        out = out + 0.5 * rms(x) * slot * U.astype(x.dtype)
    return out
