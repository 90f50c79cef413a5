"""Exact constructions and provable lower bounds on the hidden size.

Lower bound (``d ≥ 2``). With hidden size 1 the logits are ``Z_ij = q_i k_j``. A leakage
``ε₂ < 1`` forces every support logit of a row above every other logit of that row, so the
support of row ``i`` is the set of the ``|S_i|`` largest ``k_j`` (``q_i > 0``), of the
``|S_i|`` smallest (``q_i < 0``), or the whole row (``q_i = 0``). Hence for each size
``s < L`` at most two distinct supports can occur; three distinct supports of one size prove
``d ≥ 2``. Nothing stronger is claimed (the exact minimum is NP-hard to decide).

Circle construction (``d = 2``) for one nonzero per row (a permutation, or any one-hot rows):
keys on the unit circle ``k_j = (cos θ_j, sin θ_j)``, ``θ_j = 2πj/L``, and the query of row
``i`` a scaled copy of the key of its nonzero column; the gap to the next-best key is
``c·(1 − cos(2π/L))``, chosen ``≥ log(1/ε₂) + 1``.

>>> import numpy as np
>>> from symcheck.sparse.matrix_io import target_from_array
>>> lower_bound(target_from_array(np.eye(4)))[0]
2
"""

from __future__ import annotations

import math

import numpy as np

from symcheck.sparse.matrix_io import TargetMatrix


def lower_bound(target: TargetMatrix) -> tuple[int, str]:
    """A proven lower bound on the hidden size and the reason, in words."""
    csr = target.csr
    size = target.size
    seen: dict[int, set[bytes]] = {}
    for i in range(size):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        count = int(hi - lo)
        if count >= size:
            continue
        group = seen.setdefault(count, set())
        group.add(csr.indices[lo:hi].tobytes())
        if len(group) >= 3:
            return 2, (
                f"3 rows have distinct supports of size {count}; hidden size 1 allows at most "
                "2 per size (top-k or bottom-k of one key ordering)"
            )
    return 1, "trivial (no stronger bound proven)"


def circle_params(
    target: TargetMatrix, eps2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``X, W_Q, W_K`` with hidden size 2 when every row has exactly one nonzero, else None."""
    if target.max_row_nnz != 1:
        return None
    size = target.size
    theta = 2 * math.pi * np.arange(size) / size
    keys = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    gap = 2 * math.sin(math.pi / size) ** 2 if size > 1 else 1.0  # 1 - cos(2π/L), accurately
    scale = (math.log(1.0 / eps2) + 1.0) / gap
    queries = scale * keys[target.csr.indices]
    x = np.hstack([queries, keys])
    eye, zero = np.eye(2), np.zeros((2, 2))
    return x, np.vstack([eye, zero]), np.vstack([zero, eye])
