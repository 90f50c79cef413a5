"""The attention form of an orthogonally equivariant seq2seq function (Ma & Ying 2022).

An ``f(X, K)`` with ``f(XQᵀ, KQᵀ) = f(X, K)Qᵀ`` for every orthogonal ``Q`` can be written

    f(X, K) = C_X X + C_K K = C Z,   Z = [X; K]  ((n+m) × d),   C = [C_X | C_K]

with coefficients that depend only on inner products. When ``rank Z = n + m`` (random inputs
with ``d ≥ n + m``) the coefficients are unique and least squares recovers them:
``C = out Z⁺``. This module measures, on random inputs:

- **span residual** ``‖out − C Z‖ / ‖out‖`` (is every output a combination of the vectors?);
- **coefficient invariance** ``‖C(XQᵀ, KQᵀ) − C(X, K)‖ / ‖C‖`` over Haar ``Q`` and probes;
- **permutation covariance** when a permutation group ``S(n)`` is declared:
  ``C(PX, K) = P C(X, K) P_Zᵀ``, where ``P_Z`` permutes the X block of ``Z`` and leaves K;
- **attention-likeness** of the coefficients: negative entries, row sums against 1, and the
  share of the within-row variance of ``log C_ij`` that one bilinear form ``x_iᵀ W z_j`` (plus a
  per-row offset) explains, pooled over draws.

Which inputs are vectors: every input whose spec carries the embedding label (``d``, or the
label of the declared ``O``/``SO`` group) exactly once. ``"n d"``/``"m d"`` contribute their
rows, ``"d k"`` (a weight whose first axis lives in the embedding) its ``k`` columns, ``"d"``
one vector. The first such input (the one labelled by the permutation group, if declared) is
``X``; all others are the knowledge ``K``, weights included: weights labelled ``d`` turn with
``Q`` and are *knowledge*. Inputs without the embedding label (positions, or weights held
fixed) are left alone by ``Q`` and are not vectors of ``Z``.

When ``rank Z < n + m`` the coefficients are not unique. The minimum-norm coefficients
``out Z⁺`` still satisfy ``C(XQᵀ, KQᵀ) = C(X, K)`` and the permutation rule for an
equivariant ``f`` (the pseudo-inverse commutes with orthogonal maps and permutations), so those
two diagnostics stay valid; the attention-likeness diagnostics, which read the coefficients
themselves, are skipped.

``Q`` is always drawn from ``O(d)``, the theorem's group, even when only ``SO(d)`` is
declared; the permutation check uses the declared ``S(n)`` (or ``C(n)``).

Measuring and judging are separate: :func:`measure_form` returns numbers,
:func:`~symcheck.engine.form_judge.judge_form` compares them with tolerances,
:func:`symcheck.check_form` does both.

>>> import numpy as np
>>> def attend(x, k):
...     z = np.concatenate([x, k])
...     s = x @ z.T
...     w = np.exp(s - s.max(1, keepdims=True))
...     return (w / w.sum(1, keepdims=True)) @ z
>>> from symcheck import check_form
>>> r = check_form(attend, ["n d", "m d"], "n d", ["O(d)", "S(n)"], {"n": 3, "m": 2, "d": 8})
>>> r.passed
True
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symcheck.core.errors import SpecError
from symcheck.core.groups import Group, GroupName, Orthogonal, Permutations, Symmetric
from symcheck.core.specs import AxisSpec
from symcheck.core.verdicts import SKIP, Computed, Serialised, key
from symcheck.engine.cases import draw_inputs
from symcheck.engine.evaluate import act
from symcheck.engine.problem import Problem, call_model

Array = np.ndarray

#: default relative tolerance of the span residual and of the coefficient diagnostics
FORM_RTOL: dict[str, float] = {
    "float64": 1e-8, "float32": 1e-3, "bfloat16": 1e-1, "float16": 1e-1,
}
#: coefficients within this fraction of their row's largest |C| count as zero: neither
#: negative nor positive (entering the log fit). Above the model's round-off, by dtype.
ZERO_FLOOR: dict[str, float] = {
    "float64": 1e-8, "float32": 1e-5, "bfloat16": 1e-2, "float16": 1e-2,
}
#: the bilinear fit has d² parameters; above this d it is skipped (memory grows as d⁴)
MAX_FIT_DIM = 32
#: pooled equations per fitted parameter that the fit draws aim for
FIT_OVERDETERMINATION = 4
MAX_FIT_DRAWS = 1000
#: the bilinear fit "explains" the log-coefficients when 1 − R² is below this
LOG_BILINEAR_TOL = 1e-6


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Block(Serialised):
    """One input that contributes vectors to ``Z``."""

    input: int  # index of the positional input
    spec: str
    role: str  # "X" or "K"
    start: int  # first row of this block in Z
    rows: int  # number of vectors
    #: "d k": the vectors are the columns
    transposed: bool = field(metadata=key("vectors", convert=lambda transposed: "columns"
                                          if transposed else "rows"))
    #: label of the axis indexing the vectors (None for a single vector)
    row_label: str | None = field(metadata=SKIP)


@dataclass(frozen=True)
class Layout(Serialised):
    """How the inputs stack into ``Z = [X; K]`` and how the output's vectors are read."""

    embedding: str
    sequence: str | None  # label the permutation group acts on (None: no permutation check)
    d: int
    blocks: tuple[Block, ...]
    invariant_inputs: tuple[int, ...]  # inputs with no embedding axis (not turned by Q)
    out_transposed: bool = field(metadata=SKIP)
    out_row_label: str | None = field(metadata=SKIP)
    out_rows: int = field(metadata=key("output_rows"))

    json_order = ("embedding", "sequence", "d", Computed("n"), Computed("m"), "blocks",
                  "invariant_inputs", "out_rows")

    @property
    def n(self) -> int:
        return self.blocks[0].rows

    @property
    def m(self) -> int:
        return sum(b.rows for b in self.blocks[1:])

    @property
    def vectors(self) -> int:
        return self.n + self.m

    def stack(self, arrays: Sequence[Array]) -> Array:
        """``Z``: the X vectors, then every knowledge vector, as rows."""
        return np.concatenate([_rows(arrays[b.input], b.transposed) for b in self.blocks])

    def output_rows(self, out: Array) -> Array:
        return _rows(np.asarray(out, dtype=np.float64), self.out_transposed)

    def z_permutation(self, perm: Array) -> Array:
        """Row index map of ``Z`` under a permutation of the sequence label."""
        parts = [
            b.start + (perm if b.row_label == self.sequence else np.arange(b.rows))
            for b in self.blocks
        ]
        return np.concatenate(parts)

    def out_permutation(self, perm: Array) -> Array:
        if self.out_row_label == self.sequence and self.sequence is not None:
            return perm
        return np.arange(self.out_rows)


