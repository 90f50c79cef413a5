"""Self-attention with a fallback for a rank-deficient sequence: a planted violation.

With n = 6 tokens in d = 8, a Gaussian sequence has full rank 6. When it does not (a repeated
token, a zero token, a rank-one sequence), a "degenerate input" path adds ``0.5 · rms(x) · u``
for a fixed direction ``u`` to every output. The rank of a sequence is unchanged by permutations
and orthogonal maps, so both sides take the branch; the fixed ``u`` breaks O(d) for every ``Q``
that does not fix ``u``. S(n) holds. Expected: exit 1.
"""

import numpy as np

import symcheck

D = 8
U = np.random.default_rng(3).standard_normal(D)
U /= np.linalg.norm(U)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def rank_fallback_attention(x: np.ndarray) -> np.ndarray:
    out = softmax(x @ x.T / np.sqrt(x.shape[-1])) @ x
    if np.linalg.matrix_rank(x) < min(x.shape):
        out = out + 0.5 * np.sqrt(np.mean(x**2)) * U.astype(x.dtype)
    return out
