"""Measure every group of a problem, then judge the numbers against a tolerance.

Measuring and judging are separate (as in e3nn): :func:`measure_equivariance` returns numbers
only; :func:`judge` compares them with a tolerance.

>>> import numpy as np
>>> from symcheck.core.signature import DEFAULT_SEARCH, DEFAULT_TRIALS, Signature
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> [g.verdict.value for g in judge(measure_equivariance(p, Measure(trials=3)), 1e-9)]
['pass']
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from symcheck.core.caseid import CaseId, GroupSet, UnknownCase
from symcheck.core.errors import ModelError, Phrase, SpecError, Suggest, Use
from symcheck.core.groups import Group
from symcheck.core.options import Measure
from symcheck.core.signature import DEFAULT_SEARCH, DEFAULT_TRIALS
from symcheck.core.verdicts import SKIP, Computed, Judged, Verdict, brief, key
from symcheck.engine.cases import (
    INPUT_PROBES,
    CaseBatch,
    Drawn,
    case_batches,
    case_rng,
    draw_inputs_many,
    input_probe_batch,
    permuted_labels,
    search_case,
    size_probe_batch,
    size_probes_for,
)
from symcheck.engine.evaluate import (
    SENSITIVITY_MULTIPLE,
    BatchEvaluation,
    CaseResult,
    Evaluation,
    Tolerance,
    compare_batch,
    evaluate_batch,
    per_output,
    rounding_responses,
    vanishing_share,
)
from symcheck.engine.precision import (
    Calibration,
    RoundoffTest,
    at_outputs,
    calibrate,
    float32_grain,
    narrower_outputs,
    roundoff_bound,
    roundoff_cause,
    test_roundoff,
)
from symcheck.engine.problem import _NUMPY_FLOATS, CheckedRun, MaskUse, Problem

Array = np.ndarray

SEARCH_STARTS = 4
#: the rule of three: N independent random cases without a failure rule out, at 95 %,
#: a violating set larger than 3/N of the group
RULE_OF_THREE = 3.0


@dataclass(frozen=True)
class Refusal:
    """A size probe the model raised on (its cases are not counted): which probe, what it
    raised and where, and the exception's message (shortened)."""

    probe: str  # "n = 1"
    raised: str  # "ValueError at model.py:7"
    message: str

    @classmethod
    def of(cls, probe: str, exc: ModelError) -> Refusal:
        import os

        from symcheck.engine.problem import where_raised

        cause = exc.__cause__
        if cause is None:  # not the model's own exception (an output of the wrong shape)
            return cls(probe, "an error", _short(str(exc), 100))
        where = where_raised(cause).removeprefix(" at ")
        if where:
            path, _, line = where.rpartition(":")
            relative = os.path.relpath(path)
            where = f" at {path if relative.startswith('..') else relative}:{line}"
        return cls(probe, f"{type(cause).__name__}{where}", _short(str(cause), 100))

    def note(self) -> str:
        """The note of one group check: ``the model does not accept n = 1: ValueError at
        model.py:7: ...``."""
        return f"the model does not accept {self.probe}: {self.raised}: {self.message}"


def refusal_notes(measurements: Sequence[GroupMeasurement]) -> list[str]:
    """One line per refused size probe, however many group checks it was refused in."""
    seen: dict[str, list[tuple[str, Refusal]]] = {}
    for m in measurements:
        for r in m.refused:
            seen.setdefault(r.probe, []).append((m.name, r))
    out = []
    for probe, where in seen.items():
        (first_group, first), names = where[0], [n for n, _ in where]
        groups = (f"all {len(names)} group checks" if len(names) == len(measurements) > 1
                  else ", ".join(names))
        kinds = list(dict.fromkeys(r.raised for _, r in where))
        raised = kinds[0] if len(kinds) == 1 else f"{kinds[0]} (and {', '.join(kinds[1:])})"
        same = all(r.message == first.message for _, r in where)
        message = f": {first.message}" if same else f"; in {first_group}: {first.message}"
        out.append(f"size probe {probe} not counted: the model raised {raised} in {groups}"
                   f"{message}")
    return out


#: failures all below this relative error get the note on a model's design precision
SMALL_FAILURE = 1e-4


