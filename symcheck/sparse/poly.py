"""The exact trigonometric construction: hidden size ``d = 2k`` for at most ``k`` nonzeros per row.

Keys. Column ``j`` sits at an angle ``θ_j`` on the circle; its key is
``φ(θ_j) = (cos θ_j, sin θ_j, …, cos kθ_j, sin kθ_j)`` (``2k`` numbers). A query ``w`` then
gives the logits ``w·φ(θ_j) = p(θ_j) − p₀`` of a trigonometric polynomial ``p`` of degree ``k``
(``p₀`` its constant term, which softmax ignores).

Rows. For row ``i`` with support ``S`` (``s ≤ k`` columns) and values ``a_ij``:

- ``q_i = c + φ·w``: the interpolant ``q_i(θ_j) = log a_ij`` on ``S`` with the smallest
  ``‖w‖`` (the constant ``c`` is free, so a one-column row gets ``w = 0``);
- ``r_i(θ) = ∏_{j∈S} (1 − cos(θ − θ_j))``: degree ``s``, ``≥ 0``, zero exactly on ``S``;
- ``p_i = q_i − λ_i r_i`` with ``λ_i = (max_{j∉S} q_i(θ_j) − min_{j∈S} log a_ij + log(1/ε₂) +
  margin) / min_{j∉S} r_i(θ_j)``; the query is ``p_i``'s coefficients without the constant.

On the support the logits are ``log a_ij`` plus one row constant (ratio error 0 in exact
arithmetic); off it they are at least ``log(1/ε₂) + margin`` below the smallest support logit.

Nothing here is ``O(L²)``. The maximum of ``q_i`` is bounded by ``c + Σ_m |ŵ_m|`` (the ℓ¹ norm of
its harmonics), which holds on the whole circle. The minimum of ``r_i`` over the off-support
columns is computed exactly from ``O(s²)`` candidates: ``r_i'`` is a trigonometric polynomial of
degree ``s`` with at most ``2s`` zeros, and it already has ``2s`` — one at each (double) zero of
``r_i`` and at least one on each arc between consecutive support points — so ``r_i`` is
unimodal on every such arc and its smallest value at a column off ``S`` is attained at a column
next to a support point in sorted angle order (skipping the other support columns). Whatever
these bounds say, a claim rests on the blocked verification of the returned ``X, W_Q, W_K``.

Layouts. ``uniform`` puts column ``j`` at ``2πj/L``; two columns of one row that happen to be
neighbours make ``min r`` of order ``(2π/L)⁴`` and ``λ`` too large for float64 at large ``L``.
``colour`` colours the column co-occurrence graph greedily (two columns adjacent when some row
holds both) and gives every colour class its own arc, arcs separated by gaps: two columns of a
row then always lie on different arcs, at least one gap apart, and only the factor of the
nearest neighbour column is small.

>>> import numpy as np
>>> from symcheck.sparse.matrix_io import target_from_array
>>> a = np.array([[1.0, 2.0, 0, 0], [0, 1.0, 0, 1.0], [0, 0, 1.0, 0], [3.0, 0, 0, 1.0]])
>>> sol = construct(target_from_array(a), eps2=0.1)
>>> sol.d, sol.layout
(4, 'colour')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from symcheck.sparse.matrix_io import TargetMatrix

LAYOUTS = ("colour", "uniform")
MARGIN = 1.0  # extra room below log(1/ε₂), absorbs round-off of the products
# Gap fractions construct() tries besides (k − 1)/k (benchmarks/RESULTS.md, "gap fraction").
GAP_FRACTIONS = (0.7, 0.6, 0.5, 0.4)
# Rows handled at once (arrays of rows × s × s and rows × 2s stay a few MiB).
_ROW_CHUNK = 8192


@dataclass
class PolySolution:
    """Keys and queries of the construction, the layout used and its conditioning."""

    k: int
    layout: str
    angles: np.ndarray  # θ_j per column
    keys: np.ndarray  # L × 2k
    queries: np.ndarray  # L × 2k
    lam: np.ndarray  # λ_i per row
    colours: int  # arcs used (1 for uniform)
    gap_fraction: float = 0.0  # of the circle, between the arcs (0 for one arc)

    @property
    def d(self) -> int:
        return 2 * self.k

    @property
    def query_norm(self) -> float:
        """The largest ℓ¹ norm of a query: a bound on the terms a logit sums (keys ≤ 1)."""
        return float(np.abs(self.queries).sum(axis=1).max()) if self.queries.size else 0.0

    @property
    def max_lambda(self) -> float:
        return float(self.lam.max()) if self.lam.size else 0.0

    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X = [queries | keys]``, ``W_Q = [I; 0]``, ``W_K = [0; I]``."""
        d = self.d
        eye, zero = np.eye(d), np.zeros((d, d))
        return np.hstack([self.queries, self.keys]), np.vstack([eye, zero]), np.vstack([zero, eye])


