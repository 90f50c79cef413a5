"""Running cases through the model and comparing ``f(g·x)`` with ``g·f(x)``.

:func:`evaluate_batch` runs every case of a :class:`~symcheck.engine.cases.CaseBatch` (in one
model call through a batch axis when the specs have one); :func:`compare_batch` turns the
outputs into one :class:`CaseResult` per case in a few vectorised passes.

>>> import numpy as np
>>> from symcheck.core.signature import Signature
>>> from symcheck.engine.cases import case_batches
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> results = compare_batch(evaluate_batch(p, case_batches(p, p.groups, 0, 3)), 1e-9)
>>> max(r.error for r in results) < 1e-15
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from symcheck.core.caseid import CaseId, GroupSet
from symcheck.core.errors import ModelError
from symcheck.core.groups import Elements, Group
from symcheck.core.specs import AxisSpec
from symcheck.core.verdicts import SKIP, Serialised, key
from symcheck.engine.cases import CaseBatch, Draw, Factors
from symcheck.engine.problem import Problem, call_model

Array = np.ndarray


@dataclass(frozen=True)
class CaseResult(Serialised):
    """One measured case: a Haar draw, a structured probe, or the identity (noise floor).

    Each output is judged on its own scale: ``outputs[k]`` is ``‖f_k(g·x) − g·f_k(x)‖ /
    ‖f_k(x)‖``, and ``error`` is the largest of them (the pooled ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖``
    over all outputs is ``pooled``, a summary only). ``max_abs``, ``where``, ``mismatched`` and
    ``total`` describe the output ``error`` comes from (``where[0]``), with one criterion: an
    element differs when ``|f(g·x) − g·f(x)|`` exceeds the tolerance times the output's RMS,
    so a case above its tolerance always has an element that differs.
    """

    #: who the case is: str() gives "haar:3", "probe:reflection-e1", ...
    case_id: CaseId = field(metadata=key("case"))
    error: float  # relative error of the worst output on its own scale; nan when not finite
    max_abs: float  # largest elementwise |f(g·x) − g·f(x)| in that output
    #: (output index, element index) of max_abs
    where: tuple[int, tuple[int, ...]] = field(metadata=key(convert=lambda w: {
        "output": w[0], "index": w[1]}))
    mismatched: int  # elements of that output with |diff| > tolerance·RMS(f_k(x))
    total: int  # elements of that output
    finite: bool
    #: whether f(g·x) and g·f(x) are finite (a probe counts only where both are)
    sides: tuple[bool, bool] = field(default=(True, True), metadata=SKIP)
    #: ‖f(x)‖ and ‖f(g·x)‖ (a probe whose output vanishes compares round-off with round-off)
    norms: tuple[float, float] = field(default=(float("nan"), float("nan")), metadata=SKIP)
    #: per output, its relative error on its own scale (see :func:`output_scales`)
    outputs: tuple[float, ...] = ()
    #: the error of all outputs pooled, ‖f(g·x) − g·f(x)‖ / ‖f(x)‖ (a summary)
    pooled: float = float("nan")

    @property
    def case(self) -> str:
        """The case's label, as shown: ``haar:3``, ``probe:reflection-e1``, ``identity:0``."""
        return str(self.case_id)

    def output_error(self, k: int) -> float:
        """Output ``k``'s error (the case's error when it has no per-output record)."""
        return self.outputs[k] if k < len(self.outputs) else self.error


#: Tolerances: one for every output, or one per output
Tolerance = float | Sequence[float]


def per_output(tolerance: Tolerance, count: int) -> tuple[float, ...]:
    """``tolerance`` as one value per output.

    >>> per_output(1e-9, 2), per_output([1e-6, 3e-6], 2)
    ((1e-09, 1e-09), (1e-06, 3e-06))
    """
    if isinstance(tolerance, float | int):
        return (float(tolerance),) * count
    values = tuple(float(t) for t in tolerance)
    return values if len(values) == count else (max(values, default=0.0),) * count


