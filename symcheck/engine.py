"""The equivariance engine: measure ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖``, then judge it.

Measuring and judging are separate (as in e3nn): :func:`measure_equivariance` returns numbers
only; :func:`judge` compares them with a tolerance; :func:`check_equivariance` does both and is
what the CLI calls, so the Python API and the CLI report the same numbers for the same seed.

Every case draws its inputs and group element from its own generator, seeded by
``(seed, group set, case)``: any single case replays exactly with ``case=...``.

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
    Group,
    GroupElement,
    parse_group,
    parse_group_name,
    product_factors,
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
    fixed = problem.data or (None,) * len(problem.inputs)
    return [
        rng.standard_normal(spec.shape(problem.sizes)) if given is None else given
        for spec, given in zip(problem.inputs, fixed, strict=True)
    ]


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


def _transform(problem: Problem, draw: Draw) -> list[Array]:
    x, elements = draw
    return [act(spec, a, elements) for spec, a in zip(problem.inputs, x, strict=True)]


def _finish(problem: Problem, draw: Draw, fx: tuple[Array, ...], fgx: tuple[Array, ...]
            ) -> Evaluation:
    gfx = [act(spec, a, draw[1]) for spec, a in zip(problem.outputs, fx, strict=True)]
    return Evaluation(draw[0], draw[1], fx, fgx, gfx)


def evaluate(problem: Problem, draws: Sequence[Draw], batch: bool = True) -> list[Evaluation]:
    """Run the model on every draw and its transform.

    With a batch axis (the leading axis of every spec, acted on by no group) and ``batch``,
    all draws go through the model in two calls, stacked along that axis; otherwise two calls
    per draw. The numbers are the same either way (up to the model's own batch round-off).
    """
    if not draws:
        return []
    if not (batch and problem.batch_label is not None and len(draws) > 1):
        return [
            _finish(problem, d, call_model(problem, d[0]),
                    call_model(problem, _transform(problem, d)))
            for d in draws
        ]
    k = len(draws)
    stacked_x = [np.concatenate(parts) for parts in zip(*(d[0] for d in draws), strict=True)]
    moved = [_transform(problem, d) for d in draws]
    stacked_gx = [np.concatenate(parts) for parts in zip(*moved, strict=True)]
    fx_all = call_model(problem, stacked_x, batch=k)
    fgx_all = call_model(problem, stacked_gx, batch=k)
    fx_parts = [np.split(a, k) for a in fx_all]
    fgx_parts = [np.split(a, k) for a in fgx_all]
    return [
        _finish(problem, d, tuple(p[i] for p in fx_parts), tuple(p[i] for p in fgx_parts))
        for i, d in enumerate(draws)
    ]


def compare(label: str, ev: Evaluation, tolerance: float) -> CaseResult:
    """The relative error ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖`` of one evaluated case, and where the
    largest elementwise difference sits."""
    # One flat pass over all outputs: this runs once per case and dominates small checks.
    fx = np.concatenate([a.ravel() for a in ev.fx]) if len(ev.fx) > 1 else ev.fx[0].ravel()
    fgx = np.concatenate([a.ravel() for a in ev.fgx]) if len(ev.fgx) > 1 else ev.fgx[0].ravel()
    gfx = np.concatenate([a.ravel() for a in ev.gfx]) if len(ev.gfx) > 1 else ev.gfx[0].ravel()
    total = fx.size
    if not (np.isfinite(fx).all() and np.isfinite(fgx).all()):
        return CaseResult(label, float("nan"), float("nan"), (0, ()), total, total, False)
    diff = np.abs(fgx - gfx)
    num = float(np.sqrt(np.dot(diff, diff)))
    den = float(np.sqrt(np.dot(fx, fx)))
    error = num / den if den > 0 else num
    if not total:
        return CaseResult(label, error, 0.0, (0, ()), 0, 0, True)
    scale = float(np.abs(gfx).max())
    mismatched = int(np.count_nonzero(diff > tolerance * scale))
    flat = int(np.argmax(diff))
    out_idx = 0
    while flat >= ev.fx[out_idx].size:  # map the flat index back to (output, element)
        flat -= ev.fx[out_idx].size
        out_idx += 1
    shape = ev.fx[out_idx].shape
    where = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
    return CaseResult(label, error, float(diff.max()), (out_idx, where), mismatched, total, True)


def _cases_of(
    problem: Problem, groups: tuple[Group, ...], seed: int, trials: int
) -> list[tuple[str, Callable[[], Draw]]]:
    """Every case of one group set, as ``(label, draw)`` with ``draw`` replaying it exactly."""
    label = set_name(groups)

    def drawer(kind: str, t: int, fixed: dict[int, GroupElement] | None = None
               ) -> Callable[[], Draw]:
        def draw() -> Draw:
            rng = case_rng(seed, label, kind, t)
            x = draw_inputs(problem, rng)
            elements: Elements = []
            for i, g in enumerate(groups):
                if fixed is not None and i in fixed:
                    elements.append((g, fixed[i]))
                else:
                    elements.append((g, g.identity() if kind == "identity" else g.sample(rng)))
            return x, elements
        return draw

    cases = [(f"haar:{t}", drawer("haar", t)) for t in range(trials)]
    probe_rng = case_rng(seed, label, "probe", 0)
    k = 0
    for i, g in enumerate(groups):
        for probe_name, element in g.probes(probe_rng):
            k += 1
            name = f"probe:{probe_name}" if len(groups) == 1 else f"probe:{g.name}:{probe_name}"
            cases.append((name, drawer("probe", k, {i: element})))
    cases += [(f"identity:{t}", drawer("identity", t)) for t in range(NOISE_REPEATS)]
    return cases


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
    scale = 0.3
    for _ in range(steps):
        if not best.finite:
            break
        i = int(rng.integers(len(best_ev.elements)))
        moved = list(best_ev.elements)
        group, element = moved[i]
        moved[i] = (group, group.neighbour(element, rng, scale))
        draw: Draw = (best_ev.x, moved)
        ev = _finish(problem, draw, best_ev.fx, call_model(problem, _transform(problem, draw)))
        candidate = compare("search", ev, tolerance)
        if not candidate.finite or candidate.error > best.error:
            best, best_ev = candidate, ev
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
        cases = _cases_of(problem, groups, opts.seed, opts.trials)
        searching = opts.search > 0 and wanted_case in (None, "search")
        if wanted_case is not None and wanted_case != "search":
            cases = [(n, d) for n, d in cases if n == wanted_case]
            if not cases:
                raise SpecError(f"--case: {opts.case!r}: no case {wanted_case!r} in {label}")
        evaluations = evaluate(problem, [draw() for _, draw in cases], opts.batch)
        results = []
        ranked: list[tuple[float, Evaluation]] = []
        noise = 0.0
        for (name, _), ev in zip(cases, evaluations, strict=True):
            r = compare(name, ev, opts.tolerance)
            if name.startswith("identity:"):
                noise = max(noise, r.error) if r.finite else float("nan")
                continue
            results.append(r)
            ranked.append((_order(r.error), ev))
        ranked.sort(key=lambda item: item[0], reverse=True)
        worst = ranked[0] if ranked else None
        if searching and ranked:
            # Several starts: the worst case can be a trap (its error owed to x, not to g).
            rng = case_rng(opts.seed, label, "search", 0)
            starts = ranked[:SEARCH_STARTS]
            found, ev = max(
                (search_worst(problem, start, rng, opts.search // len(starts), opts.tolerance)
                 for _, start in starts),
                key=lambda pair: _order(pair[0].error),
            )
            results = [found] if wanted_case == "search" else [*results, found]
            if _order(found.error) >= ranked[0][0]:
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
