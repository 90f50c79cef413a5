"""Self-attention of a sequence over itself and a knowledge set, with no learned weights.

Scores are inner products and outputs are convex combinations of the input and knowledge
vectors, so rotating the embedding rotates the output (O(d)) and permuting the tokens permutes
the output (S(n)). Expected: PASS, exit 0.

    symcheck equivariance samples/attention.py
"""

import numpy as np

import symcheck


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@symcheck.equivariant(
    inputs=["n d", "m d"],
    output="n d",
    groups=["O(d)", "S(n)"],
    sizes={"n": 8, "m": 4, "d": 16},
)
def attention(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    z = np.concatenate([x, k])  # tokens and knowledge, (n + m) × d
    return softmax(x @ z.T / x.shape[-1] ** 0.5) @ z  # a Python float keeps x's dtype
