"""The paper's construction: a logit target and a Gaussian (Johnson–Lindenstrauss) projection.

Likhosherstov, Choromanski & Weller (arXiv 2106.03764):

1. logit target ``B``: on the support ``B_ij = Δ + log(A_ij / max_k A_ik)``, zero elsewhere,
   ``Δ = log(1/ε₂) + log R + ε₁``; ``softmax(B)`` meets the precision exactly (ε₁ = 0 and
   leakage ``≤ ε₂·e^{-ε₁}``);
2. ``G`` is ``d × L`` standard Gaussian, ``X⁽¹⁾ = B Gᵀ/√d``, ``X⁽²⁾ = Gᵀ/√d`` so that
   ``E[X⁽¹⁾X⁽²⁾ᵀ] = B``;
3. ``X = [X⁽¹⁾ | X⁽²⁾]`` (width ``2d``), ``W_Q = [I; 0]``, ``W_K = [0; I]`` (``2d × d``).

The *hidden size* reported is ``d``, the column count of ``W_Q`` (the rank of
``W_Q W_Kᵀ``), the same quantity reported for every method.

``G`` is drawn in fixed chunks of rows from ``default_rng(seed)``, so ``X`` is a deterministic
function of ``(A, ε, d, seed)``. When ``X`` would be too large to hold (the construction needs
``d`` far above ``L``), the logits ``X⁽¹⁾X⁽²⁾ᵀ = B (GᵀG)/d`` are accumulated chunk by chunk
over the inner dimension — the same product, summed in a different order — and measured with
the shared blocked metric.

>>> import numpy as np
>>> from symcheck.sparse.matrix_io import target_from_array
>>> t = target_from_array(np.eye(3))
>>> B, delta = logit_target(t, eps1=0.1, eps2=0.1)
>>> round(delta, 4), bool(B.toarray()[0, 0] == delta)
(2.4026, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from symcheck.sparse.matrix_io import TargetMatrix
from symcheck.sparse.precision import Precision, block_rows, precision_from_logit_blocks

_G_CHUNK = 2048


def logit_target(target: TargetMatrix, eps1: float, eps2: float) -> tuple[sp.csr_matrix, float]:
    """The paper's ``B`` (sparse, same pattern as ``A``) and its margin ``Δ``."""
    csr = target.csr
    delta = math.log(1.0 / eps2) + math.log(target.max_ratio) + eps1
    row_max = np.maximum.reduceat(csr.data, csr.indptr[:-1])
    per_entry_max = np.repeat(row_max, np.diff(csr.indptr))
    data = delta + np.log(csr.data / per_entry_max)
    b = sp.csr_matrix((data, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape)
    return b, delta


def paper_bound(target: TargetMatrix, eps1: float, eps2: float, constant: float = 1.0) -> float:
    """``C · N · ln²(R/ε₂) · ln L / ε₁²``, the paper's ``d = O(·)`` with the constant ``C``.

    The paper proves the order, not the constant; ``C = 1`` is what symcheck prints.
    """
    n = target.max_row_nnz
    r = target.max_ratio
    size = max(target.size, 2)
    return constant * n * math.log(r / eps2) ** 2 * math.log(size) / eps1**2


def _gaussian_chunks(size: int, d: int, seed: int) -> Iterator[np.ndarray]:
    """The rows of ``G`` (``d × L``) in fixed-size chunks, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    for start in range(0, d, _G_CHUNK):
        yield rng.standard_normal((min(_G_CHUNK, d - start), size))


def jl_params(
    target: TargetMatrix, eps1: float, eps2: float, d: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X = [BGᵀ/√d | Gᵀ/√d]``, ``W_Q = [I; 0]``, ``W_K = [0; I]`` for projection size ``d``."""
    b, _ = logit_target(target, eps1, eps2)
    g = np.vstack(list(_gaussian_chunks(target.size, d, seed)))
    x2 = g.T / math.sqrt(d)
    x1 = np.asarray(b @ x2)
    x = np.hstack([x1, x2])
    eye = np.eye(d)
    zero = np.zeros((d, d))
    return x, np.vstack([eye, zero]), np.vstack([zero, eye])


def params_nbytes(size: int, d: int) -> int:
    """Bytes of ``X`` (``L × 2d``) plus ``W_Q`` and ``W_K`` (``2d × d`` each) in float64."""
    return 8 * (size * 2 * d + 2 * (2 * d * d))


def jl_measure(target: TargetMatrix, eps1: float, eps2: float, d: int, seed: int) -> Precision:
    """Precision of the construction with projection size ``d`` and seed ``seed``.

    Logits ``X⁽¹⁾X⁽²⁾ᵀ = B (Σ_chunks G_cᵀG_c)/d``, accumulated over chunks of ``G`` so memory is
    ``O(L² + chunk × L)`` whatever ``d`` is; they are then measured by the shared metric.
    """
    size = target.size
    b, _ = logit_target(target, eps1, eps2)
    gram = np.zeros((size, size))
    for chunk in _gaussian_chunks(size, d, seed):
        gram += chunk.T @ chunk
    gram /= d
    step = block_rows(size)

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, size, step):
            yield start, np.asarray(b[start : start + step] @ gram)

    return precision_from_logit_blocks(target.csr, blocks())


def jl_measure_wishart(
    target: TargetMatrix, eps1: float, eps2: float, d: int, seed: int
) -> Precision:
    """Precision of the construction with ``GᵀG`` drawn from its exact law (for ``d ≥ L``).

    ``GᵀG`` for a ``d × L`` standard Gaussian ``G`` is Wishart ``W_L(d, I)``; the Bartlett
    decomposition draws it as ``C Cᵀ`` (``C`` lower triangular, ``C_ii² ~ χ²_{d−i}``,
    ``C_ij ~ N(0, 1)`` below the diagonal) in ``O(L³)`` time whatever ``d`` is. The logits
    ``B·GᵀG/d`` then have exactly the distribution of the construction's, so the success rate
    at ``d`` is the same — but there are no parameters ``X`` to return: this is a statistical
    tool (the benchmark uses it to find the ``d`` the construction needs at large ``L``), not a
    solution. For ``d < L`` it falls back to :func:`jl_measure`.
    """
    size = target.size
    if d < size:
        return jl_measure(target, eps1, eps2, d, seed)
    rng = np.random.default_rng([seed, 1])
    chol = np.tril(rng.standard_normal((size, size)), k=-1)
    chol[np.diag_indices(size)] = np.sqrt(rng.chisquare(d - np.arange(size)))
    gram = chol @ chol.T
    gram /= d
    b, _ = logit_target(target, eps1, eps2)
    z = np.asarray(b @ gram)
    return precision_from_logit_blocks(target.csr, [(0, z)])
