"""RBF-kernel attention: k(x, z) = exp(−‖x W_q − z W_k‖² / (2√k)), values V = Z = [X; K].

The kernel depends on a distance, not an inner product, yet ‖q − k‖² expands into inner
products, so with the weights as knowledge the form holds. Unlike softmax, log k(x_i, z_j)
has a −‖z_j W_k‖² term that no single bilinear form x_iᵀ W z_j (plus a per-row offset)
captures, so the log-bilinear R² is below 1.

    symcheck form samples/kernels/rbf.py:asymmetric
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections, smooth

W, W_Q, W_K = projections(52, K, K, K)


def rbf_smooth(q: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    sq = ((q[:, None, :] - keys[None, :, :]) ** 2).sum(-1)
    s = -sq / (2 * np.sqrt(K))
    return smooth(s, values)


@symcheck.equivariant(inputs=["n d", "m d", "d k"], output="n d", groups=["O(d)", "S(n)"],
                      sizes=SIZES)
def symmetric(x: np.ndarray, k: np.ndarray, w: np.ndarray = W) -> np.ndarray:
    """W_q = W_k = w."""
    z = np.concatenate([x, k])
    return rbf_smooth(x @ w, z @ w, z)


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def asymmetric(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
               wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    return rbf_smooth(x @ wq, z @ wk, z)
