"""Fitting low-rank logits ``Z = U Vᵀ`` (width ``d``) to the precision, by L-BFGS.

Parametrisation. ``X = [U | V]`` (width ``2d``), ``W_Q = [I; 0]``, ``W_K = [0; I]`` (``2d × d``),
so ``X W_Q W_Kᵀ Xᵀ = U Vᵀ`` and the hidden size (column count of ``W_Q``) is ``d`` — the same
layout as the paper's construction, so the two ``d`` compare directly.

Loss. With a free centre ``c_i`` per row, ``a = s·ε₁/2`` (``s < 1`` a safety factor) and
``τ = log(1/ε₂)``, squared hinges ``h(t) = max(t, 0)²`` on

- every support entry: ``h(|Z_ij − log A_ij − c_i| − a)`` (all log-ratios within a band of
  width ``2a ≤ ε₁``);
- every zero of ``A``: ``h(Z_ik − (c_i + min_j log A_ij − a − τ − m))`` (each zero at least
  ``τ + m`` below the smallest support logit).

The loss is zero only if the precision holds with room to spare; it is smooth, its gradient is
analytic and computed with row blocks of ``U Vᵀ`` (three ``block × L × d`` products per block, no
``L × L`` array). The exact precision of the current iterate is computed from the same blocks,
and the fit stops the moment it is met — the precision is the stopping rule, not the loss.
The ``L × L`` part runs in float32 (half the memory traffic); whether a fit met the precision
is then decided by the shared float64 metric on the final factors.

Warm start: the truncated SVD of the paper's logit target ``B`` (rank ``d``), perturbed for seeds
other than the first; at ``d ≥ rank(B)`` that start is already exact.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from symcheck.sparse._blas import one_blas_thread
from symcheck.sparse.jl import logit_target
from symcheck.sparse.matrix_io import TargetMatrix
from symcheck.sparse.precision import Precision, Targets, block_rows, measure_factors

SAFETY = 0.8
MARGIN = 0.05


@dataclass
class FitResult:
    """One fit at hidden size ``d``: factors, whether the precision was met, its cost."""

    d: int
    seed: int
    u: np.ndarray
    v: np.ndarray
    passed: bool
    precision: Precision
    iterations: int
    evaluations: int
    seconds: float
    history: list[float] = field(default_factory=list, repr=False)


@dataclass
class _State:
    evals: int = 0
    history: list[float] = field(default_factory=list)
    best: tuple[np.ndarray, np.ndarray] | None = None


class _Met(Exception):
    """Raised from inside the objective to stop L-BFGS once the precision holds."""


class _Stalled(Exception):
    """Raised from inside the objective when the loss has stopped falling (``stall``)."""


class WarmStart:
    """Truncated SVDs of the paper's logit target ``B``, built once and reused for every fit.

    ``B`` depends only on the target and the precision, so one object serves a whole search:
    the factors for a rank ``d`` are cut from the largest SVD computed so far, and a new SVD is
    computed only when a larger rank is asked for. Split as ``U = U_d √S``, ``V = V_d √S``.
    """

    def __init__(self, target: TargetMatrix, targets: Targets) -> None:
        self._b, _ = logit_target(target, targets.eps1, targets.eps2)
        self._size = target.size
        self._rank = 0
        self._u = self._s = self._vt = np.empty((0, 0))

    def factors(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        size = self._size
        k = min(d, size)
        if k > self._rank:
            self._compute(k)
        root = np.sqrt(np.maximum(self._s[:k], 0))
        u = np.zeros((size, d))
        v = np.zeros((size, d))
        u[:, :k] = self._u[:, :k] * root
        v[:, :k] = self._vt[:k].T * root
        return u, v

    def _compute(self, k: int) -> None:
        size = self._size
        if k >= size - 1 or size <= 256:
            self._u, self._s, self._vt = np.linalg.svd(self._b.toarray())
            self._rank = size
            return
        # Seeded by k only: the SVD is a property of B, not of a restart's seed.
        rng = np.random.default_rng([k, 7])
        import scipy.sparse.linalg as spla  # here: scipy.linalg costs 0.1 s to import

        uu, s, vt = spla.svds(self._b, k=k, v0=rng.standard_normal(size), random_state=rng)
        order = np.argsort(s)[::-1]
        self._u, self._s, self._vt = uu[:, order], s[order], vt[order]
        self._rank = k


class _Objective:
    """The loss and its gradient at ``theta = [U, V, c]``, as L-BFGS-B calls it.

    Every call also measures the exact precision of the iterate from the same row blocks and
    raises :class:`_Met` once it holds; it raises ``TimeoutError`` past ``deadline`` and
    :class:`_Stalled` on a plateau of ``stall`` evaluations. ``state`` keeps the count, the
    loss history and the factors that met.
    """

    def __init__(
        self,
        target: TargetMatrix,
        targets: Targets,
        d: int,
        deadline: float | None,
        stall: int | None,
    ) -> None:
        csr = target.csr
        self.csr = csr
        self.size = size = target.size
        self.d = d
        self.targets = targets
        self.deadline = deadline
        self.stall = stall
        self.rows = np.repeat(np.arange(size), np.diff(csr.indptr))
        self.cols = csr.indices
        self.log_a = np.log(csr.data)
        self.seg = csr.indptr[:-1]
        self.min_log_a = np.minimum.reduceat(self.log_a, self.seg)
        self.a = SAFETY * targets.eps1 / 2
        self.tau = math.log(1.0 / targets.eps2)
        self.log_eps2 = math.log(targets.eps2)
        self.step = block_rows(size, itemsize=4)
        self.state = _State()

    def centres(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The row centres ``c`` that start a fit from ``U``, ``V``: the mean support residual."""
        on = np.einsum("ij,ij->i", u[self.rows], v[self.cols])
        return _segment_mean(on - self.log_a, self.seg, np.diff(self.csr.indptr))

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``U``, ``V`` and ``c`` from the flat parameter vector."""
        n_uv = self.size * self.d
        u = theta[:n_uv].reshape(self.size, self.d)
        v = theta[n_uv : 2 * n_uv].reshape(self.size, self.d)
        return u, v, theta[2 * n_uv :]

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        state, csr, size, d = self.state, self.csr, self.size, self.d
        rows, cols, log_a, seg, a = self.rows, self.cols, self.log_a, self.seg, self.a
        state.evals += 1
        u, v, c = self.split(theta)
        # Support: |Z_ij - log A_ij - c_i| within a.
        on = np.einsum("ij,ij->i", u[rows], v[cols])
        r = on - log_a - c[rows]
        excess = np.abs(r) - a
        viol = np.maximum(excess, 0.0)
        loss = float(viol @ viol)
        g_on = 2.0 * viol * np.sign(r)
        gc = -np.bincount(rows, weights=g_on, minlength=size)
        shifted = on - log_a
        spread = np.maximum.reduceat(shifted, seg) - np.minimum.reduceat(shifted, seg)
        ratio_ok = not bool(np.any(spread > self.targets.eps1))
        min_on = np.minimum.reduceat(on, seg)
        # Zeros of A: Z_ik below the row threshold. The support entries of each block are
        # masked out of the hinge and carry the support gradient instead, so one pair of
        # block products gives the whole gradient with respect to U and V.
        thresh = (c + self.min_log_a - a - self.tau - MARGIN).astype(np.float32)
        # float32 halves the memory traffic of the L × L part; the stopping decision is
        # re-checked in float64 by the shared metric before a fit is reported as met.
        u32 = u.astype(np.float32)
        v32 = v.astype(np.float32)
        vt = np.ascontiguousarray(v32.T)
        g_on32 = g_on.astype(np.float32)
        gu32 = np.empty((size, d), dtype=np.float32)  # every row block is assigned below
        gv32 = np.zeros((size, d), dtype=np.float32)  # accumulated over the row blocks
        leak_ok = True
        for s0 in range(0, size, self.step):
            s1 = min(size, s0 + self.step)
            z = u32[s0:s1] @ vt
            lo, hi = csr.indptr[s0], csr.indptr[s1]
            lr = rows[lo:hi] - s0
            lc = cols[lo:hi]
            z[lr, lc] = -np.inf
            if leak_ok and np.any(z.max(axis=1) - min_on[s0:s1] > self.log_eps2 - 1e-4):
                leak_ok = False
            z -= thresh[s0:s1, None]
            np.maximum(z, 0.0, out=z)
            flat = z.ravel()
            loss += float(np.dot(flat, flat))
            z *= 2.0
            gc[s0:s1] -= z.sum(axis=1)
            z[lr, lc] = g_on32[lo:hi]
            gu32[s0:s1] = z @ v32
            gv32 += z.T @ u32[s0:s1]
        state.history.append(loss)
        if ratio_ok and leak_ok:
            state.best = (u.copy(), v.copy())
            raise _Met
        self._check_stop()
        return loss, np.concatenate([gu32.ravel(), gv32.ravel(), gc])

    def _check_stop(self) -> None:
        """Raise past the deadline, or when the loss has stopped falling (``stall``)."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TimeoutError
        hist, stall = self.state.history, self.stall
        if (
            stall is not None
            and len(hist) > 2 * stall
            and min(hist[-stall:]) > 0.5 * min(hist[:-stall])
        ):
            raise _Stalled


