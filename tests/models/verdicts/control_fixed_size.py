"""Self-attention that accepts only the declared n = 6: an equivariant control for size probes.

Plain softmax attention (O(d), S(n)) behind a shape check that raises ``ValueError`` for any
other sequence length, as models with a fixed context do. A size the model rejects is outside
its domain: a note in the report, never a FAIL. Expected: exit 0.
"""

import numpy as np

import symcheck

from _zoo import self_attention

N = 6


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": N, "d": 8})
def fixed_size_attention(x: np.ndarray) -> np.ndarray:
    if len(x) != N:
        raise ValueError(f"this model takes exactly {N} tokens, got {len(x)}")
    return self_attention(x)
