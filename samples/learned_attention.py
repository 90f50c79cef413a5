"""The same attention with fixed learned projections W_Q, W_K, W_V (not co-transformed).

The weights pick out directions of the embedding space, so a rotation of the embedding that
leaves them fixed changes the output: O(d) FAILS. Permuting tokens still permutes the output:
S(n) passes. Expected: exit 1, with O(d) and the product named as broken.

    symcheck equivariance samples/learned_attention.py
"""

import numpy as np
from attention import softmax  # samples/attention.py's, beside this file

import symcheck

D = 16
_rng = np.random.default_rng(20221013)  # the "trained" weights: fixed, seeded
W_Q, W_K, W_V = (_rng.standard_normal((D, D)) / np.sqrt(D) for _ in range(3))


@symcheck.equivariant(
    inputs=["n d", "m d"],
    output="n d",
    groups=["O(d)", "S(n)"],
    sizes={"n": 8, "m": 4, "d": D},
)
def learned_attention(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    z = np.concatenate([x, k])
    w_q, w_k, w_v = (w.astype(x.dtype) for w in (W_Q, W_K, W_V))  # run in the dtype asked for
    scores = (x @ w_q) @ (z @ w_k).T / D**0.5
    return softmax(scores) @ (z @ w_v)
