"""Polynomial-kernel attention: k(x, z) = ⟨x W_q, z W_k⟩², row-normalised, values V = Z.

An even power keeps the kernel non-negative, so the coefficients are non-negative weights
that sum to one. log k = 2 log|⟨q, k⟩| is not a bilinear form: the log-bilinear R² is low.

    symcheck form samples/kernels/polynomial.py:asymmetric
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections, weighted_average

POWER = 2
W, W_Q, W_K = projections(53, K, K, K)


def poly_smooth(q: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    return weighted_average((q @ keys.T) ** POWER, values)


@symcheck.equivariant(inputs=["n d", "m d", "d k"], output="n d", groups=["O(d)", "S(n)"],
                      sizes=SIZES)
def symmetric(x: np.ndarray, k: np.ndarray, w: np.ndarray = W) -> np.ndarray:
    """W_q = W_k = w."""
    z = np.concatenate([x, k])
    return poly_smooth(x @ w, z @ w, z)


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def asymmetric(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
               wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    return poly_smooth(x @ wq, z @ wk, z)