def _warm_start(
    target: TargetMatrix,
    targets: Targets,
    d: int,
    seed: int,
    perturb: float | None,
    start: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``start`` (default: the SVD of ``B``), with ``perturb``-scaled noise."""
    u0, v0 = start if start is not None else WarmStart(target, targets).factors(d)
    u0, v0 = u0.copy(), v0.copy()
    if perturb:
        rng = np.random.default_rng([seed, d])
        scale = perturb * max(float(np.sqrt(np.mean(u0**2 + v0**2) / 2)), 1e-3)
        u0 += scale * rng.standard_normal(u0.shape)
        v0 += scale * rng.standard_normal(v0.shape)
    return u0, v0


def fit(
    target: TargetMatrix,
    targets: Targets,
    d: int,
    seed: int,
    *,
    perturb: float | None = None,
    max_iter: int = 300,
    deadline: float | None = None,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    stall: int | None = None,
) -> FitResult:
    """Fit ``U Vᵀ`` of width ``d``; stop as soon as the exact precision is met (one BLAS thread).

    With ``stall = n``, also give up once the best loss of the last ``n`` evaluations is more
    than half the best loss before them (a plateau: a fit that can succeed falls by orders of
    magnitude within a few dozen evaluations, see benchmarks/RESULTS.md).

    ``perturb`` scales Gaussian noise (drawn from ``default_rng([seed, d])``) added to the warm
    start, relative to its RMS value; restarts with different seeds use it to explore. Without
    ``start`` the warm start is the truncated SVD of ``B`` (pass ``start`` from one
    :class:`WarmStart` to share that SVD across the fits of a search).
    """
    with one_blas_thread():
        t0 = time.perf_counter()
        objective = _Objective(target, targets, d, deadline, stall)
        u0, v0 = _warm_start(target, targets, d, seed, perturb, start)
        # Imported here, not at the top: scipy.optimize takes 0.2 s to import, which every
        # sparse-approx run (an error in its input included) would otherwise pay.
        from scipy.optimize import minimize

        theta0 = np.concatenate([u0.ravel(), v0.ravel(), objective.centres(u0, v0)])
        iterations = 0
        try:
            res = minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iter, "maxcor": 10, "ftol": 1e-12, "gtol": 1e-10},
            )
            iterations = int(res.nit)
            u_f, v_f, _ = objective.split(res.x)
        except _Met:
            assert objective.state.best is not None
            u_f, v_f = objective.state.best
        except (TimeoutError, _Stalled):
            u_f, v_f = u0, v0
        final = measure_factors(target, u_f, v_f)
        return FitResult(
            d=d,
            seed=seed,
            u=u_f,
            v=v_f,
            passed=final.meets(targets),
            precision=final,
            iterations=iterations,
            evaluations=objective.state.evals,
            history=objective.state.history,
            seconds=time.perf_counter() - t0,
        )


def as_params(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X = [U | V]``, ``W_Q = [I; 0]``, ``W_K = [0; I]`` so that ``X W_Q W_Kᵀ Xᵀ = U Vᵀ``."""
    d = u.shape[1]
    eye, zero = np.eye(d), np.zeros((d, d))
    return np.hstack([u, v]), np.vstack([eye, zero]), np.vstack([zero, eye])


def _segment_mean(values: np.ndarray, seg: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, seg) / counts
