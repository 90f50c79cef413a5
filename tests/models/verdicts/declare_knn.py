"""Nearest-neighbour indices: an output whose *values* are positions along the token axis.

``knn`` returns, for each token, the positions of its ``K`` nearest other tokens, nearest
first. Permuting the tokens moves the rows *and* renames the positions they hold: with
``(g·x)[i] = x[p(i)]``, ``f(g·x)[i, j] = p⁻¹(f(x)[p(i), j])``. Declared ``n k:index(n)`` it is
S(n)-equivariant (exit 0); the same function declared with plain values, ``n k``, is not
(exit 1): a permutation changes the numbers it returns.
"""

import numpy as np

import symcheck

K = 3
SIZES = {"n": 8, "d": 3}


def _knn(x: np.ndarray) -> np.ndarray:
    dist = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    return np.argsort(dist, axis=1, kind="stable")[:, :K]


@symcheck.equivariant(inputs=["n d"], output="n k:index(n)", groups=["S(n)"], sizes=SIZES)
def knn(x: np.ndarray) -> np.ndarray:
    return _knn(x)


@symcheck.equivariant(inputs=["n d"], output="n k", groups=["S(n)"], sizes=SIZES)
def knn_plain(x: np.ndarray) -> np.ndarray:
    return _knn(x)
