"""Positional attention as a product kernel (Tsai et al. 2019): k = k_F(f_q, f_k)·k_T(t_q, t_k).

k_F is the exponential kernel of the features, k_T(t_q, t_k) = exp(−(t_q − t_k)²/(2σ²)) of
the token positions t = 0, …, n−1 (knowledge vectors have no position: k_T = 1 for them).
The positions are tied to where a token sits, so permuting the tokens changes the output:
S(n) fails, and the coefficients do not permute with the tokens. The embedding is untouched
by the positions: with the weights as knowledge O(d) passes and the form holds otherwise.

    symcheck form samples/kernels/positional.py
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections, smooth

SIGMA = 1.5
W_Q, W_K = projections(55, K, K)


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def product_kernel(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
                   wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    t = np.arange(len(x), dtype=np.float64)
    log_kt = np.zeros((len(x), len(z)))
    log_kt[:, : len(x)] = -((t[:, None] - t[None, :]) ** 2) / (2 * SIGMA**2)
    s = (x @ wq) @ (z @ wk).T / np.sqrt(K) + log_kt  # log of k_F · k_T
    return smooth(s, z)