#: the largest share of a reference scale an output may have and still count as vanishing
#: (the thousand round-off units of float64 and float32 are far below it)
VANISHING_SHARE = 1e-2


def vanishing_share(dtype: str) -> float:
    """The share of a reference scale (the whole output, the typical output) at or below which
    an output holds only round-off: a thousand round-off units of the dtype, at most
    :data:`VANISHING_SHARE`."""
    from symcheck.core.tolerances import RESOLUTION

    return min(1e3 * RESOLUTION.get(dtype, RESOLUTION["float32"]), VANISHING_SHARE)


def output_scales(norms: Array, norms_g: Array, dtype: str,
                  inputs: Array | None = None) -> Array:
    """The scale each output is judged on (cases × outputs): its own norm ``‖f_k(x)‖``; but an
    output whose ``‖f_k(x)‖`` and ``‖f_k(g·x)‖`` are both within :func:`vanishing_share` of a
    reference (zero in exact arithmetic: an invariant that vanishes, a cross product of
    collinear points) holds only round-off, and is judged on that reference, so round-off over
    round-off is never a failure. The reference is the whole output's ``‖f(x)‖``, or the
    inputs' norm (``inputs``, per case) where that is smaller: an energy of 1e14 beside forces
    of 1 must not make the forces look like its round-off.

    >>> output_scales(np.array([[3.0, 4.0, 1e-17]]), np.array([[3.0, 4.0, 2e-17]]), "float64")
    array([[3., 4., 5.]])
    >>> output_scales(np.array([[1e14, 1.0]]), np.array([[1e14, 1.0]]), "float64",
    ...               inputs=np.array([2.0]))
    array([[1.e+14, 1.e+00]])
    """
    whole = np.sqrt(np.sum(norms**2, axis=1, keepdims=True))
    if inputs is not None:
        given = np.asarray(inputs, dtype=np.float64).reshape(-1, 1)
        whole = np.where((given > 0) & np.isfinite(given), np.minimum(whole, given), whole)
    small = np.maximum(norms, norms_g) <= vanishing_share(dtype) * whole
    return np.where(small, whole, norms)


def input_norms(x: Sequence[Array]) -> Array:
    """Per case (axis 0), the norm of all its floating-point inputs together (0 without
    any): the reference of :func:`output_scales` that no output can inflate."""
    count = len(np.asarray(x[0])) if x else 0
    total = np.zeros(count)
    for a in x:
        a = np.asarray(a)
        if a.dtype.kind == "f" and a.size:
            with np.errstate(over="ignore", invalid="ignore"):
                total = total + np.sum(a.reshape(count, -1).astype(np.float64) ** 2, axis=1)
    return np.sqrt(total)


def act(spec: AxisSpec, x: Array, elements: Sequence[tuple[Group, Elements]]) -> Array:
    """One case: apply each single element (a batch of one) along every axis of ``x`` whose
    label its group acts on, through that axis's representation."""
    return np.asarray(act_many(spec, np.asarray(x)[None], elements)[0])


@dataclass
class Evaluation:
    """The arrays of one case: inputs, element, ``f(x)``, ``f(g·x)`` and ``g·f(x)``."""

    x: list[Array]
    elements: Factors
    fx: tuple[Array, ...]
    fgx: tuple[Array, ...]
    gfx: list[Array]
    #: the dtype of the check (sets when an output is round-off of the others)
    dtype: str = "float64"


