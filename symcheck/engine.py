"""The equivariance engine: measure ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖``, then judge it.

Measuring and judging are separate (as in e3nn): :func:`measure_equivariance` returns numbers
only; :func:`judge` compares them with a tolerance; :func:`check_equivariance` does both and is
what the CLI calls, so the Python API and the CLI report the same numbers for the same seed.

The Haar cases of a group set are drawn together from one generator seeded by
``(seed, group set, "haar")`` (the probes and identity cases from their own), and go through
the engine as stacked arrays; any single case replays exactly from the seed and the number of
trials with ``case=...``.

>>> import numpy as np
>>> r = check_equivariance(lambda x: np.tanh(x), ["n d"], "n d", ["S(n)"], {"n": 5, "d": 3})
>>> r.passed
True
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symcheck.errors import ModelError, SpecError
from symcheck.groups import (
    ElementBatch,
    Group,
    GroupElement,
    concat_batches,
    parse_group,
    parse_group_name,
    product_factors,
    stack_elements,
)
from symcheck.signature import Signature, signature_of
from symcheck.specs import AxisSpec
from symcheck.tolerances import tolerance_for

Array = np.ndarray
NOISE_REPEATS = 3
_NUMPY_FLOATS = ("float16", "float32", "float64")
#: leading-axis labels that declare a batch axis, through which all cases run in one call
BATCH_LABELS = ("b", "batch")
#: how many of the worst cases the local search starts from (the budget is split among them)
SEARCH_STARTS = 4
_KIND_CODE = {"haar": 0, "probe": 1, "identity": 2, "search": 3}


@dataclass(frozen=True)
class CaseResult:
    """One measured case: a Haar draw, a structured probe, or the identity (noise floor)."""

    case: str  # "haar:3", "probe:reflection-e1", "identity:0"
    error: float  # relative error; nan when an output is not finite
    max_abs: float  # largest elementwise |f(g·x) − g·f(x)|
    where: tuple[int, tuple[int, ...]]  # (output index, element index) of max_abs
    mismatched: int  # elements with |diff| > tolerance·max|g·f(x)|
    total: int
    finite: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case, "error": self.error, "max_abs": self.max_abs,
            "where": {"output": self.where[0], "index": list(self.where[1])},
            "mismatched": self.mismatched, "total": self.total, "finite": self.finite,
        }


@dataclass
class GroupMeasurement:
    """All cases measured for one group, or for the product of all declared groups."""

    name: str
    factors: tuple[str, ...]
    cases: list[CaseResult]
    noise_floor: float
    seconds: float
    #: the arrays of the worst case (for counterexample files); not part of the report
    worst_evaluation: Evaluation | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> Array:
        return np.array([c.error for c in self.cases], dtype=np.float64)

    @property
    def finite(self) -> bool:
        return all(c.finite for c in self.cases)

    def stat(self, q: float) -> float:
        e = self.errors
        e = e[np.isfinite(e)]
        return float(np.percentile(e, q)) if e.size else float("nan")

    @property
    def worst(self) -> CaseResult:
        """The non-finite case if any, else the case with the largest error."""
        bad = [c for c in self.cases if not c.finite]
        return bad[0] if bad else max(self.cases, key=lambda c: c.error)


@dataclass
class GroupResult:
    """A :class:`GroupMeasurement` with its tolerance and verdict."""

    measurement: GroupMeasurement
    tolerance: float
    verdict: str  # "pass" | "fail" | "non-finite"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        m = self.measurement
        worst = m.worst
        return {
            "group": m.name, "factors": list(m.factors), "verdict": self.verdict,
            "trials": len(m.cases), "max": m.stat(100), "median": m.stat(50), "p99": m.stat(99),
            "tolerance": self.tolerance, "noise_floor": m.noise_floor, "seconds": m.seconds,
            "worst": worst.to_dict(), "cases": [c.to_dict() for c in m.cases],
        }


@dataclass
class Problem:
    """A resolved check: specs parsed, sizes bound, groups built, model wrapped."""

    fn: Callable[..., Any]
    name: str
    inputs: tuple[AxisSpec, ...]
    outputs: tuple[AxisSpec, ...]
    groups: tuple[Group, ...]
    sizes: dict[str, int]
    dtype: str
    #: fixed inputs (e.g. real data or saved weights); ``None`` entries are drawn at random
    data: tuple[Array | None, ...] | None = None
    #: the label of a batch axis (leading in every spec, acted on by no group), if any
    batch_label: str | None = None
    #: numpy float dtypes the model's outputs arrived in (to catch a silent upcast)
    output_dtypes: set[str] = field(default_factory=set)

    def group_sets(self) -> list[tuple[Group, ...]]:
        """Each group alone, then their product (when it is more than one of them)."""
        sets: list[tuple[Group, ...]] = [(g,) for g in self.groups]
        product = product_factors(self.groups)
        if len(product) > 1:
            sets.append(product)
        return sets


@dataclass
class EquivarianceResult:
    """Everything one check measured and decided; :meth:`to_dict` is the JSON report."""

    model: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sizes: dict[str, int]
    dtype: str
    seed: int
    trials: int
    tolerance: float
    groups: list[GroupResult]
    data_source: str = "random"
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.groups)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    def worst_failure(self) -> GroupResult | None:
        failing = [g for g in self.groups if not g.passed]
        return max(failing, key=lambda g: _order(g.measurement.worst.error)) if failing else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "verdict": self.verdict, "seed": self.seed,
            "trials": self.trials, "dtype": self.dtype, "tolerance": self.tolerance,
            "inputs": list(self.inputs), "outputs": list(self.outputs), "sizes": self.sizes,
            "data": self.data_source, "warnings": self.warnings,
            "groups": [g.to_dict() for g in self.groups],
        }


def _order(error: float) -> float:
    return float("inf") if not np.isfinite(error) else error


def set_name(groups: Sequence[Group]) -> str:
    return " × ".join(g.name for g in groups)


def case_rng(seed: int, set_label: str, kind: str, index: int) -> np.random.Generator:
    """The generator of one case: independent of every other case and of the case order."""
    key = (zlib.crc32(set_label.encode()), _KIND_CODE[kind], index)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def act(spec: AxisSpec, x: Array, elements: Sequence[tuple[Group, GroupElement]]) -> Array:
    """Apply every element along every axis of ``x`` whose label its group acts on."""
    for axis, label in enumerate(spec.labels):
        for group, element in elements:
            if group.label == label:
                x = element.act(x, axis)
    return x


def resolve(
    fn: Callable[..., Any],
    signature: Signature,
    dtype: str = "float64",
    data: Sequence[Array | None] | None = None,
    name: str | None = None,
) -> Problem:
    """Parse and cross-check specs, groups, sizes and supplied inputs."""
    if not signature.inputs:
        raise SpecError(
            "--in: no input spec; pass one --in SPEC per positional input, e.g. --in 'n d'"
        )
    if not signature.outputs:
        raise SpecError("--out: no output spec; pass e.g. --out 'n d' (repeat for tuple outputs)")
    if not signature.groups:
        raise SpecError("--group: no group to check; pass e.g. --group 'O(d)' --group 'S(n)'")
    inputs = tuple(AxisSpec.parse(s, f"--in {s!r}") for s in signature.inputs)
    outputs = tuple(AxisSpec.parse(s, f"--out {s!r}") for s in signature.outputs)
    sizes = dict(signature.sizes)
    arrays: tuple[Array | None, ...] | None = None
    if data is not None:
        if len(data) != len(inputs):
            raise SpecError(
                f"--inputs: {len(data)} arrays supplied but {len(inputs)} input specs declared"
            )
        arrays = tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in data)
        bound: dict[str, int] = {}
        for i, (spec, a) in enumerate(zip(inputs, arrays, strict=True)):
            if a is not None:
                spec.bind(a.shape, bound, f"--inputs array {i} (spec {str(spec)!r})")
        for label in signature.explicit:
            if label in bound and bound[label] != sizes[label]:
                raise SpecError(
                    f"--size: {label}={sizes[label]}, but a fixed input (data or weights) "
                    f"has {label}={bound[label]}"
                )
        sizes.update(bound)
    check_labels(inputs + outputs, signature.groups, sizes)
    for i, spec in enumerate(inputs):
        spec.shape(sizes, f"--in {str(spec)!r} (input {i})")
    groups = tuple(parse_group(text, sizes) for text in signature.groups)
    return Problem(
        fn=fn, name=str(name or getattr(fn, "__name__", type(fn).__name__)), inputs=inputs,
        outputs=outputs, groups=groups, sizes=sizes, dtype=dtype, data=arrays,
        batch_label=_batch_label(inputs + outputs, groups, arrays),
    )


def check_labels(specs: Sequence[AxisSpec], groups: Sequence[str],
                 sizes: Mapping[str, int]) -> None:
    """Every size and every group must name a label that some spec carries, and no group may
    be named twice (a typo such as ``O(D)`` would otherwise act on nothing and pass)."""
    labels = {lab for spec in specs for lab in spec.labels}
    shown = ", ".join(repr(str(s)) for s in specs)
    unused = [lab for lab in sizes if lab not in labels]
    if unused:
        raise SpecError(
            f"--size: {unused[0]}={sizes[unused[0]]} names {unused[0]!r}, which appears in no "
            f"spec ({shown})"
        )
    for text in groups:
        _, label = parse_group_name(text)
        if label not in labels:
            raise SpecError(
                f"--group: {text!r} acts on {label!r}, which appears in no spec ({shown})"
            )
    if len(set(groups)) != len(groups):
        raise SpecError(f"--group: a group is named twice in {list(groups)}")


def _batch_label(specs: tuple[AxisSpec, ...], groups: tuple[Group, ...],
                 data: tuple[Array | None, ...] | None) -> str | None:
    """The batch axis: a label from :data:`BATCH_LABELS` leading every spec and nowhere else,
    acted on by no group, and not part of a fixed input (those cannot be stacked per case).

    Only these reserved names count: an unacted leading axis such as the ``n`` of a model
    checked for O(d) alone may well mix its entries (a mean over tokens), so stacking cases
    along it would change the function.
    """
    if data is not None and any(a is not None for a in data):
        return None
    if not specs or any(s.rank == 0 for s in specs):
        return None
    label = specs[0].labels[0]
    if label not in BATCH_LABELS or any(g.label == label for g in groups):
        return None
    if all(s.labels[0] == label and label not in s.labels[1:] for s in specs):
        return label
    return None


def call_model(problem: Problem, arrays: Sequence[Array], batch: int = 1) -> tuple[Array, ...]:
    """Run the model; wrap anything it raises, check its outputs against the output specs.

    ``batch`` cases stacked along the batch axis multiply that axis's expected size.
    """
    try:
        out = problem.fn(*arrays)
    except Exception as exc:
        raise ModelError(
            f"model {problem.name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    outs = tuple(out) if isinstance(out, tuple | list) else (out,)
    if len(outs) != len(problem.outputs):
        raise ModelError(
            f"model {problem.name!r} returned {len(outs)} output(s) but {len(problem.outputs)} "
            f"--out spec(s) are declared ({', '.join(repr(str(s)) for s in problem.outputs)})"
        )
    sizes = dict(problem.sizes)
    if problem.batch_label is not None:
        sizes[problem.batch_label] *= batch
    result = []
    for i, (spec, o) in enumerate(zip(problem.outputs, outs, strict=True)):
        try:
            native = getattr(o, "dtype", None)
            if isinstance(native, np.dtype) and native.kind == "f":
                problem.output_dtypes.add(native.name)
            a = np.asarray(o, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"model {problem.name!r} output {i} is {type(o).__name__}, not an array: {exc}"
            ) from None
        expected = tuple(sizes.get(lab, -1) for lab in spec.labels)
        if a.ndim != spec.rank or any(
            e not in (-1, s) for e, s in zip(expected, a.shape, strict=True)
        ):
            shown = tuple("?" if e == -1 else e for e in expected)
            raise ModelError(
                f"model {problem.name!r} output {i} has shape {a.shape}, but --out "
                f"{str(spec)!r} expects {shown}"
            )
        result.append(a)
    return tuple(result)


def draw_inputs(problem: Problem, rng: np.random.Generator) -> list[Array]:
    """Standard-normal inputs of the declared shapes, except those fixed by ``problem.data``."""
    return [a[0] for a in draw_inputs_many(problem, rng, 1)]


def draw_inputs_many(problem: Problem, rng: np.random.Generator, count: int) -> list[Array]:
    """``count`` cases of inputs, stacked on a leading axis (fixed inputs are repeated)."""
    fixed = problem.data or (None,) * len(problem.inputs)
    out = []
    for spec, given in zip(problem.inputs, fixed, strict=True):
        if given is None:
            out.append(rng.standard_normal((count, *spec.shape(problem.sizes))))
        else:
            out.append(np.broadcast_to(given, (count, *given.shape)))
    return out


Elements = list[tuple[Group, GroupElement]]
Draw = tuple[list[Array], Elements]


@dataclass
class Evaluation:
    """The arrays of one case: inputs, element, ``f(x)``, ``f(g·x)`` and ``g·f(x)``."""

    x: list[Array]
    elements: Elements
    fx: tuple[Array, ...]
    fgx: tuple[Array, ...]
    gfx: list[Array]


@dataclass
class CaseBatch:
    """Several cases of one group set: their names, stacked inputs and one element each."""

    labels: list[str]
    x: list[Array]  # each input with a leading case axis
    elements: list[tuple[Group, ElementBatch]]

    def take(self, indices: Sequence[int]) -> CaseBatch:
        idx = list(indices)
        return CaseBatch([self.labels[i] for i in idx], [a[idx] for a in self.x],
                         [(g, b.take(idx)) for g, b in self.elements])

    @classmethod
    def concat(cls, parts: Sequence[CaseBatch]) -> CaseBatch:
        return cls(
            [lab for p in parts for lab in p.labels],
            [np.concatenate(arrays) for arrays in zip(*(p.x for p in parts), strict=True)],
            [(parts[0].elements[i][0], concat_batches([p.elements[i][1] for p in parts]))
             for i in range(len(parts[0].elements))],
        )

    @classmethod
    def of(cls, labels: Sequence[str], draws: Sequence[Draw]) -> CaseBatch:
        """Single cases (inputs and elements) stacked into a batch."""
        x = [np.stack(arrays) for arrays in zip(*(d[0] for d in draws), strict=True)]
        groups = [g for g, _ in draws[0][1]]
        elements = [(g, stack_elements([d[1][i][1] for d in draws]))
                    for i, g in enumerate(groups)]
        return cls(list(labels), x, elements)


@dataclass
class BatchEvaluation:
    """A :class:`CaseBatch` run through the model: ``f(x)``, ``f(g·x)``, ``g·f(x)`` stacked."""

    cases: CaseBatch
    fx: list[Array]
    fgx: list[Array]
    gfx: list[Array]

    def case(self, t: int) -> Evaluation:
        return Evaluation(
            [np.array(a[t]) for a in self.cases.x],
            [(g, b.item(t)) for g, b in self.cases.elements],
            tuple(a[t] for a in self.fx), tuple(a[t] for a in self.fgx),
            [a[t] for a in self.gfx],
        )


def act_many(spec: AxisSpec, x: Array, elements: Sequence[tuple[Group, ElementBatch]]) -> Array:
    """Case ``t``'s elements on ``x[t]``, along every axis whose label their group acts on."""
    for axis, label in enumerate(spec.labels):
        for group, batch in elements:
            if group.label == label:
                x = batch.act(x, axis + 1)
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
    return BatchEvaluation(cases, fx, fgx, gfx)