def cooccurrence(csr: sp.csr_matrix) -> sp.csr_matrix:
    """Column co-occurrence graph: ``j ~ j'`` when some row holds both (no self loops)."""
    pattern = sp.csr_matrix(
        (np.ones(csr.nnz, dtype=np.int32), csr.indices, csr.indptr), shape=csr.shape
    )
    graph = sp.csr_matrix(pattern.T @ pattern)
    graph.setdiag(0)
    graph.eliminate_zeros()
    graph.sort_indices()
    return graph


def greedy_colouring(graph: sp.csr_matrix) -> np.ndarray:
    """A proper colouring, vertices in order of decreasing degree (Welsh–Powell), greedy.

    Colours are ``0, 1, …``; at most ``max degree + 1`` of them. One pass over the vertices in
    Python with the neighbour lists as numpy slices: ``O(L + edges)``.

    >>> g = cooccurrence(sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1.0]])))
    >>> greedy_colouring(g).tolist()
    [0, 1, 2]
    """
    n = graph.shape[0]
    indptr, indices = graph.indptr, graph.indices
    degree = np.diff(indptr)
    order = np.argsort(-degree, kind="stable")
    colour = np.full(n, -1, dtype=np.int64)
    width = int(degree.max()) + 2 if n else 1
    used = np.zeros(width, dtype=np.int64)  # used[c] == stamp: colour c taken by a neighbour
    for stamp, v in enumerate(order.tolist(), start=1):
        taken = colour[indices[indptr[v] : indptr[v + 1]]]
        used[taken[taken >= 0]] = stamp
        colour[v] = int(np.argmax(used != stamp))
    return colour


