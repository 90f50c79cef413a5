"""Self-attention with a circular relative-position bias b[(i − j) mod n] on the scores.

The bias depends on where tokens sit, so an arbitrary permutation of the tokens changes the
output: S(n) FAILS. Cyclic shifts preserve every (i − j) mod n, so C(n) passes; the bias does
not touch the embedding, so O(d) passes. Expected: exit 1, with S(n) named as broken.

    symcheck equivariance samples/positional.py
"""

import numpy as np

import symcheck


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def relative_bias(n: int) -> np.ndarray:
    offset = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    return np.cos(2 * np.pi * offset / n) + 0.5 * np.sin(4 * np.pi * offset / n)


@symcheck.equivariant(
    inputs=["n d"],
    output="n d",
    groups=["O(d)", "S(n)", "C(n)"],
    sizes={"n": 8, "d": 16},
)
def positional_attention(x: np.ndarray) -> np.ndarray:
    scores = x @ x.T / x.shape[-1] ** 0.5 + relative_bias(x.shape[0]).astype(x.dtype)
    return softmax(scores) @ x
