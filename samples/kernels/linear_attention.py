"""Linear attention with a feature map: k(x, z) = ⟨φ(q), φ(k)⟩, φ(u) = elu(u) + 1 per coordinate.

``projected`` applies φ to the projections q = x W_q, k = z W_k, whose coordinates are indexed
by the projection axis k, not by the embedding: a rotation that turns the weights too leaves
q and k unchanged, so with the weights as knowledge O(d) passes despite the coordinatewise
nonlinearity. ``embedding`` applies φ to the embedding coordinates themselves (no
projection): no co-transform can help, and O(d) fails.

    symcheck form samples/kernels/linear_attention.py:projected
    symcheck form samples/kernels/linear_attention.py:embedding
"""

import numpy as np

import symcheck

from _kernel import SIZES, K, projections

W_Q, W_K = projections(56, K, K)


def phi(u: np.ndarray) -> np.ndarray:
    """elu(u) + 1: positive, applied coordinate by coordinate."""
    return np.where(u > 0, u + 1.0, np.exp(np.minimum(u, 0.0)))


def linear_smooth(fq: np.ndarray, fk: np.ndarray, values: np.ndarray) -> np.ndarray:
    num = fq @ (fk.T @ values)  # the linear-time order: φ(Q) (φ(K)ᵀ V)
    return num / (fq @ fk.sum(axis=0))[:, None]


@symcheck.equivariant(inputs=["n d", "m d", "d k", "d k"], output="n d",
                      groups=["O(d)", "S(n)"], sizes=SIZES)
def projected(x: np.ndarray, k: np.ndarray, wq: np.ndarray = W_Q,
              wk: np.ndarray = W_K) -> np.ndarray:
    z = np.concatenate([x, k])
    return linear_smooth(phi(x @ wq), phi(z @ wk), z)


@symcheck.equivariant(inputs=["n d", "m d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={k: v for k, v in SIZES.items() if k != "k"})
def embedding(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    z = np.concatenate([x, k])
    return linear_smooth(phi(x), phi(z), z)
