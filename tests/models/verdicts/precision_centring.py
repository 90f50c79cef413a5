"""A softmax mix followed by centring, all in float64 numpy: no float32 anywhere.

``y = A x − mean_i (A x)_i`` with ``A = softmax(x xᵀ / √d)``: O(d)- and S(n)-equivariant in
exact arithmetic. On the ×1e-6 scale probe the scores are ~1e-12, ``A`` is uniform to float64
precision and every row of ``A x`` is the mean token plus a ~1e-12 relative term: the centring
subtracts two nearly equal numbers and keeps only the round-off of float64, re-drawn by any
perturbation. The model is equivariant to float64's own precision; a note may say so, but must
not claim float32 computation, which is not there. Expected: exit 0, no "float32" in the output.
"""

import numpy as np

import symcheck

from _zoo import softmax


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def centring(x: np.ndarray) -> np.ndarray:
    mixed = softmax(x @ x.T / np.sqrt(x.shape[-1])) @ x
    return mixed - mixed.mean(axis=0, keepdims=True)
