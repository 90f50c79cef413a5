"""The precision of an attention matrix against a sparse target, measured in row blocks.

For a target ``A ≥ 0`` and ``M = softmax(Z)`` with logits ``Z = X W_Q W_Kᵀ Xᵀ``, row by row
(``S_i`` is the support of row ``i`` of ``A``):

- ratio error ``ε₁(i) = max_{j∈S_i} (log M_ij − log A_ij) − min_{j∈S_i} (log M_ij − log A_ij)``,
  the largest deviation ``|log(M_ij/M_ij') − log(A_ij/A_ij')|`` over pairs of the support;
- leakage ``ε₂(i) = max_{k∉S_i} M_ik / min_{j∈S_i} M_ij`` (0 when the row has no zero).

Both only involve differences of logits within one row, so the softmax normaliser cancels and
everything is computed from ``Z`` directly (log space: no underflow, no overflow). ``Z`` is
formed one row block at a time, so memory is ``O(block × L)`` however large ``L`` is.

Every number symcheck reports goes through :func:`precision_from_logit_blocks`: the methods,
``verify``, the tests and the benchmark. :func:`measure_params` is the entry for returned
parameters ``X, W_Q, W_K``.

>>> import numpy as np
>>> A = np.eye(2)
>>> X = np.array([[1.0, 0.0], [0.0, 1.0]]) * 3
>>> r = measure_params(A, X, np.eye(2), np.eye(2))
>>> round(r.eps1, 6), round(r.eps2, 6)  # exp(0 - 9)
(0.0, 0.000123)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from symcheck.core.errors import InputFileError, SymcheckError
from symcheck.core.verdicts import Computed, Serialised

# One rule for every row-blocked L × L computation (the metric, the fit's gradient, the
# paper's construction): a block of logits takes about this many bytes, so it stays in cache
# between the matmul that writes it and the reductions that read it (benchmarks/RESULTS.md).
BLOCK_BYTES = 2 << 20


@dataclass(frozen=True)
class Targets:
    """The requested precision: ratio error ``eps1 > 0`` and leakage ``0 < eps2 < 1``."""

    eps1: float
    eps2: float

    def __post_init__(self) -> None:
        _check_eps1("ratio_precision", self.eps1)
        _check_eps2("leak_precision", self.eps2)

    @classmethod
    def from_options(
        cls, precision: float, ratio_precision: float | None, leak_precision: float | None
    ) -> Targets:
        """ε₁, ε₂ from the options; only the values actually used are checked, by their name.

        >>> Targets.from_options(2.0, 0.1, 0.1)  # precision is unused: both are set
        Targets(eps1=0.1, eps2=0.1)
        """
        if ratio_precision is None:
            _check_eps1("precision", precision)
        if leak_precision is None:
            _check_eps2("precision", precision)
        eps1 = precision if ratio_precision is None else ratio_precision
        eps2 = precision if leak_precision is None else leak_precision
        return cls(eps1, eps2)


#: the smallest ε₁ asked for: the ratio error of float64 logits is round-off far above it
#: (and the paper's bound, 1/ε₁², underflows below ~1e-154)
MIN_EPS1 = 1e-15
#: the smallest ε₂: its log (−690) still gives finite arrays; at 5e-324 the construction's
#: scale overflows
MIN_EPS2 = 1e-300


def _check_eps1(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise SymcheckError(f"{value!r} must be a finite number > 0", argument=name,
                            value=value)
    if value < MIN_EPS1:
        raise SymcheckError(f"{value!r} is below {MIN_EPS1:g}, under float64's "
                            "round-off of a logit: no arrays can be verified to it",
                            argument=name, value=value)


def _check_eps2(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0 < value < 1):
        raise SymcheckError(f"{value!r} must lie strictly in (0, 1)", argument=name,
                            value=value)
    if value < MIN_EPS2:
        raise SymcheckError(f"{value!r} is below {MIN_EPS2:g}, where the arrays that "
                            "would meet it overflow float64", argument=name, value=value)


@dataclass(frozen=True)
class Precision(Serialised):
    """Measured precision: worst row of each kind, and the log of the leakage (never underflows)."""

    eps1: float
    log_eps2: float
    worst_ratio_row: int
    worst_leak_row: int

    #: every field, and ε₂ itself after ε₁
    json_order = ("eps1", Computed("eps2"), "log_eps2", "worst_ratio_row", "worst_leak_row")

    @property
    def eps2(self) -> float:
        return leak_from_log(self.log_eps2)

    def meets(self, targets: Targets) -> bool:
        return self.eps1 <= targets.eps1 and self.log_eps2 <= math.log(targets.eps2)


def leak_from_log(log_eps2: float) -> float:
    """ε₂ from its log: 0 below float64's range, inf above it (arrays checked against the wrong
    matrix leak e^10⁶), never an overflow.

    >>> leak_from_log(-800.0), leak_from_log(0.0), leak_from_log(1e6)
    (0.0, 1.0, inf)
    """
    if log_eps2 <= -745:
        return 0.0
    return math.exp(log_eps2) if log_eps2 < 709 else math.inf


def block_rows(size: int, itemsize: int = 8) -> int:
    """Rows per block so that one ``rows × size`` block of ``itemsize`` bytes takes about
    :data:`BLOCK_BYTES` (at least one row, at most all of them).

    >>> block_rows(4096), block_rows(4096, itemsize=4), block_rows(16)
    (64, 128, 16)
    """
    return max(1, min(size, BLOCK_BYTES // (itemsize * max(size, 1))))


class _RowMeasures:
    """Per-row ratio error and log-leakage of ``A``, filled block by block (disjoint rows).

    Blocks of different rows may be filled from different threads: each writes only its own
    slice of the result arrays, and the read-only arrays of ``A`` are shared.
    """

    def __init__(self, csr: sp.csr_matrix) -> None:
        size = csr.shape[0]
        self.size = size
        self.indptr, self.indices = csr.indptr, csr.indices
        self.rows = np.repeat(np.arange(size), np.diff(self.indptr))
        self.log_a = np.log(csr.data)
        self.ratio = np.empty(size)
        self.log_leak = np.empty(size)

    def add(self, start: int, z: np.ndarray) -> int:
        """Measure rows ``start … start + len(z)`` from their logits ``z`` (modified in place).

        The ``L × L`` work is one pass over the block (the masked row maximum, written straight
        into the result); everything on the support is ``O(nnz)``.
        """
        indptr = self.indptr
        stop = start + z.shape[0]
        lo, hi = indptr[start], indptr[stop]
        local_rows = self.rows[lo:hi] - start
        cols = self.indices[lo:hi]
        on = z[local_rows, cols]
        seg = indptr[start:stop] - lo
        shifted = on - self.log_a[lo:hi]
        self.ratio[start:stop] = np.maximum.reduceat(shifted, seg) - np.minimum.reduceat(
            shifted, seg
        )
        z[local_rows, cols] = -np.inf
        leak = self.log_leak[start:stop]
        z.max(axis=1, out=leak)
        leak -= np.minimum.reduceat(on, seg)
        return stop - start

    def result(self, covered: int) -> Precision:
        if covered != self.size:  # pragma: no cover - programming error, not user input
            raise RuntimeError(f"logit blocks covered {covered} rows of {self.size}")
        ratio, log_leak = self.ratio, self.log_leak
        if not (np.all(np.isfinite(ratio)) and not np.any(np.isnan(log_leak))):
            # Non-finite logits (overflowing parameters) can never meet a precision.
            ratio = np.where(np.isfinite(ratio), ratio, np.inf)
            log_leak = np.where(np.isnan(log_leak), np.inf, log_leak)
        i1 = int(np.argmax(ratio))
        i2 = int(np.argmax(log_leak))
        return Precision(
            eps1=float(ratio[i1]),
            log_eps2=float(log_leak[i2]),
            worst_ratio_row=i1,
            worst_leak_row=i2,
        )


def precision_from_logit_blocks(
    csr: sp.csr_matrix, blocks: Iterable[tuple[int, np.ndarray]]
) -> Precision:
    """Precision of ``softmax(Z)`` against ``A`` (canonical CSR) from row blocks of ``Z``.

    ``blocks`` yields ``(start, Z[start:start+b])``; together they must cover every row once.
    A block is modified in place (the support is masked out for the leakage maximum) and not
    kept, so a producer may reuse one buffer for every block.
    """
    measures = _RowMeasures(csr)
    covered = 0
    for start, z in blocks:
        covered += measures.add(start, z)
    return measures.result(covered)


def factor_logit_blocks(
    q: np.ndarray, k: np.ndarray, rows: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Row blocks of ``Z = q kᵀ`` (``q, k`` are ``L × h``).

    Every block is written into one reused buffer (valid until the next block is drawn): a
    fresh multi-megabyte array per block would cost a page fault per 4 KiB on every block.
    """
    q = np.asarray(q, dtype=np.float64)
    size = q.shape[0]
    step = rows or block_rows(size)
    kt = np.ascontiguousarray(k.T, dtype=np.float64)
    buf = np.empty((min(step, size), size))
    for start in range(0, size, step):
        stop = min(size, start + step)
        block = buf[: stop - start]
        np.matmul(q[start:stop], kt, out=block)
        yield start, block


