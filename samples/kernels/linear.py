"""Linear-kernel attention: k(x, z) = ⟨x W_q, z W_k⟩, averaged over the n + m keys, V = Z.

The linear kernel takes both signs, so normalising by Σ_j k(x_i, z_j) could divide by
(nearly) zero; this sample divides by the number of keys instead. The coefficients are then
of both signs and their rows do not sum to one: equivariant, in the attention form, but not
a weighted average.

    symcheck form samples/kernels/linear.py:asymmetric
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections

W, W_Q, W_K = projections(54, K, K, K)


@symcheck.equivariant(inputs=["n d", "m d", "d k"], output="n d", groups=["O(d)", "S(n)"],
                      sizes=SIZES)
def symmetric(x: np.ndarray, k: np.ndarray, w: np.ndarray = W) -> np.ndarray:
    """W_q = W_k = w."""
    z = np.concatenate([x, k])
    return ((x @ w) @ (z @ w).T / len(z)) @ z


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def asymmetric(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
               wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    return ((x @ wq) @ (z @ wk).T / len(z)) @ z
