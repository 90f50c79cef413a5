"""Row normalisation ``x_i / ‖x_i‖``: equivariant controls that are undefined at a zero token.

Scaling each token to unit length commutes with every orthogonal map (``‖x Qᵀ‖ = ‖x‖``) and with
every permutation of the tokens: O(d) and S(n) hold wherever the map is defined. At a zero token
it is not defined: ``normalise`` returns NaN there (0/0, on both sides of the comparison) and
``normalise_strict`` raises. A probe outside the model's domain is a note, never a FAIL.
Expected: exit 0 for both.
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def normalise(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # 0/0 at a zero token is NaN: that is the point
        return x / np.linalg.norm(x, axis=-1, keepdims=True)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def normalise_strict(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("a zero token has no direction")
    return x / norms