@dataclass
class GroupMeasurement:
    """All cases measured for one group, or for the product of all declared groups."""

    name: str
    factors: tuple[str, ...]
    #: the label each factor acts on (same order as ``factors``)
    labels: tuple[str, ...]
    cases: list[CaseResult]
    noise_floor: float
    seconds: float
    #: Haar-random cases among ``cases`` (what the rule-of-three statement counts)
    random_cases: int = 0
    #: what the probes found outside the model's domain (not counted toward the verdict)
    notes: list[str] = field(default_factory=list)
    #: the size probes the model raised on (not counted either)
    refused: list[Refusal] = field(default_factory=list)
    #: the structure test of the cases above the tolerance, when there were any
    roundoff: RoundoffTest | None = None
    #: the arrays of the worst case (for counterexample files); not part of the report
    worst_evaluation: Evaluation | None = field(default=None, repr=False, compare=False)
    #: every case measured (the search's too), batch by batch, without the fixed inputs the
    #: check never changes: what another function can be measured on (``check_problem(...,
    #: given=...)``)
    drawn: list[Drawn] = field(default_factory=list, repr=False, compare=False)
    #: whether each factor can reverse its axis (R, D): a complemented channel moves with it
    oriented: tuple[bool, ...] = ()
    #: a case failed with the cases stacked along the batch axis and passed alone
    mixes_batch: bool = False
    #: the outputs' labels, "output 1 (forces)" (see :func:`output_label`)
    outputs: tuple[str, ...] = ()

    @property
    def errors(self) -> Array:
        return np.array([c.error for c in self.cases], dtype=np.float64)

    def output_stat(self, k: int, q: float) -> float:
        """A percentile of output ``k``'s errors, each on its own scale."""
        e = np.array([c.output_error(k) for c in self.cases], dtype=np.float64)
        e = e[np.isfinite(e)]
        return float(np.percentile(e, q)) if e.size else float("nan")

    def pooled_stat(self, q: float) -> float:
        """A percentile of the pooled errors (all outputs together: a summary)."""
        e = np.array([c.pooled for c in self.cases], dtype=np.float64)
        e = e[np.isfinite(e)]
        return float(np.percentile(e, q)) if e.size else float("nan")

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

    def worst_against(self, tolerances: Sequence[float]) -> CaseResult:
        """The non-finite case if any, else the case whose worst output is furthest above its
        tolerance (the case with the largest error when the tolerances are all alike)."""
        bad = [c for c in self.cases if not c.finite]
        if bad or len(set(tolerances)) <= 1:
            return self.worst
        return max(self.cases, key=lambda c: c.output_error(c.where[0]) / tolerances[c.where[0]])

    def __repr__(self) -> str:
        return brief("GroupMeasurement", self.name, f"max error {self.stat(100):.2e}",
                     _count(len(self.cases), "case"))


def output_label(k: int, name: str | None) -> str:
    """``output 1 (forces)``, or ``output 0`` for an unnamed output."""
    return f"output {k} ({name})" if name else f"output {k}"


def problem_outputs(problem: Problem) -> tuple[str, ...]:
    """The labels of a problem's outputs (:func:`output_label`)."""
    return tuple(output_label(k, spec.name) for k, spec in enumerate(problem.outputs))


@dataclass
class GroupResult(Judged):
    """A :class:`GroupMeasurement` with its tolerance and verdict."""

    #: what was measured (its numbers are the JSON's computed keys)
    measurement: GroupMeasurement = field(metadata=SKIP)
    tolerance: float
    verdict: Verdict  # PASS | FAIL | NON_FINITE
    #: why a PASS above the tolerance is one (round-off), or None
    note: str | None = None
    #: the tolerance of each output (``tolerance`` is the largest; the JSON's "outputs" rows)
    tolerances: tuple[float, ...] = field(default=(), metadata=SKIP)

    def output_tolerance(self, k: int) -> float:
        return self.tolerances[k] if k < len(self.tolerances) else self.tolerance

    @property
    def worst(self) -> CaseResult:
        """The measurement's worst case against these tolerances."""
        m = self.measurement
        return m.worst_against([self.output_tolerance(k) for k in range(len(m.outputs))])

    def output_rows(self) -> list[dict[str, Any]]:
        """Per output: its errors' max, median and p99 on its own scale, and its tolerance."""
        m = self.measurement
        return [{"output": k, "label": label, "max": m.output_stat(k, 100),
                 "median": m.output_stat(k, 50), "p99": m.output_stat(k, 99),
                 "tolerance": self.output_tolerance(k),
                 "passed": not m.output_stat(k, 100) > self.output_tolerance(k)}
                for k, label in enumerate(m.outputs)]

    json_order = (
        Computed("group", "measurement.name"), Computed("factors", "measurement.factors"),
        "verdict", Computed("trials", lambda g: len(g.measurement.cases)),
        Computed("max", lambda g: g.measurement.stat(100)),
        Computed("median", lambda g: g.measurement.stat(50)),
        Computed("p99", lambda g: g.measurement.stat(99)), "tolerance",
        Computed("noise_floor", "measurement.noise_floor"),
        Computed("seconds", "measurement.seconds"), "note",
        Computed("notes", lambda g: [*g.measurement.notes,
                                     *(r.note() for r in g.measurement.refused)]),
        Computed("confidence", lambda g: {
            "random_cases": g.measurement.random_cases, "level": 0.95,
            "max_violating_fraction": g.violating_fraction}),
        Computed("roundoff", "measurement.roundoff"), Computed("worst"),
        Computed("cases", "measurement.cases"), Computed("outputs", lambda g: g.output_rows()),
        Computed("pooled", lambda g: {"max": g.measurement.pooled_stat(100),
                                      "median": g.measurement.pooled_stat(50),
                                      "p99": g.measurement.pooled_stat(99)}),
    )

    @property
    def name(self) -> str:
        """The group's display name: ``"O(d)"``, or ``"O(d) × S(n)"`` for the product."""
        return self.measurement.name

    def __repr__(self) -> str:
        m = self.measurement
        return brief("GroupResult", self.name, self.verdict.value,
                     f"max error {m.stat(100):.2e}", f"tolerance {self.tolerance:.1e}",
                     _count(len(m.cases), "case"))

    @property
    def violating_fraction(self) -> float | None:
        """Rule of three: the largest share of the group a PASS has not ruled out at 95 %."""
        n = self.measurement.random_cases
        return RULE_OF_THREE / n if n and self.passed else None


