"""Block-local ("chunked") self-attention, chunk 8, declared at n = 6: a planted violation.

Tokens attend only within consecutive blocks of ``CHUNK = 8`` positions. For n ≤ 8 there is one
block, i.e. full softmax attention, which is S(n)-equivariant, so every check at the declared
n = 6 passes. For n > 8 a permutation that moves a token to another block changes which tokens
it sees: S(n) is broken (a size probe at n ≥ 4·6 + 1 = 25 has four blocks). O(d) holds at every
n (each block is plain attention). Expected: exit 1 once sizes are varied.
"""

import numpy as np

import symcheck

from _zoo import self_attention

CHUNK = 8


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def chunked_attention(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for start in range(0, len(x), CHUNK):
        out[start:start + CHUNK] = self_attention(x[start:start + CHUNK])
    return out
