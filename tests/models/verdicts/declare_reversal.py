"""Reversal R(n) and the dihedral group D(n) on a sequence axis.

``two_sided`` mixes each token with its neighbours through a symmetric kernel (the same weight
left and right), zero-padded: reversing the sequence reverses its output, so it passes R(n)
(exit 0). ``causal`` is a running mean over the tokens so far: reversal changes what each token
sees, so it fails R(n) (exit 1).

``circular_symmetric`` is a circular convolution whose kernel is symmetric (``w[+k] = w[−k]``):
rotations and reflections of the cyclic axis both commute with it, it passes D(n) (exit 0).
``circular_asymmetric`` weighs the left and right neighbours differently: it commutes with the
rotations (C(n)) but not with the reflections, so it fails D(n) (exit 1).
"""

import numpy as np

import symcheck

SIZES = {"n": 9, "d": 4}


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` moved by ``k`` tokens, zeros shifted in."""
    out = np.zeros_like(x)
    if k > 0:
        out[k:] = x[:-k]
    elif k < 0:
        out[:k] = x[-k:]
    else:
        out[:] = x
    return out


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["R(n)"], sizes=SIZES)
def two_sided(x: np.ndarray) -> np.ndarray:
    return np.tanh(x + 0.5 * (_shift(x, 1) + _shift(x, -1)) + 0.25 * (_shift(x, 2) + _shift(x, -2)))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["R(n)"], sizes=SIZES)
def causal(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x, axis=0) / np.arange(1, len(x) + 1)[:, None]


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["D(n)"], sizes=SIZES)
def circular_symmetric(x: np.ndarray) -> np.ndarray:
    return np.tanh(x + 0.5 * (np.roll(x, 1, axis=0) + np.roll(x, -1, axis=0)))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["D(n)"], sizes=SIZES)
def circular_asymmetric(x: np.ndarray) -> np.ndarray:
    return np.tanh(x + 0.7 * np.roll(x, 1, axis=0) + 0.3 * np.roll(x, -1, axis=0))