@dataclass
class BatchEvaluation:
    """A :class:`CaseBatch` run through the model: ``f(x)``, ``f(g·x)``, ``g·f(x)`` stacked."""

    cases: CaseBatch
    fx: list[Array]
    fgx: list[Array]
    gfx: list[Array]
    #: per output, which elements count (``mask``): of f(x), and of the transformed frame
    valid: list[Array] | None = None
    valid_g: list[Array] | None = None
    dtype: str = "float64"

    def case(self, t: int) -> Evaluation:
        return Evaluation(
            [np.array(a[t]) for a in self.cases.x],
            [(g, b.item(t)) for g, b in self.cases.elements],
            tuple(a[t] for a in self.fx), tuple(a[t] for a in self.fgx),
            [a[t] for a in self.gfx], self.dtype,
        )

    @classmethod
    def one(cls, case: CaseId, ev: Evaluation) -> BatchEvaluation:
        """One evaluated case as a batch of one."""
        cases = CaseBatch([case], [np.asarray(a)[None] for a in ev.x], list(ev.elements))
        return cls(cases, [a[None] for a in ev.fx], [a[None] for a in ev.fgx],
                   [a[None] for a in ev.gfx], dtype=ev.dtype)



def act_many(spec: AxisSpec, x: Array, elements: Sequence[tuple[Group, Elements]]) -> Array:
    """Case ``t``'s elements on ``x[t]``, along every axis whose label their group acts on,
    each through the representation the spec gives that axis."""
    for axis, label in enumerate(spec.labels):
        rep = spec.representation(axis)
        for group, batch in elements:
            if group.label == label:
                x = rep.act(batch, x, axis + 1)
            if rep.crosses(group):  # an index array's values, a complemented channel
                x = rep.act_across(group, batch, x, axis + 1)
    return x


def _comparable(problem: Problem, gx: Sequence[Array], out: list[Array]) -> list[Array]:
    """The outputs as compared, when some are positions or sets: positions that point at equal
    tokens of ``g·x`` named alike (:func:`first_equal`), rows of unordered axes sorted."""
    result = []
    for spec, a in zip(problem.outputs, out, strict=True):
        for axis in range(spec.rank):
            target = spec.representation(axis).argument
            if spec.rep(axis).startswith("index(") and target is not None:
                a = first_equal(a, token_rows(problem.inputs, gx, target))
        result.append(in_order(spec, a))
    return result


def token_rows(specs: Sequence[AxisSpec], x: Sequence[Array], label: str) -> Array | None:
    """Per case, each position along ``label`` as one row of every input entry there
    (cases, positions, entries); None when no input carries the label."""
    rows = []
    for spec, a in zip(specs, x, strict=True):
        for axis in spec.axes_of(label):
            moved = np.moveaxis(np.asarray(a, dtype=np.float64), axis + 1, 1)
            rows.append(moved.reshape(moved.shape[0], moved.shape[1], -1))
    return np.concatenate(rows, axis=2) if rows else None


def first_equal(values: Array, rows: Array | None) -> Array:
    """Positions ``values`` (cases first) with each replaced by the first position whose token
    (row of ``rows``) is equal to the one it points at: two equal tokens are
    indistinguishable, so a nearest-neighbour list may name either (a tie) and be right.

    >>> rows = np.array([[[1.0], [2.0], [1.0]]])
    >>> first_equal(np.array([[2.0, 1.0, 0.0]]), rows)
    array([[0., 1., 0.]])
    """
    if rows is None:
        return values
    count, n = int(rows.shape[0]), int(rows.shape[1])
    first = np.empty((count, n), dtype=np.int64)
    for t in range(count):
        _, where, inverse = np.unique(rows[t], axis=0, return_index=True, return_inverse=True)
        first[t] = where[np.ravel(inverse)]
    flat = np.asarray(values).reshape(values.shape[0], -1)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(flat) & (flat == np.round(flat)) & (flat >= 0) & (flat < n)
    named = np.take_along_axis(first, np.where(valid, flat, 0).astype(np.int64), axis=1)
    return np.where(valid, named.astype(flat.dtype), flat).reshape(values.shape)


