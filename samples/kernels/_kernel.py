"""What the kernel samples share: their sizes, their seeded projections and the smoothing step.

Not a sample: ``exponential.py``, ``rbf.py`` and the others import it (``from _kernel import
...``, which works because symcheck imports a model file with its folder on ``sys.path``).

    W_Q, W_K = projections(56, K, K)   # two d × k matrices, seeded
    smooth(scores, z)                  # softmax over each row of scores, applied to z
"""

import numpy as np

D, K = 16, 2
SIZES = {"n": 4, "m": 2, "d": D, "k": K}


def projections(seed: int, *columns: int) -> list[np.ndarray]:
    """One ``D × c`` matrix for each ``c`` of ``columns``, drawn in order from ``seed``,
    scaled by 1/√D so that ``x W`` has entries of order one."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((D, c)) / np.sqrt(D) for c in columns]


def weighted_average(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row of non-negative kernel values ``w`` normalised to sum to one, applied to the
    values: out_i = Σ_j w_ij v_j / Σ_j w_ij."""
    return (w / w.sum(axis=1, keepdims=True)) @ values


def smooth(scores: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row-normalised exponential kernel applied to the values (a stable softmax)."""
    return weighted_average(np.exp(scores - scores.max(axis=1, keepdims=True)), values)