def _rows(a: Array, transposed: bool) -> Array:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return a[None, :]
    return a.T if transposed else a


def _vector_axes(spec: AxisSpec, label: str, argument: str,
                 subject: str) -> tuple[bool, str | None] | None:
    """``None`` if ``spec`` has no ``label`` axis, else ``(transposed, row label)``."""
    count = spec.labels.count(label)
    if count == 0:
        return None
    if count > 1 or spec.rank > 2:
        raise SpecError(
            f"{str(spec)!r} is not a set of vectors of the embedding {label!r}; "
            f"form needs specs like 'n {label}', 'm {label}', '{label} k' or '{label}' "
            f"(factor a '{label} {label}' weight as two '{label} r' weights)",
            argument=argument, subject=subject
        )
    axis = spec.labels.index(label)
    if spec.rep(axis) != "vector":
        raise SpecError(
            f"{str(spec)!r} gives the embedding {label!r} the representation "
            f"{spec.rep(axis)!r}; the attention form is a statement about vectors "
            f"(plain '{label}' axes)", argument=argument, subject=subject
        )
    if spec.rank == 1:
        return False, None
    return axis == 0, spec.labels[1 - axis]


def layout_of(problem: Problem) -> Layout:
    """Find the embedding label, ``X``, the knowledge blocks and the output's vectors."""
    orthogonal = [g for g in problem.groups if isinstance(g, Orthogonal)]
    permutation = [g for g in problem.groups if isinstance(g, Symmetric)]
    embedding = orthogonal[0].label if orthogonal else "d"
    sequence = permutation[0].label if permutation else None
    if embedding not in problem.sizes:
        raise SpecError(
            f"no spec has the embedding label {embedding!r}; form needs inputs such as "
            f"'n {embedding}' (and 'm {embedding}' for knowledge)", argument="inputs"
        )
    found: list[tuple[int, bool, str | None]] = []
    invariant: list[int] = []
    for i, spec in enumerate(problem.inputs):
        axes = _vector_axes(spec, embedding, "inputs", f"{str(spec)!r} (input {i})")
        if axes is None:
            invariant.append(i)
        else:
            found.append((i, *axes))
    if not found:
        raise SpecError(
            f"no input carries the embedding label {embedding!r} "
            f"({', '.join(repr(str(s)) for s in problem.inputs)})", argument="inputs"
        )
    x_at = next((k for k, (_, _, lab) in enumerate(found) if lab == sequence), 0)
    order = [found[x_at]] + [f for k, f in enumerate(found) if k != x_at]
    blocks: list[Block] = []
    start = 0
    for k, (i, transposed, row_label) in enumerate(order):
        rows = 1 if row_label is None else int(problem.sizes[row_label])
        blocks.append(Block(i, str(problem.inputs[i]), "X" if k == 0 else "K", start, rows,
                            transposed, row_label))
        start += rows
    if len(problem.outputs) != 1:
        raise SpecError(
            f"form reads one output, but {len(problem.outputs)} are declared "
            f"({', '.join(repr(str(s)) for s in problem.outputs)})", argument="outputs"
        )
    out_spec = problem.outputs[0]
    axes = _vector_axes(out_spec, embedding, "outputs", repr(str(out_spec)))
    if axes is None:
        raise SpecError(
            f"{str(out_spec)!r} has no embedding axis {embedding!r}; form needs an output "
            f"of vectors such as 'n {embedding}' (an invariant output has no form to test)",
            argument="outputs"
        )
    out_transposed, out_label = axes
    out_rows = 1 if out_label is None else int(problem.sizes.get(out_label, -1))
    return Layout(embedding, sequence, int(problem.sizes[embedding]), tuple(blocks),
                  tuple(invariant), out_transposed, out_label, out_rows)


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class Extraction:
    """``C = out Z⁺`` (minimum norm), the span residual, and how well posed that was."""

    coefficients: Array
    residual: float
    rank: int
    cond: float