def evaluate(problem: Problem, draws: Sequence[Draw], batch: bool = True) -> list[Evaluation]:
    """Run the model on single cases (inputs and elements) and their transforms."""
    if not draws:
        return []
    ev = evaluate_batch(problem, CaseBatch.of([""] * len(draws), draws), batch)
    return [ev.case(t) for t in range(len(draws))]


def compare_batch(ev: BatchEvaluation, tolerance: float) -> list[CaseResult]:
    """Per case, the relative error ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖`` and where the largest
    elementwise difference sits, computed for all cases in a few vectorised passes."""
    count = len(ev.cases.labels)
    sizes = [int(np.prod(a.shape[1:], dtype=np.int64)) for a in ev.fx]
    fx = np.concatenate([a.reshape(count, -1) for a in ev.fx], axis=1)
    fgx = np.concatenate([a.reshape(count, -1) for a in ev.fgx], axis=1)
    gfx = np.concatenate([a.reshape(count, -1) for a in ev.gfx], axis=1)
    total = fx.shape[1]
    finite = np.isfinite(fx).all(axis=1) & np.isfinite(fgx).all(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(fgx - gfx)
        num = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        den = np.sqrt(np.einsum("ij,ij->i", fx, fx))
        scale = np.abs(gfx).max(axis=1) if total else np.zeros(count)
        mismatched = np.count_nonzero(diff > tolerance * scale[:, None], axis=1)
    if not total:
        return [CaseResult(label, float(num[t]), 0.0, (0, ()), 0, 0, bool(finite[t]))
                for t, label in enumerate(ev.cases.labels)]
    flat = np.argmax(np.nan_to_num(diff, nan=0.0), axis=1)
    peak = diff[np.arange(count), flat]
    starts = np.cumsum([0, *sizes])
    outputs = np.searchsorted(starts, flat, side="right") - 1  # flat index -> output
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = np.where(den > 0, num / np.where(den > 0, den, 1.0), num)
    results = []
    for t, label in enumerate(ev.cases.labels):
        if not finite[t]:
            results.append(CaseResult(label, float("nan"), float("nan"), (0, ()), total, total,
                                      False))
            continue
        o = int(outputs[t])
        shape = ev.fx[o].shape[1:]
        index = np.unravel_index(int(flat[t] - starts[o]), shape) if shape else ()
        results.append(CaseResult(label, float(errors[t]), float(peak[t]),
                                  (o, tuple(int(i) for i in index)), int(mismatched[t]), total,
                                  True))
    return results


def compare(label: str, ev: Evaluation, tolerance: float) -> CaseResult:
    """:func:`compare_batch` for one evaluated case."""
    cases = CaseBatch([label], [np.asarray(a)[None] for a in ev.x],
                      [(g, stack_elements([e])) for g, e in ev.elements])
    stacked = BatchEvaluation(cases, [a[None] for a in ev.fx], [a[None] for a in ev.fgx],
                              [a[None] for a in ev.gfx])
    return compare_batch(stacked, tolerance)[0]


def _probe_name(groups: tuple[Group, ...], group: Group, name: str) -> str:
    return f"probe:{name}" if len(groups) == 1 else f"probe:{group.name}:{name}"


def case_batches(problem: Problem, groups: tuple[Group, ...], seed: int, trials: int
                 ) -> CaseBatch:
    """Every case of one group set: the Haar draws, the probes and the identity cases.

    Each kind draws from its own generator seeded by ``(seed, set, kind)``: the Haar cases'
    inputs for all trials, then their elements, each in one vectorised call. A case replays
    exactly from the seed and the number of trials.
    """
    label = set_name(groups)
    rng = case_rng(seed, label, "haar", 0)
    haar = CaseBatch(
        [f"haar:{t}" for t in range(trials)], draw_inputs_many(problem, rng, trials),
        [(g, g.sample_many(rng, trials)) for g in groups],
    )
    parts = [haar]
    rng = case_rng(seed, label, "probe", 0)
    probes = [(i, _probe_name(groups, g, name), element)
              for i, g in enumerate(groups) for name, element in g.probes(rng)]
    if probes:
        k = len(probes)
        x = draw_inputs_many(problem, rng, k)
        elements = []
        for i, g in enumerate(groups):
            random = g.sample_many(rng, k)
            elements.append((g, stack_elements([
                element if j == i else random.item(t)
                for t, (j, _, element) in enumerate(probes)
            ])))
        parts.append(CaseBatch([name for _, name, _ in probes], x, elements))
    rng = case_rng(seed, label, "identity", 0)
    parts.append(CaseBatch(
        [f"identity:{t}" for t in range(NOISE_REPEATS)],
        draw_inputs_many(problem, rng, NOISE_REPEATS),
        [(g, stack_elements([g.identity()] * NOISE_REPEATS)) for g in groups],
    ))
    return CaseBatch.concat(parts)


def search_worst(
    problem: Problem, start: Evaluation, rng: np.random.Generator, steps: int, tolerance: float
) -> tuple[CaseResult, Evaluation]:
    """Local search over the group for a larger error, from the worst case found so far.

    A (1+1) evolution strategy on ``log error``: each step moves one factor of the element
    to a random neighbour (a Lie-algebra step ``exp(σA)·Q`` for O/SO, a transposition for S,
    a ±1 shift for C) and keeps the move if the error grows; σ grows after a success and
    shrinks after a failure. The input ``x`` stays the one of the starting case.
    """
    best_ev = start
    best = compare("search", start, tolerance)
    fx = [np.asarray(a)[None] for a in start.fx]
    x = [np.asarray(a)[None] for a in start.x]
    scale = 0.3
    for _ in range(steps):
        if not best.finite:
            break
        i = int(rng.integers(len(best_ev.elements)))
        moved = list(best_ev.elements)
        group, element = moved[i]
        moved[i] = (group, group.neighbour(element, rng, scale))
        cases = CaseBatch(["search"], x, [(g, stack_elements([e])) for g, e in moved])
        ev = evaluate_batch(problem, cases, batch=False, fx=fx)
        (candidate,) = compare_batch(ev, tolerance)
        if not candidate.finite or candidate.error > best.error:
            best, best_ev = candidate, ev.case(0)
            scale = min(scale * 1.5, np.pi)
        else:
            scale = max(scale * 0.85, 1e-3)
    return best, best_ev


@dataclass
class MeasureOptions:
    """How to measure: seed, Haar trials, search steps, batching, and an optional single case."""

    seed: int = 0
    trials: int = 20
    tolerance: float = 0.0
    case: str | None = None
    search: int = 0
    batch: bool = True


def measure_equivariance(problem: Problem, options: MeasureOptions | None = None
                         ) -> list[GroupMeasurement]:
    """Measure every group (and the product of all of them) on Haar draws and probes.

    ``options.tolerance`` only sets which elements count as mismatched in each case's details;
    it plays no part in any error value. ``case="O(d)/haar:3"`` runs that one case only.
    """
    opts = options or MeasureOptions()
    if opts.trials < 1:
        raise SpecError(f"--trials: {opts.trials} must be at least 1")
    if opts.seed < 0:
        raise SpecError(f"--seed: {opts.seed} must be at least 0")
    if opts.search < 0:
        raise SpecError(f"--search: {opts.search} steps must be at least 0")
    wanted_set, wanted_case = _split_case(opts.case, problem)
    measurements = []
    for groups in problem.group_sets():
        label = set_name(groups)
        if wanted_set is not None and label != wanted_set:
            continue
        start = time.perf_counter()
        cases = case_batches(problem, groups, opts.seed, opts.trials)
        searching = opts.search > 0 and wanted_case in (None, "search")
        if wanted_case is not None and wanted_case != "search":
            chosen = [t for t, n in enumerate(cases.labels)
                      if n == wanted_case or n.startswith("identity:")]
            if len(chosen) == NOISE_REPEATS:
                raise SpecError(f"--case: {opts.case!r}: no case {wanted_case!r} in {label}")
            cases = cases.take(chosen)
        evaluation = evaluate_batch(problem, cases, opts.batch)
        results = []
        ranked: list[tuple[float, int]] = []
        noise = 0.0
        for t, r in enumerate(compare_batch(evaluation, opts.tolerance)):
            if r.case.startswith("identity:"):
                noise = max(noise, r.error) if r.finite else float("nan")
                continue
            results.append(r)
            ranked.append((_order(r.error), t))
        ranked.sort(key=lambda item: item[0], reverse=True)
        worst = (ranked[0][0], evaluation.case(ranked[0][1])) if ranked else None
        if searching and worst is not None:
            # Several starts: the worst case can be a trap (its error owed to x, not to g).
            rng = case_rng(opts.seed, label, "search", 0)
            starts = [evaluation.case(t) for _, t in ranked[:SEARCH_STARTS]]
            found, ev = max(
                (search_worst(problem, s, rng, opts.search // len(starts), opts.tolerance)
                 for s in starts),
                key=lambda pair: _order(pair[0].error),
            )
            results = [found] if wanted_case == "search" else [*results, found]
            if _order(found.error) >= worst[0]:
                worst = (_order(found.error), ev)
        m = GroupMeasurement(label, tuple(g.name for g in groups), results, noise,
                             time.perf_counter() - start)
        m.worst_evaluation = worst[1] if worst is not None else None
        measurements.append(m)
    return measurements


def _split_case(case: str | None, problem: Problem) -> tuple[str | None, str | None]:
    if case is None:
        return None, None
    group_part, sep, case_part = case.rpartition("/")
    names = [set_name(s) for s in problem.group_sets()]
    if not sep or group_part.replace(" x ", " × ") not in names:
        raise SpecError(
            f"--case: {case!r} is not GROUP/CASE with GROUP one of {names} "
            f"(e.g. '{names[0]}/haar:0')"
        )
    return group_part.replace(" x ", " × "), case_part


def judge(measurements: Sequence[GroupMeasurement], tolerance: float) -> list[GroupResult]:
    """Verdict per group: non-finite outputs are their own failure; else max error ≤ tolerance."""
    results = []
    for m in measurements:
        if not m.finite:
            verdict = "non-finite"
        elif m.stat(100) > tolerance:
            verdict = "fail"
        else:
            verdict = "pass"
        results.append(GroupResult(m, tolerance, verdict))
    return results


def check_equivariance(
    fn: Callable[..., Any],
    inputs: str | Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
    sizes: Mapping[str, int] | None = None,
    *,
    trials: int | None = None,
    seed: int = 0,
    rtol: float | None = None,
    dtype: str = "float64",
    data: Sequence[Array | None] | None = None,
    case: str | None = None,
    name: str | None = None,
    search: int = 0,
    batch: bool = True,
) -> EquivarianceResult:
    """Measure and judge the equivariance of ``fn`` (a function of numpy arrays).

    Arguments default to what ``fn`` declares with :func:`symcheck.equivariant`.

    >>> import numpy as np
    >>> def softmax_attention(x):
    ...     s = x @ x.T
    ...     w = np.exp(s - s.max(1, keepdims=True))
    ...     return (w / w.sum(1, keepdims=True)) @ x
    >>> r = check_equivariance(softmax_attention, "n d", "n d", ["O(d)", "S(n)"], {"n": 6, "d": 4})
    >>> [g.verdict for g in r.groups]
    ['pass', 'pass', 'pass']
    """
    declared = signature_of(fn) or Signature()
    signature = declared.merged(
        inputs=[inputs] if isinstance(inputs, str) else inputs,
        outputs=[output] if isinstance(output, str) else output,
        groups=[groups] if isinstance(groups, str) else groups,
        sizes=dict(sizes) if sizes else None, trials=trials, rtol=rtol,
    )
    from symcheck.backends import adapt

    _, wrapped = adapt(fn, dtype)
    problem = resolve(wrapped, signature, dtype, data, name or getattr(fn, "__name__", None))
    return run_problem(problem, signature, seed, case, "given" if data else "random",
                       search=search, batch=batch)


def run_problem(problem: Problem, signature: Signature, seed: int, case: str | None,
                data_source: str = "random", search: int = 0, batch: bool = True
                ) -> EquivarianceResult:
    """Measure and judge a resolved problem (shared by the Python API and the CLI)."""
    n_trials = signature.trials if signature.trials is not None else 20
    tolerance = tolerance_for(problem.dtype, signature.rtol)
    options = MeasureOptions(seed, n_trials, tolerance, case, search, batch)
    measurements = measure_equivariance(problem, options)
    groups = judge(measurements, tolerance)
    warnings = [
        f"{g.measurement.name}: noise floor {g.measurement.noise_floor:.2e} is above a tenth of "
        f"the tolerance {tolerance:.1e}: the model is not reproducible enough for this tolerance"
        for g in groups
        if np.isfinite(g.measurement.noise_floor) and g.measurement.noise_floor > tolerance / 10
    ]
    wider = sorted(
        d for d in problem.output_dtypes
        if problem.dtype in _NUMPY_FLOATS
        and np.dtype(d).itemsize > np.dtype(problem.dtype).itemsize
    )
    if wider:
        warnings.append(
            f"--dtype {problem.dtype}: the model returned {', '.join(wider)}, so part of it ran "
            f"in higher precision than asked (e.g. a float64 constant promotes the arithmetic)"
        )
    return EquivarianceResult(
        model=problem.name, inputs=tuple(str(s) for s in problem.inputs),
        outputs=tuple(str(s) for s in problem.outputs), sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=seed, trials=n_trials, tolerance=tolerance, groups=groups,
        data_source=data_source, warnings=warnings,
    )
