"""A sharp softmax mix followed by centring, all in float64 numpy: no float32 anywhere.

``y = A x − mean_i (A x)_i`` with ``A = softmax(16 x xᵀ)``: O(d)- and S(n)-equivariant in exact
arithmetic. On the ×1e-6 scale probe the scores are ~1e-11, ``A`` is uniform but for a ~1e-11
term and every row of ``A x`` is the mean token plus that term: the centring subtracts two
nearly equal numbers and keeps float64's round-off at ~1e-6 of what is left, re-drawn by any
perturbation (Gaussian inputs stay at ~1e-16). The model is equivariant to float64's own
precision: it passes with a note that says what was measured (cancellation on the tiny-scale
probe) and never claims float32 computation, which is not there. Expected: exit 0, no
"float32" in the output.
"""

import numpy as np

import symcheck

from _zoo import softmax


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def centring(x: np.ndarray) -> np.ndarray:
    mixed = softmax(16.0 * x @ x.T) @ x
    return mixed - mixed.mean(axis=0, keepdims=True)