def extract(out: Array, z: Array) -> Extraction:
    """Least-squares coefficients of the rows of ``out`` on the rows of ``z``.

    >>> z = np.eye(3)[:2]
    >>> e = extract(np.array([[2.0, -1.0, 0.0]]), z)
    >>> e.coefficients.round(12).tolist(), e.residual, e.rank
    ([[2.0, -1.0]], 0.0, 2)
    """
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    cutoff = s[0] * max(z.shape) * np.finfo(np.float64).eps if s.size else 0.0
    rank = int(np.count_nonzero(s > cutoff))
    u, s, vt = u[:, :rank], s[:rank], vt[:rank]
    projected = out @ vt.T  # coordinates of each output in an orthonormal basis of span(Z)
    coefficients = (projected / s) @ u.T
    norm = float(np.linalg.norm(out))
    residual = float(np.linalg.norm(out - projected @ vt)) / norm if norm > 0 else 0.0
    cond = float(s[0] / s[-1]) if rank else float("inf")
    return Extraction(coefficients, residual, rank, cond)


def _relative(diff: Array, reference: Array) -> float:
    ref = float(np.linalg.norm(reference))
    num = float(np.linalg.norm(diff))
    return num / ref if ref > 0 else num


# --------------------------------------------------------------------------- measurement