def layout_angles(
    target: TargetMatrix, layout: str = "colour", gap_fraction: float | None = None,
    colour: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Distinct angles in ``[0, 2π)`` for the columns, and the number of arcs.

    ``colour``: colour class ``c`` (of ``n_c`` columns) gets an arc of length proportional to
    ``n_c``, evenly filled; the arcs are separated by equal gaps totalling ``gap_fraction`` of
    the circle. ``(k − 1)/k`` (``k`` the largest row support, the default here) maximises the
    worst-case ``min r ≈ h²·g^{2(k−1)}`` (``h`` the spacing within an arc, ``g`` the gap);
    :func:`construct` chooses among several fractions by the round-off bound instead.
    ``colour`` is the colouring when already computed.
    """
    size = target.size
    if layout == "uniform":
        return 2 * math.pi * np.arange(size) / size, 1
    if layout != "colour":
        raise ValueError(f"unknown layout {layout!r}")
    if colour is None:
        colour = greedy_colouring(cooccurrence(target.csr))
    n_col = int(colour.max()) + 1
    if n_col == 1:
        return 2 * math.pi * np.arange(size) / size, 1
    k = target.max_row_nnz
    frac = (k - 1) / k if gap_fraction is None else gap_fraction
    gap = 2 * math.pi * frac / n_col
    spacing = 2 * math.pi * (1 - frac) / size  # within an arc
    # Columns by colour class, then by index: the i-th in that order sits at i·h plus one gap
    # per arc before its own, so arc c is evenly filled and followed by a gap.
    order = np.lexsort((np.arange(size), colour))
    angles = np.empty(size)
    angles[order] = np.arange(size) * spacing + colour[order] * gap
    return angles, n_col


def keys_at(angles: np.ndarray, k: int) -> np.ndarray:
    """``φ(θ) = (cos θ, sin θ, …, cos kθ, sin kθ)`` for each angle (shape ``(..., 2k)``)."""
    m = np.arange(1, k + 1)
    arg = angles[..., None] * m
    out = np.empty((*angles.shape, 2 * k))
    out[..., 0::2] = np.cos(arg)
    out[..., 1::2] = np.sin(arg)
    return out


def _r_coefficients(theta: np.ndarray, k: int) -> np.ndarray:
    """Non-constant real coefficients (length ``2k``, zero above degree ``s``) of
    ``r(θ) = ∏_j (1 − cos(θ − θ_j))`` for each row of ``theta`` (``n × s``).

    Each factor is ``1 − ½e^{iθ}e^{−iθ_j} − ½e^{−iθ}e^{iθ_j}``; the product's coefficients are
    convolved factor by factor (a loop over ``s``, vectorised over rows).
    """
    n, s = theta.shape
    coef = np.zeros((n, 2 * s + 1), dtype=np.complex128)  # powers −s..s, index m + s
    coef[:, s] = 1.0
    for j in range(s):
        e = np.exp(-1j * theta[:, j])[:, None]
        new = coef.copy()
        new[:, 1:] += -0.5 * e * coef[:, :-1]  # times e^{iθ}·(−½e^{−iθ_j})
        new[:, :-1] += -0.5 * np.conj(e) * coef[:, 1:]  # times e^{−iθ}·(−½e^{iθ_j})
        coef = new
    out = np.zeros((n, 2 * k))
    pos = coef[:, s + 1 :]  # powers 1..s: r = c₀ + Σ 2Re(c_m) cos mθ − 2Im(c_m) sin mθ
    out[:, 0 : 2 * s : 2] = 2 * pos.real
    out[:, 1 : 2 * s : 2] = -2 * pos.imag
    return out


def _min_r_off_support(
    theta: np.ndarray, cols: np.ndarray, angles: np.ndarray, sorted_cols: np.ndarray,
    rank: np.ndarray,
) -> np.ndarray:
    """``min_{c∉S} r(θ_c)`` per row, from the columns next to each support point (see module)."""
    n, s = cols.shape
    size = angles.size
    if size <= s:
        return np.full(n, np.inf)
    # r is unimodal on each arc between consecutive support points, so the smallest value at
    # a column off S is at the first or last column of an arc: a sorted-order neighbour of a
    # support point (a neighbour that is itself in S means that arc holds no column).
    offsets = np.array([1, -1])
    cand = sorted_cols[(rank[cols][:, :, None] + offsets) % size].reshape(n, -1)  # n × 2s
    in_support = (cand[:, :, None] == cols[:, None, :]).any(axis=2)
    diff = angles[cand][:, :, None] - theta[:, None, :]
    # 1 − cos x = 2 sin²(x/2): no cancellation for the small angles that matter here.
    vals = np.prod(2 * np.sin(diff / 2) ** 2, axis=2)
    vals[in_support] = np.inf
    return vals.min(axis=1)


def construct(
    target: TargetMatrix,
    eps2: float,
    *,
    layout: str = "colour",
    k: int | None = None,
    margin: float = MARGIN,
    gap_fraction: float | None = None,
) -> PolySolution:
    """Keys and queries of the ``d = 2k`` construction (``k`` defaults to the largest support).

    With the ``colour`` layout and no ``gap_fraction``, the construction is built for each of
    :data:`GAP_FRACTIONS` and ``(k − 1)/k``, and the one with the smallest largest query ℓ¹
    norm is kept: the keys are bounded by 1, so that norm bounds the terms each logit sums,
    and with it the float64 round-off of the support logits (measured in
    benchmarks/RESULTS.md: k = 8, L = 4,096 verifies at 0.7, not at 7/8).
    """
    counts = target.row_nnz
    k = int(counts.max()) if k is None else k
    if k < int(counts.max()):
        raise ValueError(f"k={k} is below the largest row support {int(counts.max())}")
    if layout != "colour" or gap_fraction is not None:
        return _construct(target, eps2, layout, k, margin, gap_fraction, None)
    colour = greedy_colouring(cooccurrence(target.csr))
    fractions = sorted({(k - 1) / k, *GAP_FRACTIONS}, reverse=True) if k > 1 else [0.0]
    best: PolySolution | None = None
    for frac in fractions:
        sol = _construct(target, eps2, layout, k, margin, frac, colour)
        if best is None or sol.query_norm < best.query_norm:
            best = sol
    assert best is not None
    return best


def _construct(target: TargetMatrix, eps2: float, layout: str, k: int, margin: float,
               gap_fraction: float | None, colour: np.ndarray | None) -> PolySolution:
    csr = target.csr
    size = target.size
    counts = target.row_nnz
    angles, arcs = layout_angles(target, layout, gap_fraction, colour)
    keys = keys_at(angles, k)
    queries = np.zeros((size, 2 * k))
    lam = np.zeros(size)
    sorted_cols = np.argsort(angles, kind="stable")
    rank = np.empty(size, dtype=np.int64)
    rank[sorted_cols] = np.arange(size)
    tau = math.log(1.0 / eps2)
    log_data = np.log(csr.data)
    for s in np.unique(counts).tolist():
        rows_s = np.flatnonzero(counts == s)
        for c0 in range(0, rows_s.size, _ROW_CHUNK):
            rows = rows_s[c0 : c0 + _ROW_CHUNK]
            idx = csr.indptr[rows][:, None] + np.arange(s)
            cols = csr.indices[idx]
            y = log_data[idx]
            w, lam_rows = _rows(cols, y, angles, keys, sorted_cols, rank, k, tau, margin)
            queries[rows] = w
            lam[rows] = lam_rows
    frac = (k - 1) / k if gap_fraction is None else gap_fraction
    return PolySolution(k, layout, angles, keys, queries, lam, arcs,
                        frac if layout == "colour" and arcs > 1 else 0.0)


def _rows(
    cols: np.ndarray,
    y: np.ndarray,
    angles: np.ndarray,
    keys: np.ndarray,
    sorted_cols: np.ndarray,
    rank: np.ndarray,
    k: int,
    tau: float,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Queries and λ for ``n`` rows of one support size ``s`` (``cols``, ``y`` are ``n × s``)."""
    n, s = cols.shape
    theta = angles[cols]
    phi = keys[cols]  # n × s × 2k
    # Minimum-norm interpolant with a free constant: KKT system [[ΦΦᵀ, 1], [1ᵀ, 0]].
    kkt = np.zeros((n, s + 1, s + 1))
    kkt[:, :s, :s] = phi @ phi.transpose(0, 2, 1)
    kkt[:, :s, s] = 1.0
    kkt[:, s, :s] = 1.0
    rhs = np.zeros((n, s + 1))
    rhs[:, :s] = y
    sol = np.linalg.solve(kkt, rhs[:, :, None])[:, :, 0]
    alpha, const = sol[:, :s], sol[:, s]
    w = np.einsum("ns,nsk->nk", alpha, phi)
    harm = np.sqrt(w[:, 0::2] ** 2 + w[:, 1::2] ** 2).sum(axis=1)
    q_max = const + harm  # ≥ q(θ) on the whole circle
    r_min = _min_r_off_support(theta, cols, angles, sorted_cols, rank)
    numer = np.maximum(q_max - y.min(axis=1) + tau + margin, 0.0)
    lam = np.where(np.isfinite(r_min), numer / r_min, 0.0)
    return w - lam[:, None] * _r_coefficients(theta, k), lam
