"""Exponential-kernel (softmax) attention over a sequence X and a knowledge set K.

Attention as a kernel smoother (Tsai et al. 2019): out_i = Σ_j k(x_i, z_j) v_j / Σ_j k(x_i, z_j)
over the keys z_j of Z = [X; K], here with the exponential kernel
k(x, z) = exp(⟨x W_q, z W_k⟩ / √k), i.e. softmax attention. Values are the keys themselves
(V = Z) except in ``with_values``, whose value map W_v = W_in W_outᵀ is given as two factors
so that each is a set of vectors of the embedding (spec "d r").

The weights are parameters with array defaults (fixed, seeded). Declared with weight specs
"d k", a rotation of the embedding turns them too (weights as knowledge): O(d) passes.
Held fixed (``symcheck form ... --weights fixed``), a rotation changes the scores: O(d) fails.

    symcheck equivariance samples/kernels/exponential.py:asymmetric
    symcheck form samples/kernels/exponential.py:asymmetric
    symcheck form samples/kernels/exponential.py:asymmetric --weights fixed
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections, smooth

R = 2
W, W_Q, W_K, W_IN, W_OUT = projections(51, K, K, K, R, R)


@symcheck.equivariant(inputs=["n d", "m d", "d k"], output="n d", groups=["O(d)", "S(n)"],
                      sizes=SIZES)
def symmetric(x: np.ndarray, k: np.ndarray, w: np.ndarray = W) -> np.ndarray:
    """W_q = W_k = w."""
    z = np.concatenate([x, k])
    return smooth((x @ w) @ (z @ w).T / np.sqrt(K), z)


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def asymmetric(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
               wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    return smooth((x @ wq) @ (z @ wk).T / np.sqrt(K), z)


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k", "d r", "d r"], output="n d",
                      groups=["O(d)", "S(n)"], sizes={**SIZES, "r": R})
def with_values(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q, wk: np.ndarray = W_K,
                w_in: np.ndarray = W_IN, w_out: np.ndarray = W_OUT) -> np.ndarray:
    """Values z W_in W_outᵀ: every output lies in the span of W_out's columns, not of Z."""
    z = np.concatenate([x, k])
    return smooth((x @ wq) @ (z @ wk).T / np.sqrt(K), z @ w_in @ w_out.T)