@dataclass(frozen=True)
class CaseValue(Serialised):
    case: str  # "haar:3", "probe:reflection-e1"
    value: float


@dataclass(frozen=True)
class BilinearFit(Serialised):
    """Pooled fit of ``log C_ij ≈ x_iᵀ W z_j + b_i`` on the positive coefficients."""

    r2: float | None
    equations: int
    parameters: int
    draws: int
    skipped: str | None = None  # why no fit was made


@dataclass
class FormMeasurement:
    """Numbers only: what :func:`measure_form` saw on its draws."""

    layout: Layout
    unique: bool
    not_unique_reason: str | None
    min_rank: int
    max_cond: float
    span: list[CaseValue]
    invariance: list[CaseValue]
    covariance: list[CaseValue] | None
    negative_fraction: float | None
    negative_mass: float | None
    row_sum_error: float | None
    fit: BilinearFit | None
    finite: bool
    seconds: float


def _case_rng(seed: int, kind: str, index: int) -> np.random.Generator:
    key = (zlib.crc32(f"form:{kind}".encode()), index)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _cases(group: Group, seed: int, trials: int) -> list[tuple[str, np.random.Generator, Any]]:
    """``(label, input generator, element)`` for ``trials`` Haar draws, then the probes."""
    out: list[tuple[str, np.random.Generator, Any]] = []
    for t in range(trials):
        rng = _case_rng(seed, f"{group.symbol}:haar", t)
        out.append((f"haar:{t}", rng, None))
    probe_rng = _case_rng(seed, f"{group.symbol}:probes", 0)
    for k, (name, element) in enumerate(group.probes(probe_rng)):
        out.append((f"probe:{name}", _case_rng(seed, f"{group.symbol}:probe", k), element))
    return out


def _finite(*arrays: Array) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


@dataclass
class _Compared:
    """One draw of a comparison: the inputs, the extraction before and after the group acted,
    and the relative error of the moved coefficients against where they are expected."""

    label: str
    x: list[Array]
    before: Extraction
    after: Extraction
    error: float


# Where the coefficients of the moved inputs are expected, from the unmoved extraction.
_Expected = Callable[[Layout, Extraction, Any], Array]


def _unmoved(layout: Layout, e: Extraction, g: Any) -> Array:
    """An orthogonal map of the embedding leaves the coefficients as they were."""
    return e.coefficients


def _permuted(layout: Layout, e: Extraction, g: Any) -> Array:
    """A permutation of the positions moves the coefficients' rows and columns with them."""
    assert isinstance(g, Permutations)  # Symmetric groups only draw permutations
    moved: Array = e.coefficients[np.ix_(layout.out_permutation(g.perm[0]),
                                         layout.z_permutation(g.perm[0]))]
    return moved


def _compare(
    problem: Problem,
    layout: Layout,
    group: Group,
    expected: _Expected,
    seed: int,
    trials: int,
    vectors: Callable[[list[Array]], tuple[Array, Array] | None],
) -> tuple[list[_Compared], bool]:
    """Each seeded draw of ``group`` against the same inputs unmoved; False: an output was
    not finite (that draw is left out)."""
    cases: list[_Compared] = []
    finite = True
    for label, rng, element in _cases(group, seed, trials):
        x = draw_inputs(problem, rng)
        g = element if element is not None else group.sample_one(rng)
        xg = [act(spec, a, [(group, g)]) for spec, a in zip(problem.inputs, x, strict=True)]
        first, moved = vectors(x), vectors(xg)
        if first is None or moved is None:
            finite = False
            continue
        e, eg = extract(*first), extract(*moved)
        error = _relative(eg.coefficients - expected(layout, e, g), e.coefficients)
        cases.append(_Compared(label, x, e, eg, error))
    return cases, finite


