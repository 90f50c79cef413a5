"""Mean pooling of a sequence: an invariant-and-equivariant control that is safe at every rank.

Two outputs: the mean token ``(1/n) Σ x_i`` (axis ``d``: turns with O(d), invariant under S(n))
and the mean outer product ``(1/n) Σ x_i x_iᵀ`` (axes ``d d``: ``Q M Qᵀ`` under O(d)). Nothing
in it depends on the rank of the sequence (no inverse, no division by a pooled norm), so a
rank-one sequence, a repeated or zero token and n = 1 are ordinary inputs; and the second output
vanishes only for an all-zero sequence, so the relative error never divides by a mean that
happens to cancel. Expected: exit 0.
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n d"], output=["d", "d d"], groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def mean_pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    return x.sum(axis=0) / n, x.T @ x / n
