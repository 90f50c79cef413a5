"""A DNA convolution, reverse-complement equivariant or not (channels A, C, G, T).

Reversing a sequence and complementing its bases (A↔T, C↔G: channel permutation ``P =
[3, 2, 1, 0]``) is the symmetry of double-stranded DNA. A same-padded convolution with kernel
``W[k, c, o]`` commutes with it, output channels complemented alike, exactly when
``W[k, c, o] = W[K − 1 − k, P c, P o]``. ``rc_conv`` has such a kernel (a random one averaged
with its reverse-complement): declared with ``R(n)`` on ``n c:complement(3,2,1,0)`` it passes
(exit 0). ``plain_conv`` has the random kernel itself: it fails (exit 1).
"""

import numpy as np

import symcheck

P = np.array([3, 2, 1, 0])
K = 5
_V = np.random.default_rng(7).standard_normal((K, 4, 4))
RC_KERNEL = 0.5 * (_V + _V[::-1][:, P][:, :, P])
SPEC = "n c:complement(3,2,1,0)"


def conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Same-padded 1-D convolution of ``x`` (n, 4) with ``w`` (K, 4, 4), zeros outside."""
    n, half = len(x), len(w) // 2
    padded = np.concatenate([np.zeros((half, 4)), x, np.zeros((half, 4))])
    return sum(padded[k:k + n] @ w[k] for k in range(len(w)))


@symcheck.equivariant(inputs=[SPEC], output=SPEC, groups=["R(n)"], sizes={"n": 12})
def rc_conv(x: np.ndarray) -> np.ndarray:
    return np.tanh(conv(x, RC_KERNEL))


@symcheck.equivariant(inputs=[SPEC], output=SPEC, groups=["R(n)"], sizes={"n": 12})
def plain_conv(x: np.ndarray) -> np.ndarray:
    return np.tanh(conv(x, _V))