def in_order(spec: AxisSpec, x: Array) -> Array:
    """``x`` (cases first) with the rows along each unordered axis (``e:set``) sorted, per
    case, lexicographically by their entries: two sides that hold the same rows in another
    order then compare equal."""
    for axis, _ in enumerate(spec.labels):
        if not spec.representation(axis).unordered:
            continue
        moved = np.moveaxis(x, axis + 1, 1)
        rows = moved.reshape(moved.shape[0], moved.shape[1], -1)
        order = np.stack([np.lexsort(r.T[::-1]) if r.shape[1] else np.arange(r.shape[0])
                          for r in rows])
        moved = np.take_along_axis(moved, order.reshape(order.shape + (1,) * (moved.ndim - 2)),
                                   axis=1)
        x = np.moveaxis(moved, 1, axis + 1)
    return x


def _run(problem: Problem, x: Sequence[Array], batch: bool) -> list[Array]:
    """The model on every case of ``x`` (leading case axis): one call through the batch axis,
    or one call per case."""
    count = x[0].shape[0]
    if batch and problem.batch_label is not None and count > 1:
        flat = [a.reshape(count * a.shape[1], *a.shape[2:]) for a in x]
        out = call_model(problem, flat, batch=count)
        return [a.reshape(count, a.shape[0] // count, *a.shape[1:]) for a in out]
    per_case = [call_model(problem, [a[t] for a in x]) for t in range(count)]
    for i, parts in enumerate(zip(*per_case, strict=True)):
        shapes = list(dict.fromkeys(p.shape for p in parts))
        if len(shapes) > 1:
            raise ModelError(
                f"model {problem.name!r} output {i} ({str(problem.outputs[i])!r}) has shapes "
                f"{', '.join(map(str, shapes[:3]))} on inputs of one shape: an output whose "
                "length depends on the values (an edge list) needs inputs that keep it fixed "
                "(integer or boolean data are never probed)", argument="outputs")
    return [np.stack(parts) for parts in zip(*per_case, strict=True)]


def evaluate_batch(problem: Problem, cases: CaseBatch, batch: bool = True,
                   fx: list[Array] | None = None) -> BatchEvaluation:
    """Run the model on every case and its transform (``fx`` reuses known ``f(x)``).

    With a batch axis (the leading axis of every spec, acted on by no group) and ``batch``,
    all cases go through the model in two calls, stacked along that axis; otherwise two calls
    per case. The numbers are the same either way (up to the model's own batch round-off).
    """
    gx = [act_many(spec, a, cases.elements) for spec, a in zip(problem.inputs, cases.x,
                                                                  strict=True)]
    fx = fx if fx is not None else _run(problem, cases.x, batch)
    fgx = _run(problem, gx, batch)
    gfx = [act_many(spec, a, cases.elements) for spec, a in zip(problem.outputs, fx,
                                                                   strict=True)]
    fgx, gfx = (_comparable(problem, gx, fgx), _comparable(problem, gx, gfx))
    if problem.mask is None:
        return BatchEvaluation(cases, fx, fgx, gfx, dtype=problem.dtype)
    m = problem.mask
    use = problem.mask_use
    marks, marks_g = (cases.x[m], gx[m]) if use is None else (use.valid(cases.x[m]),
                                                             use.valid(gx[m]))
    valid = [mask_for(problem.inputs[m], marks, spec, a) for spec, a in
             zip(problem.outputs, fx, strict=True)]
    valid_g = [mask_for(problem.inputs[m], marks_g, spec, a) for spec, a in
               zip(problem.outputs, fx, strict=True)]
    return BatchEvaluation(cases, fx, fgx, gfx, valid, valid_g, problem.dtype)


def mask_for(mask_spec: AxisSpec, mask: Array, out_spec: AxisSpec, out: Array) -> Array:
    """The mask (cases first) broadcast onto an output by axis labels: an output axis the mask
    does not label is all valid; a mask axis the output does not carry is reduced by "any"; an
    output that carries a masked label on several axes (``n n``) is valid where each is."""
    m = np.asarray(mask).astype(bool)
    labels = list(mask_spec.labels)
    for axis in reversed(range(len(labels))):
        if labels[axis] not in out_spec.labels:
            m = np.asarray(m.any(axis=axis + 1))
            labels.pop(axis)
    where = {lab: [i for i, o in enumerate(out_spec.labels) if o == lab] for lab in labels}
    valid = np.ones(out.shape, dtype=bool)
    for t in range(max((len(axes) for axes in where.values()), default=1)):
        at = {lab: axes[min(t, len(axes) - 1)] for lab, axes in where.items()}
        order = sorted(labels, key=at.__getitem__)
        shape = [out.shape[0]] + [1] * out_spec.rank
        for lab in order:
            shape[at[lab] + 1] = out.shape[at[lab] + 1]
        m_t = np.transpose(m, [0, *[labels.index(lab) + 1 for lab in order]])
        valid &= np.broadcast_to(m_t.reshape(shape), out.shape)
    return valid


def evaluate(problem: Problem, cases: Sequence[CaseId], draws: Sequence[Draw],
             batch: bool = True) -> list[Evaluation]:
    """Run the model on single cases (inputs and elements) and their transforms."""
    if not draws:
        return []
    ev = evaluate_batch(problem, CaseBatch.of(cases, draws), batch)
    return [ev.case(t) for t in range(len(draws))]


def _flat(ev: BatchEvaluation) -> tuple[list[Array], list[Array], list[Array]]:
    """Per output, f(x), f(g·x), g·f(x) flattened per case, padding (``mask``) zeroed."""
    count = len(ev.cases.labels)
    fx = [a.reshape(count, -1) for a in ev.fx]
    fgx = [a.reshape(count, -1) for a in ev.fgx]
    gfx = [a.reshape(count, -1) for a in ev.gfx]
    if ev.valid is not None and ev.valid_g is not None:  # padding is not compared
        keep = [v.reshape(count, -1) for v in ev.valid]
        keep_g = [v.reshape(count, -1) for v in ev.valid_g]
        fx = [np.where(k, a, 0.0) for k, a in zip(keep, fx, strict=True)]
        fgx = [np.where(k, a, 0.0) for k, a in zip(keep_g, fgx, strict=True)]
        gfx = [np.where(k, a, 0.0) for k, a in zip(keep_g, gfx, strict=True)]
    return fx, fgx, gfx


def _norms(arrays: Sequence[Array]) -> Array:
    """Cases × outputs: the norm of each output of each case."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.stack([np.sqrt(np.einsum("ij,ij->i", a, a)) for a in arrays], axis=1)


def _ratio(num: Array, den: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), num)


def compare_batch(ev: BatchEvaluation, tolerance: Tolerance) -> list[CaseResult]:
    """Per case and per output, the relative error ``‖f_k(g·x) − g·f_k(x)‖ / ‖f_k(x)‖`` (on the
    scale of :func:`output_scales`), the pooled error, and where the largest elementwise
    difference of the worst output sits, for all cases in a few vectorised passes.
    ``tolerance`` (one, or one per output) sets which elements count as differing, and which
    output is the worst: the one furthest above its tolerance (the largest error when none is
    positive)."""
    count = len(ev.cases.labels)
    fx, fgx, gfx = _flat(ev)
    tols = np.array(per_output(tolerance, len(fx)))
    with np.errstate(invalid="ignore", over="ignore"):
        diffs = [np.abs(a - b) for a, b in zip(fgx, gfx, strict=True)]
    num, den, den_g = _norms(diffs), _norms(fx), _norms(fgx)
    finite_fgx = np.array([all(np.isfinite(a[t]).all() for a in fgx) for t in range(count)])
    finite_gfx = np.array([all(np.isfinite(a[t]).all() for a in fx) for t in range(count)])
    finite = finite_fgx & finite_gfx  # g·f(x) is finite exactly when f(x) is
    scales = output_scales(den, den_g, ev.dtype, input_norms(ev.cases.x))
    errors = _ratio(num, scales)
    with np.errstate(invalid="ignore", over="ignore"):
        pooled = _ratio(np.sqrt(np.sum(num**2, axis=1)), np.sqrt(np.sum(den**2, axis=1)))
    rank = errors / tols if np.all(tols > 0) else errors
    results = []
    for t, label in enumerate(ev.cases.labels):
        sides = (bool(finite_fgx[t]), bool(finite_gfx[t]))
        if not finite[t]:
            results.append(CaseResult(label, float("nan"), float("nan"), (0, ()), 0, 0, False,
                                      sides, outputs=(float("nan"),) * len(fx),
                                      pooled=float("nan")))
            continue
        o = int(np.argmax(rank[t])) if len(fx) else 0
        d = diffs[o][t] if len(fx) else np.zeros(0)
        size = d.size
        flat = int(np.argmax(d)) if size else 0
        shape = ev.fx[o].shape[1:] if len(fx) else ()
        index = np.unravel_index(flat, shape) if shape and size else ()
        rms = scales[t, o] / np.sqrt(size) if size else 0.0
        results.append(CaseResult(
            label, float(errors[t, o]) if len(fx) else 0.0, float(d[flat]) if size else 0.0,
            (o, tuple(int(i) for i in index)),
            int(np.count_nonzero(d > tols[o] * rms)) if size else 0, size, True, sides,
            (float(np.linalg.norm(den[t])), float(np.linalg.norm(den_g[t]))),
            tuple(float(e) for e in errors[t]), float(pooled[t])))
    return results


def compare(label: CaseId, ev: Evaluation, tolerance: Tolerance) -> CaseResult:
    """:func:`compare_batch` for one evaluated case."""
    return compare_batch(BatchEvaluation.one(label, ev), tolerance)[0]


#: an error within this many times the output's response to its input's own round-off is
#: that round-off (the rounding of g·x moves the input by as much)
SENSITIVITY_MULTIPLE = 10.0
#: perturbations the response is measured on (the largest counts)
SENSITIVITY_DRAWS = 2


def rounding_responses(problem: Problem, evs: Sequence[Evaluation], rng: np.random.Generator
                       ) -> tuple[list[float], float]:
    """How far ``f(x)`` moves (relative; the largest of a few draws) for each case when the
    inputs the check varies move by their own round-off, and that relative move (twice the
    dtype's resolution); all cases in one batch, ``f(x)`` reused. Two tokens ``δ`` apart make a
    difference whose round-off is ``resolution / δ`` of itself, so a model that uses the
    difference (its direction, say) answers the rounding of ``g·x`` with an error that large,
    equivariant as it is. NaN where the model cannot run.
    """
    from symcheck.core.errors import ModelError
    from symcheck.core.tolerances import RESOLUTION
    from symcheck.engine.cases import varied_inputs

    res = 2 * RESOLUTION.get(problem.dtype, RESOLUTION["float32"])
    if not evs:
        return [], res
    k = SENSITIVITY_DRAWS
    x = []
    for i, varied in enumerate(varied_inputs(problem)):
        a = np.stack([np.asarray(ev.x[i]) for ev in evs]).repeat(k, axis=0)
        if varied and a.dtype.kind == "f" and a.size:
            rms = np.sqrt(np.mean(a.astype(np.float64) ** 2, axis=tuple(range(1, a.ndim)),
                                  keepdims=True))
            a = a + res * rms * rng.standard_normal(a.shape)
        x.append(a)
    fx = [np.stack([np.asarray(ev.fx[i]) for ev in evs]).repeat(k, axis=0)
          for i in range(len(evs[0].fx))]
    case = CaseId(GroupSet.of([g for g, _ in evs[0].elements]), "search")
    cases = CaseBatch([case] * (k * len(evs)), x,
                      [(g, g.identity(k * len(evs))) for g, _ in evs[0].elements])
    try:  # with the identity and f(x) given, the "error" is ‖f(x') − f(x)‖ / ‖f(x)‖
        moved = compare_batch(evaluate_batch(problem, cases, batch=True, fx=fx), 1.0)
    except ModelError:
        return [float("nan")] * len(evs), res
    errors = np.array([r.error for r in moved]).reshape(len(evs), k)
    return [float(e.max()) for e in errors], res
