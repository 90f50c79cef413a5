"""Directions to the other tokens, weighted by closeness: equivariant, and ill-conditioned at
near-equal tokens (a negative control for cancellation).

``out_i = Σ_{j≠i} w_ij (x_i − x_j) / ‖x_i − x_j‖`` with ``w_i = softmax_j(−‖x_i − x_j‖)``:
distances and differences turn with O(d) and move with S(n), so the model is equivariant on
every input. For two tokens ``δ`` apart (relative) the difference carries the round-off of the
inputs at ``resolution / δ`` of itself, and its direction is that inaccurate: rotating the input
in floating point re-draws it, and the error grows to ~1e-1 at ``δ = 1e-15``. That is the
rounding of ``g·x``, not a broken symmetry, and the check measures it so (the output moves as
much when the input moves by its own round-off). Exactly equal tokens divide 0 by 0 (outside
the domain). Expected: exit 0 (with notes).
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def directions(x: np.ndarray) -> np.ndarray:
    diff = x[:, None] - x[None]
    dist = np.linalg.norm(diff, axis=-1)
    off = ~np.eye(len(x), dtype=bool)
    unit = np.where(off[..., None], diff / np.where(off, dist, 1.0)[..., None], 0.0)
    w = np.where(off, np.exp(-dist), 0.0)
    return np.einsum("ij,ijd->id", w / w.sum(axis=-1, keepdims=True), unit)
