"""What the numpy models of the zoo share: softmax self-attention, and a fixed direction.

Not a model (symcheck never picks a name that starts with ``_``): each zoo file imports from it
as ``from _zoo import ...``, which works because symcheck imports a model file with its folder
on ``sys.path``. Each file keeps its own ``@symcheck.equivariant`` declaration and docstring.
"""

import numpy as np


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def self_attention(x: np.ndarray) -> np.ndarray:
    """``softmax(x xᵀ / √d) x``: O(d)- and S(n)-equivariant on every input."""
    return softmax(x @ x.T / np.sqrt(x.shape[-1])) @ x


def rms(x: np.ndarray) -> np.ndarray:
    """The root mean square of all of ``x``: a term scaled by it grows with the input."""
    return np.sqrt(np.mean(x**2))


def unit_direction(seed: int, d: int) -> np.ndarray:
    """A fixed random unit vector in ``d`` dimensions: it does not turn with the embedding."""
    u = np.random.default_rng(seed).standard_normal(d)
    return u / np.linalg.norm(u)
