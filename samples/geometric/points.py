"""Point clouds under the Euclidean group: what translations do to points and to vectors.

Points (``c:point``) move as ``P Qᵀ + t``; differences of points are plain vectors
(``c``), which rotate but ignore ``t``.

    symcheck equivariance samples/geometric/points.py:update           # E(c) × S(n): exit 0
    symcheck equivariance samples/geometric/points.py:dilate           # E(c) fails: exit 1
    symcheck equivariance samples/geometric/points.py:dilate --group 'O(c)'          # exit 0
    symcheck equivariance samples/geometric/points.py:displacement     # a vector: exit 0
    symcheck equivariance samples/geometric/points.py:origin_pull      # E(c) fails: exit 1
"""

import numpy as np

import symcheck

SIZES = {"n": 6, "c": 3}


@symcheck.equivariant(inputs="n c:point", output="n c:point", groups=["E(c)", "S(n)"],
                      sizes=SIZES)
def update(p: np.ndarray) -> np.ndarray:
    """Each point moves away from the centroid by an amount that depends on its distance."""
    centred = p - p.mean(axis=0, keepdims=True)
    return p + 0.1 * centred * (centred**2).sum(axis=1, keepdims=True)


@symcheck.equivariant(inputs="n c:point", output="n c:point", groups=["E(c)", "S(n)"],
                      sizes=SIZES)
def dilate(p: np.ndarray) -> np.ndarray:
    """A dilation about the origin: it commutes with rotations, not with translations."""
    return 1.1 * p


@symcheck.equivariant(inputs="n c:point", output="n c", groups=["E(c)", "S(n)"], sizes=SIZES)
def displacement(p: np.ndarray) -> np.ndarray:
    """``P − mean(P)``: a difference of points, so a vector (translations drop out)."""
    return p - p.mean(axis=0, keepdims=True)


@symcheck.equivariant(inputs="n c:point", output="n c:point", groups=["E(c)", "S(n)"],
                      sizes=SIZES)
def origin_pull(p: np.ndarray) -> np.ndarray:
    """Like :func:`update`, but measured from the origin instead of the centroid."""
    return p + 0.1 * p * (p**2).sum(axis=1, keepdims=True)
