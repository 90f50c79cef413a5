"""Self-attention with a fallback for a rank-deficient sequence: a planted violation.

With n = 6 tokens in d = 8, a Gaussian sequence has full rank 6. When it does not (a repeated
token, a zero token, a rank-one sequence), a "degenerate input" path adds ``0.5 · rms(x) · u``
for a fixed direction ``u`` to every output. The rank of a sequence is unchanged by permutations
and orthogonal maps, so both sides take the branch; the fixed ``u`` breaks O(d) for every ``Q``
that does not fix ``u``. S(n) holds. Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import rms, self_attention, unit_direction

D = 8
U = unit_direction(3, D)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def rank_fallback_attention(x: np.ndarray) -> np.ndarray:
    out = self_attention(x)
    if np.linalg.matrix_rank(x) < min(x.shape):
        out = out + 0.5 * rms(x) * U.astype(x.dtype)
    return out