def measure_form(problem: Problem, seed: int = 0, trials: int = 20,
                 fit: bool = True) -> FormMeasurement:
    """Measure the form diagnostics of a resolved problem on seeded random draws.

    ``fit=False`` skips the pooled log-bilinear fit (its extra draws and its d² × d² solve).
    """
    if trials < 1:
        raise SpecError(f"{trials} must be at least 1", argument="trials", value=trials)
    start_time = time.perf_counter()
    layout = layout_of(problem)
    orthogonal = GroupName("O", layout.embedding).build(problem.sizes)
    permutation = next((g for g in problem.groups if isinstance(g, Symmetric)), None)

    def vectors(x: list[Array]) -> tuple[Array, Array] | None:
        out = call_model(problem, x)[0]
        if not _finite(out):
            return None
        return layout.output_rows(out), layout.stack(x)

    # What differs between the two comparisons: the group drawn, and where the coefficients
    # of the moved inputs are expected (O(d) leaves them in place, a permutation moves them).
    table: list[tuple[Group, _Expected]] = [(orthogonal, _unmoved)]
    if permutation is not None:
        table.append((permutation, _permuted))
    compared: list[list[_Compared]] = []
    finite = True
    for group, expected in table:
        cases, all_finite = _compare(problem, layout, group, expected, seed, trials, vectors)
        compared.append(cases)
        finite = finite and all_finite
    orthogonal_cases = compared[0]
    span = [CaseValue(c.label, max(c.before.residual, c.after.residual))
            for c in orthogonal_cases]
    invariance = [CaseValue(c.label, c.error) for c in orthogonal_cases]
    covariance = None if permutation is None else [CaseValue(c.label, c.error)
                                                   for c in compared[1]]
    base = [(c.x, c.before) for c in orthogonal_cases]
    every = [c for cases in compared for c in cases]
    ranks = [r for c in every for r in (c.before.rank, c.after.rank)]
    conds = [k for c in every for k in (c.before.cond, c.after.cond)]

    min_rank = min(ranks) if ranks else 0
    reason: str | None = None
    if layout.d < layout.vectors:
        reason = (f"d = {layout.d} < n + m = {layout.vectors}: Z has more vectors than "
                  "dimensions, so many coefficient matrices give the same output")
    elif min_rank < layout.vectors:
        reason = (f"rank Z = {min_rank} < n + m = {layout.vectors}: some input vectors are "
                  "linearly dependent (e.g. the same weight passed twice)")
    unique = reason is None and finite and bool(base)

    negative_fraction = negative_mass = row_sum_error = None
    bilinear: BilinearFit | None = None
    if unique:
        cs = [e.coefficients for _, e in base]
        floor = ZERO_FLOOR.get(problem.dtype, ZERO_FLOOR["float64"])
        negatives = [c < -floor * np.abs(c).max(axis=1, keepdims=True) for c in cs]
        negative_fraction = max(float(np.mean(neg)) for neg in negatives)
        negative_mass = max(_share(c, neg) for c, neg in zip(cs, negatives, strict=True))
        row_sum_error = max(float(np.max(np.abs(c.sum(axis=1) - 1.0))) for c in cs)
        bilinear = (_fit_log_bilinear(problem, layout, base, seed, vectors) if fit else
                    BilinearFit(None, 0, layout.d**2, 0, "not requested (fit=False)"))

    return FormMeasurement(
        layout=layout, unique=unique, not_unique_reason=reason, min_rank=min_rank,
        max_cond=max(conds) if conds else float("nan"), span=span, invariance=invariance,
        covariance=covariance, negative_fraction=negative_fraction, negative_mass=negative_mass,
        row_sum_error=row_sum_error, fit=bilinear, finite=finite,
        seconds=time.perf_counter() - start_time,
    )


def _share(c: Array, mask: Array) -> float:
    """The share of ``Σ|C_ij|`` carried by the entries in ``mask``."""
    total = float(np.abs(c).sum())
    return float(np.abs(c[mask]).sum()) / total if total > 0 else 0.0