def default_workers() -> int:
    """Threads for the blocked metric: every core this process may use (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


class OutOfTime(Exception):
    """The deadline passed before every row was measured (``covered`` of ``size``)."""

    def __init__(self, covered: int, size: int) -> None:
        super().__init__(f"{covered} of {size} rows measured")
        self.covered, self.size = covered, size


def _until(blocks: Iterator[tuple[int, np.ndarray]], deadline: float | None, size: int
           ) -> Iterator[tuple[int, np.ndarray]]:
    """The blocks, while the deadline has not passed."""
    for start, block in blocks:
        if deadline is not None and time.perf_counter() > deadline:
            raise OutOfTime(start, size)
        yield start, block


def measure_factors(
    target: Any,
    q: np.ndarray,
    k: np.ndarray,
    rows: int | None = None,
    workers: int | None = None,
    deadline: float | None = None,
) -> Precision:
    """Precision of ``softmax(q kᵀ)`` against ``target`` (a TargetMatrix, CSR or dense array).

    The row blocks are shared among ``workers`` threads (default: :func:`default_workers`),
    each with its own block buffer and one BLAS thread (also with one worker); numpy releases
    the GIL in the matmul and the reductions, so the blocks run in parallel. The result does
    not depend on ``workers`` (each row is measured by the same operations, whichever thread
    runs it). ``deadline`` (a ``time.perf_counter()`` value): past it, no further block is
    started and :class:`OutOfTime` is raised.
    """
    csr = _as_csr(target)
    q = np.asarray(q, dtype=np.float64)
    size = q.shape[0]
    step = rows or block_rows(size)
    n_blocks = -(-size // step)
    workers = min(default_workers() if workers is None else max(1, workers), n_blocks)
    from symcheck.sparse._blas import one_blas_thread

    if workers == 1:
        # One BLAS thread here too: a thin block × L × d product is bound by memory, and a
        # multi-threaded BLAS on a busy machine made it 15–20× slower (benchmarks/RESULTS.md).
        with one_blas_thread():
            return precision_from_logit_blocks(
                csr, _until(factor_logit_blocks(q, k, step), deadline, size))
    from concurrent.futures import ThreadPoolExecutor

    measures = _RowMeasures(csr)
    kt = np.ascontiguousarray(np.asarray(k, dtype=np.float64).T)
    starts = list(range(0, size, step))

    def work(part: int) -> int:
        buf = np.empty((min(step, size), size))
        done = 0
        for start in starts[part::workers]:  # interleaved: equal work per thread
            if deadline is not None and time.perf_counter() > deadline:
                break
            stop = min(size, start + step)
            block = buf[: stop - start]
            np.matmul(q[start:stop], kt, out=block)
            done += measures.add(start, block)
        return done

    with one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        covered = sum(pool.map(work, range(workers)))
    if covered < size:
        raise OutOfTime(covered, size)
    return measures.result(covered)


def measure_params(
    target: Any,
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    rows: int | None = None,
    workers: int | None = None,
    deadline: float | None = None,
) -> Precision:
    """Precision of ``softmax(X W_Q W_Kᵀ Xᵀ)`` recomputed from the parameters, in row blocks
    (``deadline``: see :func:`measure_factors`)."""
    csr = _as_csr(target)
    x, w_q, w_k = (np.asarray(a) for a in (x, w_q, w_k))
    check_param_shapes(csr.shape[0], x, w_q, w_k)
    x64 = x.astype(np.float64, copy=False)
    q = x64 @ w_q.astype(np.float64, copy=False)
    k = x64 @ w_k.astype(np.float64, copy=False)
    return measure_factors(csr, q, k, rows, workers, deadline)


def check_param_shapes(size: int, x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray) -> None:
    """Shapes must be ``X: L×p``, ``W_Q: p×h``, ``W_K: p×h``; values real and finite."""
    for name, arr in (("X", x), ("W_Q", w_q), ("W_K", w_k)):
        if arr.ndim != 2:
            raise InputFileError(f"parameters: {name} must be 2-D, got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise InputFileError(f"parameters: {name} has non-real dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise InputFileError(f"parameters: {name} contains non-finite values")
    if x.shape[0] != size:
        raise InputFileError(f"parameters: X has {x.shape[0]} rows but the matrix has L={size}")
    if w_q.shape[0] != x.shape[1] or w_k.shape[0] != x.shape[1]:
        raise InputFileError(
            f"parameters: X is {x.shape} but W_Q is {w_q.shape} and W_K is {w_k.shape}; "
            "both need as many rows as X has columns"
        )
    if w_q.shape[1] != w_k.shape[1]:
        raise InputFileError(
            f"parameters: W_Q {w_q.shape} and W_K {w_k.shape} need the same column count"
        )


def _as_csr(target: Any) -> sp.csr_matrix:
    from symcheck.sparse.matrix_io import TargetMatrix, target_from_array

    if isinstance(target, TargetMatrix):
        return target.csr
    return target_from_array(target).csr
