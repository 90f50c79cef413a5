"""Plain softmax self-attention, no weights: an equivariant control.

Scores are inner products, outputs convex combinations of the tokens: O(d)- and S(n)-equivariant
at every n and on every input (one-hot, repeated or zero tokens, any scale, rank one). It must
PASS with every probe on. Expected: exit 0.
"""

import numpy as np

import symcheck

from _zoo import self_attention


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def attention(x: np.ndarray) -> np.ndarray:
    return self_attention(x)