def _fit_log_bilinear(
    problem: Problem, layout: Layout, base: list[tuple[list[Array], Extraction]], seed: int,
    vectors: Callable[[list[Array]], tuple[Array, Array] | None],
) -> BilinearFit:
    """Fit ``log C_ij = x_iᵀ W z_j + b_i`` by least squares over ``W`` (d × d), pooled.

    Only entries above :data:`ZERO_FLOOR` of their row's largest coefficient enter. The
    per-row offsets ``b_i`` are eliminated by centring each row (over its positive entries),
    so ``R² = 1 − ‖residual‖² / ‖centred log C‖²`` is the share of the *within-row* variation
    of the log-coefficients that one shared bilinear form explains. ``W`` is the same in every
    draw, so the fit assumes the model's parameters do not change between draws (closed over,
    or fixed by array defaults / ``data``).
    """
    d = layout.d
    params = d * d
    floor = ZERO_FLOOR.get(problem.dtype, ZERO_FLOOR["float64"])
    if layout.out_row_label != layout.blocks[0].row_label or layout.out_rows != layout.n:
        return BilinearFit(None, 0, params, 0, "the output rows are not the tokens of X, so "
                           "there is no query vector x_i for output row i")
    if d > MAX_FIT_DIM:
        return BilinearFit(None, 0, params, 0, f"d = {d} > {MAX_FIT_DIM}: the fit has d² "
                           "parameters")
    if problem.data is not None and all(a is not None for a in problem.data):
        return BilinearFit(None, 0, params, 0, "every input is fixed, so the draws do not vary")
    features: list[Array] = []
    targets: list[Array] = []

    def add(x: list[Array], e: Extraction) -> None:
        z = layout.stack(x)
        for i in range(layout.n):
            row = e.coefficients[i]
            keep = row > floor * np.abs(row).max()
            if np.count_nonzero(keep) < 2:
                continue  # one positive entry carries no within-row variation
            y = np.log(row[keep])
            zk = z[keep]
            features.append(np.einsum("a,jb->jab", z[i], zk - zk.mean(0)).reshape(len(y), -1))
            targets.append(y - y.mean())

    for x, e in base:
        add(x, e)
    per_draw = sum(len(t) for t in targets) / len(base)
    if per_draw == 0:
        return BilinearFit(None, 0, params, len(base), "no row has two positive coefficients, "
                           "so there is no within-row variation of log C to explain")
    # Draw until the pooled equations outnumber the d² parameters FIT_OVERDETERMINATION-fold.
    wanted = min(MAX_FIT_DRAWS, math.ceil(FIT_OVERDETERMINATION * params / per_draw))
    draws = len(base)
    for t in range(max(wanted - len(base), 0)):
        x = draw_inputs(problem, _case_rng(seed, "fit", t))
        got = vectors(x)
        if got is not None:
            add(x, extract(*got))
            draws += 1
    equations = sum(len(t) for t in targets)
    if equations < 2 * params:
        return BilinearFit(None, equations, params, draws,
                           f"too few positive coefficients: {equations} equations for "
                           f"{params} parameters even after {draws} draws")
    a = np.concatenate(features)
    y = np.concatenate(targets)
    # Least squares through the d² × d² normal matrix and its eigendecomposition, with
    # near-null directions dropped (a pseudo-inverse): one matrix product and one small
    # symmetric eigenproblem, instead of a factorisation of the tall matrix whose many BLAS
    # synchronisations crawl when the cores are shared. R² only needs the fitted values.
    gram = a.T @ a
    evals, evecs = np.linalg.eigh(gram)
    keep = evals > evals[-1] * params * np.finfo(np.float64).eps
    solution = evecs[:, keep] @ ((evecs[:, keep].T @ (a.T @ y)) / evals[keep])
    total = float(y @ y)
    if total <= 0:
        return BilinearFit(None, equations, params, draws,
                           "the log-coefficients do not vary within rows")
    residual = y - a @ solution
    return BilinearFit(1.0 - float(residual @ residual) / total, equations, params, draws)

