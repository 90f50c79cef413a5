"""The paper's experiment, reproduced and beaten: ``d`` against ``log₂ L`` for a family of targets.

For each length ``L`` a target of the family is drawn from ``numpy.random.default_rng([seed,
L])`` and three methods find their smallest verified ``d``:

- ``jl`` — the paper's random projection; the ``d`` it needs (to 5 %, one of ``seeds`` draws
  meeting the precision, like the other methods) is found from the construction's exact law
  (``GᵀG`` is Wishart; :func:`symcheck.sparse.jl.jl_measure_wishart`), ``O(L³)`` per trial
  whatever ``d`` is, so no arrays exist to return — it is the paper's number, not a solution;
- ``opt`` — the low-rank fit search (:func:`symcheck.sparse.approximate`, ``method="opt"``);
- ``poly`` — the exact ``d = 2k`` construction (``method="poly"``).

The fit of ``d = a + b·log₂ L`` (least squares over the lengths where a method verified a
``d``) gives each method's slope: the paper predicts growth with ``log L``, the construction
none. Families (``k`` is the family's size parameter):

- ``random``: ``k`` distinct random columns per row, values uniform in [0.5, 1.5];
- ``band``: a window of ``k`` columns, ``−⌊(k−1)/2⌋ ≤ j − i ≤ ⌊k/2⌋``, values in [0.5, 1.5];
- ``block``: blocks of ``k`` tokens attend within their block and to 2 global tokens, the
  global tokens attend to everything (BigBird-like; dense rows: ``poly`` does not apply);
- ``permutation``: a random permutation matrix (``k`` ignored).

>>> parse_lengths("64..512")
[64, 128, 256, 512]
>>> family_matrix("band", 8, 3, seed=0).getnnz(axis=1).tolist()
[2, 3, 3, 3, 3, 3, 3, 2]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from symcheck.core.errors import Phrase, SpecError, SymcheckError, Use, close_match
from symcheck.core.verdicts import Computed, Serialised, brief, key
from symcheck.sparse.matrix_io import target_from_array
from symcheck.sparse.precision import Targets

FAMILIES = ("random", "band", "block", "permutation")
#: bytes one stored entry of a target takes while it is drawn, checked and canonicalised
#: (COO rows, columns and values, then CSR copies): the memory guard's estimate
_BYTES_PER_ENTRY = 48
SWEEP_METHODS = ("jl", "opt", "poly")
N_GLOBAL = 2


def parse_lengths(text: str) -> list[int]:
    """``A..B`` (the powers of two from ``A`` to ``B``) or a comma-separated list of lengths."""
    text = text.strip()
    try:
        if ".." in text:
            lo_text, hi_text = text.split("..", 1)
            lo, hi = int(lo_text), int(hi_text)
            if lo < 2 or hi < lo:
                raise ValueError
            out, n = [], lo
            while n <= hi:
                out.append(n)
                n *= 2
            return out
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 2:
        raise SymcheckError(
            f"{text!r} is not A..B (powers of two from A to B, 2 ≤ A ≤ B) or a "
            "comma-separated list of lengths ≥ 2", argument="lengths", value=text
        )
    return values


def family_matrix(family: str, size: int, k: int, seed: int) -> sp.csr_matrix:
    """The target of ``family`` at length ``size``, drawn from ``default_rng([seed, size])``."""
    rng = np.random.default_rng([seed, size])
    if family == "random":
        return _random_k(rng, size, min(k, size))
    if family == "band":
        offsets = np.arange(-((k - 1) // 2), k // 2 + 1)
        rows = np.repeat(np.arange(size), offsets.size)
        cols = rows + np.tile(offsets, size)
        keep = (cols >= 0) & (cols < size)
        rows, cols = rows[keep], cols[keep]
        vals = rng.uniform(0.5, 1.5, rows.size)
        return sp.csr_matrix((vals, (rows, cols)), shape=(size, size))
    if family == "block":
        block = max(1, k)
        i = np.repeat(np.arange(size), block)
        j = (i // block) * block + np.tile(np.arange(block), size)
        keep = j < size
        rows = np.concatenate([i[keep], np.repeat(np.arange(size), N_GLOBAL),
                               np.repeat(np.arange(N_GLOBAL), size)])
        cols = np.concatenate([j[keep], np.tile(np.arange(N_GLOBAL), size),
                               np.tile(np.arange(size), N_GLOBAL)])
        a = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(size, size))
        a.data[:] = 1.0  # duplicates summed: flat weights
        return a
    if family == "permutation":
        perm = rng.permutation(size)
        return sp.csr_matrix((np.ones(size), (np.arange(size), perm)), shape=(size, size))
    raise unknown_family(family)


def unknown_family(family: str) -> SymcheckError:
    """The error for a family that is not one of :data:`FAMILIES` (with a near miss)."""
    near = close_match(family, FAMILIES)
    return SpecError(f"{family!r} is not one of {', '.join(FAMILIES)}", argument="family",
                     value=family, hint=None if near is None else f"did you mean {near!r}?")


def _random_k(rng: np.random.Generator, size: int, k: int) -> sp.csr_matrix:
    """``k`` distinct columns per row (redrawn rows with a repeat), values in [0.5, 1.5].
    Where a repeat is likely (k² > L) each row is drawn without replacement instead."""
    if k * k > size:
        cols = np.stack([rng.choice(size, k, replace=False) for _ in range(size)])
    else:
        cols = rng.integers(0, size, (size, k))
    while True:
        ordered = np.sort(cols, axis=1)
        bad = (np.diff(ordered, axis=1) == 0).any(axis=1)
        if not bad.any():
            break
        cols[bad] = rng.integers(0, size, (int(bad.sum()), k))
    rows = np.repeat(np.arange(size), k)
    vals = rng.uniform(0.5, 1.5, size * k)
    return sp.csr_matrix((vals, (rows, cols.ravel())), shape=(size, size))


@dataclass
class SweepCell(Serialised):
    """One method at one length: the verified ``d`` (None: none, or skipped) and why."""

    d: int | None
    seconds: float
    note: str = ""


@dataclass
class SweepRow(Serialised):
    size: int = field(metadata=key("L"))
    nnz: int
    max_row_nnz: int
    #: one cell per method, each under the method's name in the row's JSON
    cells: dict[str, SweepCell] = field(default_factory=dict, metadata=key(spread=True))

    json_order = ("size", Computed("log2_L", "log2_size"), "nnz", "max_row_nnz", "cells")

    @property
    def log2_size(self) -> float:
        return math.log2(self.size)


@dataclass
class SweepResult(Serialised):
    family: str
    k: int
    seed: int
    targets: Targets
    methods: list[str]
    rows: list[SweepRow]
    time_limit: float
    seconds: float

    json_order = ("family", "k", "seed",
                  Computed("target_seed_rule", lambda _: "numpy.random.default_rng([seed, L])"),
                  "targets", "methods", "time_limit", "rows",
                  Computed("slopes", lambda r: {m: r.slope(m) for m in r.methods}), "seconds")

    def __repr__(self) -> str:
        lengths = [r.size for r in self.rows]
        shown = "no lengths" if not lengths else f"L = {lengths[0]}..{lengths[-1]}"
        return brief("SweepResult", self.family, f"k = {self.k}", shown,
                     f"{len(lengths)} length{'' if len(lengths) == 1 else 's'}",
                     f"methods {', '.join(self.methods)}", f"seed {self.seed}")

    def slope(self, method: str) -> tuple[float, float] | None:
        """Least-squares ``(b, a)`` of ``d = a + b·log₂ L`` over the verified lengths."""
        pts = [(r.log2_size, r.cells[method].d) for r in self.rows
               if method in r.cells and r.cells[method].d is not None]
        if len(pts) < 2:
            return None
        x = np.array([p[0] for p in pts])
        y = np.array([float(p[1]) for p in pts])  # type: ignore[arg-type]
        b, a = np.polyfit(x, y, 1)
        return float(b), float(a)


def _check_sweep_memory(family: str, k: int, lengths: list[int]) -> None:
    """Every target judged before the first is drawn: its entries must fit in memory."""
    from symcheck.core.memory import gib, memory_budget

    for size in lengths:
        per_row = 1 if family == "permutation" else min(k, size) + 2 * N_GLOBAL
        need = _BYTES_PER_ENTRY * float(size) * per_row
        if need > memory_budget():
            raise SymcheckError(f"the target at L = {size} needs {gib(need)} but "
                                f"{gib(memory_budget())} of memory is available for it; use "
                                "shorter lengths", argument="lengths", value=size)


def sweep(
    family: str,
    k: int,
    lengths: list[int],
    *,
    methods: tuple[str, ...] = SWEEP_METHODS,
    precision: float = 0.1,
    seed: int = 0,
    seeds_per_d: int = 3,
    time_limit: float = 60.0,
    jl_max_length: int = 1024,
    opt_max_length: int = 4096,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run ``methods`` on the family's target at every length (see the module docstring).

    ``time_limit`` bounds each opt search; jl runs up to ``jl_max_length`` (its trials cost
    ``O(L³)``), opt up to ``opt_max_length``; longer lengths are reported as skipped.
    """
    from symcheck.sparse.api import approximate

    if family not in FAMILIES:
        raise unknown_family(family)
    bad = [m for m in methods if m not in SWEEP_METHODS]
    if bad or not methods:
        raise SymcheckError(
            f"{','.join(methods)!r} must be a comma-separated subset of "
            f"{','.join(SWEEP_METHODS)}", argument="methods", value=methods
        )
    if k < 1:
        raise SymcheckError(f"{k} must be at least 1", argument="k", value=k)
    if family in ("random", "band") and lengths and k > min(lengths):
        raise SymcheckError(Phrase(f"{k} distinct columns per row do not fit in a row of "
                                   f"length {min(lengths)} (", Use("lengths"), ")"),
                            argument="k", value=k)
    _check_sweep_memory(family, k, lengths)
    if seed < 0:
        raise SymcheckError(f"{seed} must be a non-negative integer", argument="seed", value=seed)
    targets = Targets.from_options(precision, None, None)
    t_all = time.perf_counter()
    rows: list[SweepRow] = []
    for size in lengths:
        target = target_from_array(family_matrix(family, size, k, seed))
        row = SweepRow(size, target.nnz, target.max_row_nnz)
        for method in methods:
            if progress is not None:
                progress(f"L={size} {method}")
            t0 = time.perf_counter()
            if method == "jl":
                if size > jl_max_length:
                    row.cells[method] = SweepCell(None, 0.0, f"skipped: L > {jl_max_length}")
                    continue
                d, note = _jl_needed(target, targets, seed, seeds_per_d)
                row.cells[method] = SweepCell(d, time.perf_counter() - t0, note)
                continue
            if method == "opt" and size > opt_max_length:
                row.cells[method] = SweepCell(None, 0.0, f"skipped: L > {opt_max_length}")
                continue
            if method == "poly" and 2 * target.max_row_nnz >= size:
                row.cells[method] = SweepCell(
                    None, 0.0, f"not applicable: 2k = {2 * target.max_row_nnz} ≥ L"
                )
                continue
            res = approximate(
                target, precision=precision, method=method, seed=seed,
                seeds_per_d=seeds_per_d, time_limit=time_limit,
            )
            best = res.best
            note = "" if best is not None else str(res.verdict)
            row.cells[method] = SweepCell(
                None if best is None else best.d, time.perf_counter() - t0, note
            )
        rows.append(row)
    return SweepResult(family, k, seed, targets, list(methods), rows, time_limit,
                       time.perf_counter() - t_all)


def _jl_needed(
    target: Any, targets: Targets, seed: int, seeds_per_d: int
) -> tuple[int | None, str]:
    from symcheck.sparse.jl import jl_measure_wishart
    from symcheck.sparse.search import SeedOutcome, minimal_d

    def trial(d: int, s: int) -> SeedOutcome:
        t0 = time.perf_counter()
        p = jl_measure_wishart(target, targets.eps1, targets.eps2, d, s)
        return SeedOutcome(d, s, p.meets(targets), p.eps1, p.log_eps2, time.perf_counter() - t0)

    res = minimal_d(trial, start=1024, lower=1, max_d=1 << 24,
                    seeds=[seed + i for i in range(seeds_per_d)], rel_tol=0.05)
    return res.best_d, "from the construction's exact law (no arrays; to 5 % of d)"