@dataclass
class EquivarianceResult(CheckedRun, Judged):
    """Everything one check measured and decided; :meth:`to_dict` is the JSON report."""

    groups: list[GroupResult]
    data_source: str = field(default="random", metadata=key("data"))
    warnings: list[str] = field(default_factory=list)
    calibration: Calibration | None = None
    probes: bool = True
    #: the input that hides padding, its polarity and the positions compared (None: no mask)
    mask: MaskUse | None = None

    json_order = ("model", Computed("verdict"), "seed", "trials", "dtype", "tolerance",
                  "calibration", "probes", "inputs", "outputs", "sizes", "data_source",
                  "warnings", Computed("notes"), "groups", "mask")

    def __repr__(self) -> str:
        worst = max((g.measurement.stat(100) for g in self.groups), key=_order,
                    default=float("nan"))
        return brief("EquivarianceResult", self.model, self.verdict.value,
                     f"max error {worst:.2e}", f"tolerance {self.tolerance:.1e}",
                     _count(len(self.groups), "group check"),
                     _count(sum(len(g.measurement.cases) for g in self.groups), "case"),
                     self.dtype, f"seed {self.seed}")

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(g.verdict for g in self.groups)

    @property
    def notes(self) -> list[str]:
        """Every group set's notes, each once; a size probe the model refused, once for all
        the group sets that tried it."""
        plain = dict.fromkeys(n for g in self.groups for n in g.measurement.notes)
        design = self._design_precision()
        return [*plain, *refusal_notes([g.measurement for g in self.groups]),
                *([design] if design else [])]

    def _design_precision(self) -> str | None:
        """Where every failure is small (at most :data:`SMALL_FAILURE`), how to judge a model
        that is equivariant only to that level by construction (a basis solved in float32, an
        approximation): the measured level, and the tolerance to set if that is its design."""
        failing = [g.measurement.worst.error for g in self.groups if not g.passed]
        if not failing or not all(np.isfinite(e) for e in failing) or (
                self.calibration is not None and self.calibration.source == "rtol"):
            return None
        level = max(failing)
        if level > SMALL_FAILURE:
            return None
        return Phrase(f"every failing group set is within {level:.1e} of equivariant: if the "
                      "model holds its symmetry only to about that level by design (a basis "
                      "solved in float32, an approximation), judge it at that level with ",
                      Use("rtol", float(f"{3 * level:.0e}")))

    def worst_failure(self) -> GroupResult | None:
        failing = [g for g in self.groups if not g.passed]
        return max(failing, key=lambda g: _order(g.measurement.worst.error)) if failing else None


def _order(error: float) -> float:
    return float("inf") if not np.isfinite(error) else error


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


@dataclass
class _Entry:
    """One measured case and where its arrays are (for the worst case, search, round-off)."""

    result: CaseResult
    problem: Problem
    evaluation: BatchEvaluation
    index: int
    #: whether its inputs are what its input probe made (see :attr:`Drawn.probed`)
    probed: bool = True

    def case(self) -> Evaluation:
        return self.evaluation.case(self.index)


def _family(case: CaseId) -> tuple[object, ...]:
    """The family of a case, for the round-off test: the Haar draws, the group probes, each
    input probe, each size probe."""
    if case.size is not None:
        return ("size", case.size)
    return (case.kind, case.probe) if case.kind == "input" else (case.kind,)


def size_problems(problem: Problem) -> tuple[list[tuple[Problem, str, int]], list[str]]:
    """The resized problems of the size probes, and notes for the sizes that cannot vary."""
    pinned = problem.pinned()
    out: list[tuple[Problem, str, int]] = []
    notes = []
    for label in permuted_labels(problem.groups):
        if label in pinned:
            notes.append(f"size probes: {label} = {problem.sizes[label]} is fixed by the data, "
                         "so other sizes of it are not tried")
            continue
        if problem.batch_label == label:
            continue
        for size in size_probes_for(problem.sizes[label]):
            out.append((problem.resized(label, size), label, size))
    return out, notes


