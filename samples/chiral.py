"""A chiral model in 3-D: each token is mixed with its cross product with the mean token.

``(Qa) × (Qb) = det(Q) · Q(a × b)``, so rotations (SO(3)) commute with the model but
reflections flip the sign of the cross-product term: O(3) FAILS on every seed, caught by the
reflection probe even when no Haar draw has det −1. Expected: exit 1, SO(d) passes.

    symcheck equivariance samples/chiral.py
"""

import numpy as np

import symcheck


@symcheck.equivariant(
    inputs=["n d"],
    output="n d",
    groups=["SO(d)", "O(d)"],
    sizes={"n": 6, "d": 3},
)
def chiral(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=0, keepdims=True)
    return x + np.cross(x, mean)
