"""Plain softmax self-attention, no weights: an equivariant control.

Scores are inner products, outputs convex combinations of the tokens: O(d)- and S(n)-equivariant
at every n and on every input (one-hot, repeated or zero tokens, any scale, rank one). It must
PASS with every probe on. Expected: exit 0.
"""

import numpy as np

import symcheck


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def attention(x: np.ndarray) -> np.ndarray:
    return softmax(x @ x.T / np.sqrt(x.shape[-1])) @ x