def _evaluate(problem: Problem, cases: CaseBatch, batch: bool, resized: tuple[str, int] | None,
              notes: list[str], refused: list[Refusal]) -> list[tuple[BatchEvaluation, list[int]]]:
    """Evaluate a batch of probe cases; cases on which the model raises become notes (a size
    probe it raises on, a :class:`Refusal`)."""
    try:
        return [(evaluate_batch(problem, cases, batch), list(range(len(cases.labels))))]
    except ModelError as exc:
        if resized is not None:
            refused.append(Refusal.of(f"{resized[0]} = {resized[1]}", exc))
            return []
    out = []
    for t, label in enumerate(cases.labels):
        one = cases.take([t])
        try:
            out.append((evaluate_batch(problem, one, batch=False), [0]))
        except ModelError as exc:
            notes.append(f"{label}: the model raised on this input ({_short(exc)}); outside "
                         "its domain, not counted")
    return out


def _short(exc: Exception | str, most: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= most else text[:most - 3] + "..."


def _trials(options: Measure) -> int:
    """The Haar draws per group set (``trials=None``: the default)."""
    return DEFAULT_TRIALS if options.trials is None else options.trials


def measure_equivariance(problem: Problem, options: Measure | None = None,
                         calibration: Calibration | None = None,
                         given: Mapping[str, Sequence[Drawn]] | None = None
                         ) -> list[GroupMeasurement]:
    """Measure every group (and the product of all of them) on Haar draws, structured probes,
    input probes and size probes; search when asked; test the cases above the tolerance for
    round-off.

    ``calibration.tolerance`` (0 without one) sets which elements count as mismatched and
    which cases the round-off test sees; it plays no part in any error value.
    ``case="O(d)/haar:3"`` runs that one case only. ``given`` (group set name -> the cases
    another check drew, see :attr:`GroupMeasurement.drawn`): measure those group sets on
    exactly those cases instead,
    nothing drawn, probed or searched anew (``options.case`` and ``options.search`` do not
    apply); the cases are judged like drawn ones.
    """
    opts = options or Measure()
    cal = calibration or Calibration(0.0, "table")
    if given is not None:
        names = [str(GroupSet.of(s)) for s in problem.group_sets()]
        unknown = [name for name in given if name not in names]
        if unknown:
            raise SpecError(f"cases given for {unknown[0]!r}, which is not a group set of "
                            f"{problem.name!r} (its sets: {', '.join(names)})",
                            argument="given", value=unknown[0])
        return [_measure_set(problem, groups, given[str(GroupSet.of(groups))], opts, cal,
                             search=False)
                for groups in problem.group_sets() if str(GroupSet.of(groups)) in given]
    wanted = _wanted(opts.case, problem)
    if wanted is not None and wanted.search and opts.search == 0:
        raise SpecError(f"{opts.case!r} is the search's case; it replays only with the "
                        "search's steps", argument="case", value=opts.case,
                        hint=Suggest("search", DEFAULT_SEARCH))
    resized, pinned_notes = size_problems(problem) if opts.probes else ([], [])
    measurements = []
    for groups in problem.group_sets():
        if wanted is not None and GroupSet.of(groups) != wanted.groups:
            continue
        batches = [Drawn.of(problem, case_batches(problem, groups, opts.seed, _trials(opts)),
                            "main")]
        if opts.probes:
            probes = input_probe_batch(problem, groups, opts.seed)
            if probes is not None:
                batches.append(Drawn.of(problem, probes, "input"))
            for sub, size_label, size in resized:
                sub_groups = tuple(_same(sub.groups, g) for g in groups)
                batches.append(Drawn.of(
                    sub, size_probe_batch(sub, sub_groups, opts.seed, size_label, size),
                    f"size {size_label} = {size}", (size_label, size)))
        measurements.append(_measure_set(problem, groups, batches, opts, cal, pinned_notes,
                                         wanted))
    return measurements


def _measure_set(problem: Problem, groups: tuple[Group, ...], batches: Sequence[Drawn],
                 opts: Measure, cal: Calibration, pinned_notes: Sequence[str] = (),
                 wanted: _Wanted | None = None, search: bool = True) -> GroupMeasurement:
    """One group set measured on its batches of cases (drawn for it, or given by the caller:
    ``search=False``, the cases are measured as they are)."""
    label = GroupSet.of(groups)
    start = time.perf_counter()
    tols = cal.for_outputs(len(problem.outputs))
    notes = list(pinned_notes)
    refused: list[Refusal] = []
    drawn: list[Drawn] = []
    entries: list[_Entry] = []
    noise = 0.0
    typical = float("nan")  # the median ‖f(x)‖ of the Haar draws, for vanishing probes
    for batch in batches:
        prob, kind = batch.problem(problem), batch.kind
        cases = batch.batch(prob)
        if wanted is not None and not wanted.search:
            keep = [t for t, n in enumerate(cases.labels)
                    if n == wanted.case or (kind == "main" and n.kind == "identity")]
            if not keep or (kind == "main" and len(keep) == len(
                    [n for n in cases.labels if n.kind == "identity"])):
                continue
            cases = cases.take(keep)
        drawn.append(replace(Drawn.of(prob, cases, kind, batch.resized), probed=batch.probed))
        evaluated = ([(evaluate_batch(prob, cases, opts.batch),
                       list(range(len(cases.labels))))] if kind == "main"
                     else _evaluate(prob, cases, opts.batch, batch.resized, notes, refused))
        for ev, indices in evaluated:
            compared = compare_batch(ev, tols)
            cancels = {} if kind == "main" else _cancellations(prob, ev, compared, tols,
                                                               opts.seed)
            if cancels:
                notes.append(_Cancelled.note(list(cancels.values()), label))
            for t, r in zip(indices, compared, strict=True):
                if r.case_id.kind == "identity":
                    noise = max(noise, r.error) if r.finite else float("nan")
                    continue
                uncounted = None if kind == "main" else _uncounted(r, typical, prob.dtype)
                if uncounted:
                    notes.append(uncounted)
                elif t not in cancels:  # the input's own round-off: noted above
                    entries.append(_Entry(r, prob, ev, t, batch.probed))
        if kind == "main":
            haar = [e.result.norms[0] for e in entries if e.result.case_id.kind == "haar"
                    and np.isfinite(e.result.norms[0])]
            typical = float(np.median(haar)) if haar else float("nan")
    if wanted is not None and not wanted.search and not entries:
        raise SpecError(f"{opts.case!r}: no case {wanted.text!r} in {label}",
                        argument="case", value=opts.case)
    results = [e.result for e in entries]  # in the order the cases were made
    entries.sort(key=lambda e: _order(_excess(e.result, tols)), reverse=True)
    worst = entries[0] if entries else None
    worst_ev = worst.case() if worst is not None else None
    if search and opts.search > 0 and (wanted is None or wanted.search) and any(
            e.result.case_id.size is None for e in entries):
        found, found_ev = _search(entries, groups, opts, label, tols)
        results = [found] if wanted is not None else [*results, found]
        drawn.append(Drawn.of(problem, _single(found_ev).cases, "search"))
        if worst is None or _order(_excess(found, tols)) >= _order(_excess(worst.result, tols)):
            worst_ev = found_ev
            entries.insert(0, _Entry(found, problem, _single(found_ev), 0))
    roundoff = _roundoff(entries, opts, label, cal, problem.dtype) if cal.tolerance > 0 else None
    mixing = _batch_mixing(entries, opts, problem, tols)
    if mixing:
        notes.append(mixing)
    m = GroupMeasurement(str(label), label.names, tuple(g.label for g in groups),
                         results, noise, time.perf_counter() - start,
                         oriented=tuple(bool(getattr(g, "oriented", False)) for g in groups),
                         mixes_batch=mixing is not None,
                         # the draws at the declared sizes: a size probe's draws are of
                         # another group (S(1) is the identity alone) and bound nothing here
                         random_cases=sum(r.case_id.kind == "haar" and r.case_id.size is None
                                          for r in results),
                         notes=list(dict.fromkeys(notes)), refused=refused, roundoff=roundoff,
                         outputs=problem_outputs(problem))
    m.worst_evaluation = worst_ev
    m.drawn = drawn
    return m


def _above(r: CaseResult, tolerances: Sequence[float]) -> bool:
    """Whether any output of ``r`` is above its tolerance."""
    return any(r.output_error(k) > t for k, t in enumerate(tolerances))


def _excess(r: CaseResult, tolerances: Sequence[float]) -> float:
    """How far the worst output of ``r`` is above its tolerance, as a ratio (its error when
    the tolerances are all alike: the order is the same)."""
    if len(set(tolerances)) <= 1 or not min(tolerances) > 0:
        return r.error
    return max(r.output_error(k) / t for k, t in enumerate(tolerances))


def _same(groups: tuple[Group, ...], like: Group) -> Group:
    return next(g for g in groups if g.name == like.name)


def _vanishes(r: CaseResult, typical: float, dtype: str) -> bool:
    """Both outputs of a structural probe (one-hot, repeated, zero, rank-one tokens) or a size
    probe at round-off of the typical output (within a thousand round-off units of the dtype,
    and at most :data:`VANISHING_SHARE` of it): an output that is zero in exact arithmetic there
    (a cross product of collinear points) has a relative error of round-off over round-off.
    Scale probes are exempt: their outputs are small because their inputs are."""
    if not (r.finite and np.isfinite(typical) and typical > 0):
        return False
    case = r.case_id
    if case.kind == "input":
        probe = INPUT_PROBES.get(case.probe or "")
        if probe is None or not probe.structural:
            return False
    elif case.size is None:
        return False
    # In float16 and bfloat16 a thousand round-off units are half or 8x the typical output:
    # vanishing_share caps them (without the cap every probe would "vanish" and a violation
    # it finds would pass); what lies between is judged, the round-off test telling round-off
    # from a violation.
    return max(r.norms) <= vanishing_share(dtype) * typical


def _uncounted(r: CaseResult, typical: float, dtype: str) -> str | None:
    """Why a probe case is not counted, or None: outside the model's domain, or an output that
    vanishes (an error the input's own round-off explains is :func:`_cancellations`')."""
    if not r.finite and _outside_domain(r):
        return f"{r.case}: {_why_not_counted(r)}; outside the model's domain, not counted"
    if _vanishes(r, typical, dtype):
        return (f"{r.case}: the output vanishes on this input (‖f(x)‖ = {r.norms[0]:.1e}, "
                f"‖f(g·x)‖ = {r.norms[1]:.1e}, against {typical:.1e} on Gaussian draws), so "
                "its relative error compares round-off with round-off; not counted")
    return None


@dataclass(frozen=True)
class _Cancelled:
    """A near-duplicate case whose error the rounding of its input explains: the output
    moves by ``moved`` (relative) when the input moves by ``resolution`` (relative)."""

    case: CaseId
    error: float
    moved: float
    resolution: float

    @staticmethod
    def note(cases: Sequence[_Cancelled], group_set: GroupSet) -> str:
        shown = ", ".join(str(c.case) for c in cases[:3]) + (", …" if len(cases) > 3 else "")
        ratio = min(c.moved / c.error for c in cases)
        return (f"{group_set}: {_count(len(cases), 'near-duplicate case')} not counted "
                f"({shown}): moving the input by its own round-off ({cases[0].resolution:.1e} "
                f"relative) moves the output by {ratio:.2g}× the error or more (up to "
                f"{max(c.moved for c in cases):.1e}); near-equal tokens cancel in their "
                "difference, and the rounding of g·x alone accounts for the error")


def _cancellations(problem: Problem, ev: BatchEvaluation, compared: Sequence[CaseResult],
                   tols: Sequence[float], seed: int) -> dict[int, _Cancelled]:
    """The near-duplicate probe cases above the tolerance whose error the rounding of their
    input explains (:func:`~symcheck.engine.precision.rounding_responses` at least
    1/SENSITIVITY_MULTIPLE of it), by their index in the batch; one model call for all."""
    picked = [t for t, r in enumerate(compared)
              if r.case_id.kind == "input" and r.finite and _above(r, tols)
              and getattr(INPUT_PROBES.get(r.case_id.probe or ""), "distance", None)]
    if not picked:
        return {}
    rng = case_rng(seed, compared[0].case_id.groups, "roundoff", 1000)
    sizes, res = rounding_responses(problem, [ev.case(t) for t in picked], rng)
    return {t: _Cancelled(compared[t].case_id, compared[t].error, size, res)
            for t, size in zip(picked, sizes, strict=True)
            if np.isfinite(size) and SENSITIVITY_MULTIPLE * size >= compared[t].error}


def _outside_domain(r: CaseResult) -> bool:
    """A probe where both sides are non-finite, or a scale probe with one side non-finite
    (overflow or underflow at ×1e±6 is the model's range, not its symmetry)."""
    if not any(r.sides):
        return True
    probe = INPUT_PROBES.get(r.case_id.probe or "") if r.case_id.kind == "input" else None
    return probe is not None and not probe.structural


def _why_not_counted(r: CaseResult) -> str:
    if not any(r.sides):
        return "both f(g·x) and g·f(x) are non-finite"
    side = "f(g·x)" if not r.sides[0] else "g·f(x)"
    return f"{side} is non-finite at this scale"


def _single(ev: Evaluation) -> BatchEvaluation:
    return BatchEvaluation.one(search_case(ev.elements), ev)


def _search(entries: list[_Entry], groups: tuple[Group, ...], opts: Measure,
            label: GroupSet, tolerance: Sequence[float]) -> tuple[CaseResult, Evaluation]:
    """The worst-case search, restarted from the worst cases and the worst input probe."""
    declared = [e for e in entries if e.result.case_id.size is None]
    starts = declared[:SEARCH_STARTS]
    probe = next((e for e in declared if e.result.case_id.kind == "input"), None)
    if probe is not None and probe not in starts:
        starts.append(probe)
    rng = case_rng(opts.seed, label, "search", 0)
    budget = max(1, opts.search // len(starts))
    from symcheck.engine.search import search_worst  # only a check that searches needs it

    return max((search_worst(e.problem, e.case(), rng, budget, tolerance) for e in starts),
               key=lambda pair: _order(pair[0].error))


def _batch_mixing(entries: list[_Entry], opts: Measure, problem: Problem,
                  tolerance: Sequence[float]) -> Phrase | None:
    """A failure that disappears when its case runs alone: the model mixes the entries of the
    batch axis, so stacking cases along it was wrong."""
    if not (opts.batch and problem.batch_label and entries and min(tolerance) > 0):
        return None
    worst = entries[0]
    if not (worst.result.finite and _above(worst.result, tolerance)) or \
            worst.problem is not problem:
        return None
    cases = CaseBatch([worst.result.case_id], [np.asarray(a)[None] for a in worst.case().x],
                      list(worst.case().elements))
    try:
        (alone,) = compare_batch(evaluate_batch(problem, cases, batch=False), tolerance)
    except ModelError:
        return None
    if alone.finite and not _above(alone, tolerance):
        return Phrase(f"{worst.result.case} fails with the cases stacked along "
                f"{problem.batch_label!r} (error {worst.result.error:.2e}) but passes alone "
                f"({alone.error:.2e}): the model mixes the entries of {problem.batch_label!r}; "
                "rerun with ", Use("batch", False))
    return None


def _roundoff(entries: list[_Entry], opts: Measure, label: GroupSet, cal: Calibration,
              dtype: str) -> RoundoffTest | None:
    """The structure test of the worst case of each kind above the tolerance."""
    tols = cal.for_outputs(len(entries[0].problem.outputs)) if entries else ()
    above = [e for e in entries if e.result.finite and _above(e.result, tols)]
    bound = roundoff_bound(cal, dtype)
    if not above or any(e.result.error > bound for e in above):
        return None  # nothing to explain, or an error round-off cannot reach: a failure
    picked: dict[tuple[object, ...], _Entry] = {}
    for e in above:  # sorted worst first: the first of each kind is its worst
        picked.setdefault(_family(e.result.case_id), e)
    cases = [(e.result.case_id, e.problem, e.case()) for e in picked.values()]
    test = test_roundoff(cases, opts.seed, label, bound, dtype,
                         probed=[e.probed for e in picked.values()])
    errors = {e.result.case_id: e.result.error for e in picked.values()}
    elsewhere = [e.result.error for e in entries if e.result.finite and not _scaled(e)]
    lower = narrower_outputs(entries[0].problem)
    grain = None
    if test.roundoff and lower is None and dtype == "float64":
        first = next(e for e in picked.values() if e.result.case_id == test.tested[0])
        grain = float32_grain(first.result.case_id, first.problem, first.case(), opts.seed,
                              label)
    return replace(test, cause=roundoff_cause(
        dtype, [(c, errors[c]) for c in test.tested], max(elsewhere, default=0.0), lower,
        grain))


def _scaled(e: _Entry) -> bool:
    """Whether the case is a scale probe (its inputs ×1e-6 or ×1e6)."""
    case = e.result.case_id
    probe = INPUT_PROBES.get(case.probe or "") if case.kind == "input" else None
    return probe is not None and not probe.structural


@dataclass(frozen=True)
class _Wanted:
    """The one case the ``case`` option (``GROUP/CASE``) asks for: a group set of the problem,
    and the case (None when CASE is no case label at all: it matches no case)."""

    groups: GroupSet
    case: CaseId | None
    text: str  # CASE as given

    @property
    def search(self) -> bool:
        return self.case is not None and self.case.kind == "search"


def _wanted(text: str | None, problem: Problem) -> _Wanted | None:
    """The case ``text`` names (read by :meth:`CaseId.parse`), its group set checked against
    the problem's."""
    if text is None:
        return None
    sets = [GroupSet.of(s) for s in problem.group_sets()]
    case: CaseId | None = None
    groups: GroupSet | None = None
    label = ""
    try:
        case = CaseId.parse(text)
        groups, label = case.groups, str(case)
    except UnknownCase as exc:
        groups, label = exc.groups, exc.case
    except SpecError:
        pass
    if groups is None or groups not in sets:
        names = [str(s) for s in sets]
        raise SpecError(f"{text!r} is not GROUP/CASE with GROUP one of {names}",
                        argument="case", value=text, expected=f"e.g. '{names[0]}/haar:0'")
    return _Wanted(groups, case, label)


def judge(measurements: Sequence[GroupMeasurement], tolerance: Tolerance) -> list[GroupResult]:
    """Verdict per group: non-finite outputs are their own failure; every output within its
    tolerance (``tolerance``: one, or one per output) passes; above it, only an error the
    round-off test explains passes."""
    results = []
    for m in measurements:
        tols = per_output(tolerance, max(len(m.outputs), 1))
        note = None
        worst = m.stat(100)
        over = any(m.output_stat(k, 100) > t for k, t in enumerate(tols))
        if not m.finite:
            verdict = Verdict.NON_FINITE
        elif not over:
            verdict = Verdict.PASS
        elif m.roundoff is not None and m.roundoff.roundoff and worst <= m.roundoff.bound:
            verdict = Verdict.PASS
            note = (f"equivariant to the model's own precision ({m.roundoff.cause}): max error "
                    f"{worst:.2e} is above the tolerance {max(tols):.1e}, but its residual "
                    f"is re-drawn by a {m.roundoff.perturbation:.0e} relative input "
                    f"perturbation (it stays put in at most {max(m.roundoff.stabilities):.0%} of "
                    f"the perturbations, where a structured residual stays in all) in "
                    + (f"each of the {len(m.roundoff.tested)} case kinds above the tolerance"
                       if len(m.roundoff.tested) > 1 else "the case kind above the tolerance"))
        else:
            verdict = Verdict.FAIL
        results.append(GroupResult(m, max(tols), verdict, note, tols))
    return results


def _unbatched(problem: Problem, options: Measure, cal: Calibration,
               given: Mapping[str, Sequence[Drawn]] | None) -> list[GroupMeasurement]:
    """The check again, one model call per case, where the stacked run says nothing about the
    model's symmetry: a case failed with the cases stacked along the batch axis and passed
    alone, or the stacked identity cases differ while the model is reproducible alone (both:
    the model mixes the entries of that axis)."""
    measurements = measure_equivariance(problem, replace(options, batch=False), cal, given)
    if measurements:
        measurements[0].notes.insert(0, Phrase(
            f"the model mixes the entries of {problem.batch_label!r} (cases stacked along it "
            "differ from the same cases run alone): every case was re-run one model call at a "
            "time, and the verdict is that run's (", Use("batch", False), ")"))
    return measurements


def _refuse_nondeterminism(problem: Problem, seed: int, tols: Sequence[float]) -> None:
    """A model whose ``f(x)`` is not reproducible at the check's tolerance cannot be judged:
    measured directly, each input run alone twice (two model calls on the same input, so a
    model that mixes the batch is not taken for one that is random). Differences at round-off
    (non-deterministic reductions) stay below the tolerance and are judged as usual."""
    rng = case_rng(seed, GroupSet.of(problem.groups), "identity", REPRODUCE_INDEX)
    cases = CaseBatch([CaseId(GroupSet.of(problem.groups), "identity", REPRODUCE_INDEX + t)
                       for t in range(REPRODUCE_DRAWS)],
                      draw_inputs_many(problem, rng, REPRODUCE_DRAWS),
                      [(g, g.identity(REPRODUCE_DRAWS)) for g in problem.groups])
    try:
        again = compare_batch(evaluate_batch(problem, cases, batch=False), tols)
    except ModelError:
        return  # the cases will say what the model does not accept
    noise = max((r.error for r in again if r.finite), default=0.0)
    if noise > max(tols):
        raise ModelError(
            f"the model is not deterministic: f(x) computed twice on the same input differs by "
            f"{noise:.1e} (relative), above the tolerance {max(tols):.1e}, so no symmetry can "
            "be judged beneath that; usual causes: dropout or another training-mode layer "
            "(call model.eval(), or pass training=False), randomness without a fixed seed, "
            "state that changes between calls")


#: inputs run alone twice to tell a random model from one that mixes the batch, and the case
#: index their draws start at (past any identity case a check makes)
REPRODUCE_DRAWS = 2
REPRODUCE_INDEX = 10_000


def check_problem(problem: Problem, options: Measure, data_source: str = "random",
                  given: Mapping[str, Sequence[Drawn]] | None = None) -> EquivarianceResult:
    """Calibrate the tolerance, measure every group set, judge, and collect the warnings a
    reader needs (a noise floor near the tolerance, a model that ran wider than asked).

    ``given``: measure only the group sets named, on the cases given (another check's
    :attr:`GroupMeasurement.drawn`, with inputs of this problem), as
    :func:`measure_equivariance` does; calibrated and judged as any check is.
    """
    cal = calibrate(problem, options.seed, options.rtol)
    measurements = measure_equivariance(problem, options, cal, given)
    raised = at_outputs(problem, cal)
    if raised is not None:  # it returned less than the check's precision: judged at that
        cal = raised
        measurements = measure_equivariance(problem, options, cal, given)
    tols = cal.for_outputs(len(problem.outputs))
    noisy = any(np.isfinite(m.noise_floor) and m.noise_floor > max(tols) for m in measurements)
    if noisy:  # the identity cases differ: the model is not reproducible, or mixes the batch
        _refuse_nondeterminism(problem, options.seed, tols)
    if options.batch and problem.batch_label is not None and (
            noisy or any(m.mixes_batch for m in measurements)):
        measurements = _unbatched(problem, options, cal, given)
    tolerance = cal.tolerance
    groups = judge(measurements, tols)
    warnings = [
        f"{g.measurement.name}: noise floor {g.measurement.noise_floor:.2e} is above a tenth of "
        f"the tolerance {tolerance:.1e}: the model is not reproducible enough for this tolerance"
        for g in groups
        if np.isfinite(g.measurement.noise_floor) and g.measurement.noise_floor > tolerance / 10
    ]
    wider = sorted(
        d for d in problem.observed.output_dtypes
        if problem.dtype in _NUMPY_FLOATS
        and np.dtype(d).itemsize > np.dtype(problem.dtype).itemsize
    )
    if wider:
        warnings.append(
            f"dtype {problem.dtype}: the model returned {', '.join(wider)}, so part of it ran "
            f"in higher precision than asked (e.g. a float64 constant promotes the arithmetic)"
        )
    return EquivarianceResult(
        model=problem.name, inputs=problem.inputs, outputs=problem.outputs,
        sizes=dict(problem.sizes),
        dtype=problem.dtype, seed=options.seed, trials=_trials(options), tolerance=tolerance,
        groups=groups, data_source=data_source, warnings=warnings, calibration=cal,
        probes=options.probes, mask=problem.mask_use,
    )
