"""Calibrated precision: the model's own rounding level, and round-off told from a violation.

**Calibration.** A check in a lower precision than float64 measures the model's rounding level
``ρ``: the same model run in float64 on the same inputs, ``‖f_dtype(x) − f_64(x)‖ / ‖f_64(x)‖``
(the median over a few draws). The tolerance is ``max(MULTIPLE·ρ, floor)``, the floor a few
units of the dtype's resolution; ``rtol`` overrides both. A fixed float32 tolerance of 1e-4
would pass a 4e-5 violation in a layer whose float32 round-off is 1e-7; this one does not.

**Round-off or violation?** Decided by structure, not size. The residual
``r(x) = f(g·x) − g·f(x)`` of a genuine violation is a smooth function of ``x``; round-off is
not. Each case above the tolerance is re-run with its inputs perturbed by a small relative
amount (above the resolution of the precision that could be rounding) and the same ``g``. The
*stability* of the residual is the share of perturbations under which it stays within half of
itself, ``‖r_j − r_0‖ ≤ ‖r_0‖ / 2``: ≈ 1 for a structured residual (a smooth function barely
moves under a 1e-5 change of its input), ≈ 0 for round-off (every rounding decision is
re-drawn). Only a residual that is unstable *and* sits within a few orders of the rounding
level is round-off ("equivariant to the model's own precision"); a stable residual fails
however small it is. The test compares whole residuals, not a correlation, because round-off
can be carried by a handful of rows (a softmax normaliser summed in another order) whose
directions are smooth while their sizes are random.

>>> import numpy as np
>>> r = np.random.default_rng(0).standard_normal((12, 100))
>>> stability(r[0], list(r[1:])), stability(r[0], [r[0] * (1 + 1e-6)] * 11)
(0.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from symcheck.core.caseid import CaseId, GroupSet
from symcheck.core.errors import ModelError
from symcheck.core.tolerances import DEFAULT_RTOL, RESOLUTION
from symcheck.core.verdicts import Computed, Serialised
from symcheck.engine.cases import (
    INPUT_PROBES,
    CaseBatch,
    case_rng,
    draw_inputs_many,
    keep_close_pairs,
)
from symcheck.engine.evaluate import Evaluation, evaluate_batch, input_norms, output_scales
from symcheck.engine.problem import Observed, OwnPrecision, Problem

Array = np.ndarray

#: the tolerance of a calibrated check, in units of the measured rounding level ρ
MULTIPLE = 3.0
#: draws the rounding level is measured on
CALIBRATION_DRAWS = 6
#: a residual is structured when it stays within half of itself under at least this share of
#: the perturbations
STABLE_ABOVE = 0.9
#: perturbations per tested case
REPEATS = 12
#: round-off never exceeds this many rounding levels (a decorrelating error above it is not
#: round-off: a discontinuity, a chaotic model)
ROUNDOFF_ORDERS = 1e3
#: a float64 check accepts float32 round-off inside the model up to this relative error
FLOAT32_INTERNALS = 256 * RESOLUTION["float32"]
#: at most this many cases are put through the round-off test (the worst of each kind)
MAX_TESTED = 12
#: tokens closer than this many perturbations keep their offset when perturbed
CLOSE_PAIRS = 100.0


@dataclass(frozen=True)
class Calibration(Serialised):
    """How the tolerance was set: measured ρ and its multiple, the dtype floor, or ``rtol``;
    ``judged_at`` and ``cause``: the model's own precision where it is below the check's
    (its parameters or its outputs); ``note``: why a measurement could not run."""

    tolerance: float
    source: str  # "calibrated" | "table" | "rtol"
    rho: float | None = None
    multiple: float = MULTIPLE
    floor: float = 0.0
    draws: int = 0
    judged_at: str | None = None
    cause: str | None = None
    #: how ρ was measured: "twin" (against float64) or "parameters" (perturbed)
    measured: str = "twin"
    note: str | None = None

    @property
    def shown(self) -> bool:
        """Whether the report prints :meth:`describe` (anything beyond the dtype table)."""
        return self.source == "calibrated" or self.note is not None or self.cause is not None
    #: per output, its rounding level on its own scale (calibrated checks with several
    #: outputs; ``rho`` is the pooled one)
    rhos: tuple[float, ...] = ()

    json_order = ("tolerance", "source", "rho", "multiple", "floor", "draws", "judged_at",
                  "cause", "measured", "note", "rhos", Computed("tolerances"))

    @property
    def tolerances(self) -> tuple[float, ...]:
        """Per output, ``max(multiple·ρ_k, floor)`` (empty: ``tolerance`` for every output)."""
        return tuple(max(self.multiple * r, self.floor) for r in self.rhos)

    def for_outputs(self, count: int) -> tuple[float, ...]:
        """The tolerance of each of ``count`` outputs."""
        own = self.tolerances
        return own if len(own) == count else (self.tolerance,) * count

    @property
    def level(self) -> float | None:
        """The largest rounding level measured (of any output, or pooled)."""
        return max(self.rhos) if self.rhos else self.rho

    def describe(self) -> str:
        if self.source == "rtol":
            return f"tolerance {self.tolerance:.1e} (set by the caller)"
        head = "" if self.cause is None else f"{self.cause}: judged at {self.judged_at}, "
        note = "" if self.note is None else f"{self.note}; "
        if self.source == "table" or self.rho is None:
            where = "dtype table" if self.judged_at is None else f"the {self.judged_at} floor"
            return f"{note}{head}tolerance {self.tolerance:.1e} ({where})"
        if self.measured == "twin":
            text = (f"{note}tolerance {self.tolerance:.1e} = max({self.multiple:g} × ρ, floor "
                    f"{self.floor:.1e}), model rounding level ρ = {self.level:.2e} (vs float64, "
                    f"median of {self.draws} draws)")
        else:
            text = (f"{note}{head}ρ = {self.level:.2e} (the equivariance residual moved by "
                    f"re-rounding those parameters at their resolution, median of {self.draws} "
                    f"draws); tolerance {self.tolerance:.1e} = max({self.multiple:g} × ρ, floor "
                    f"{self.floor:.1e})")
        if len(self.rhos) > 1:
            each = ", ".join(f"output {k}: ρ = {r:.2e}, tolerance {t:.1e}"
                             for k, (r, t) in enumerate(zip(self.rhos, self.tolerances,
                                                            strict=True)))
            text += f"; each output on its own scale ({each})"
        return text


def calibrate(problem: Problem, seed: int, rtol: float | None) -> Calibration:
    """The tolerance of a check: ``rtol`` if given; else the table's floor of the check's
    dtype, raised to what the model's own precision can produce: ρ against the float64 twin
    below float64, ρ of its parameters perturbed at their resolution where they are in a
    lower precision than the check, and the floor of its outputs' dtype where it returns
    less than the check's. A twin that cannot run is a note, never the end of the check."""
    if rtol is not None:
        return Calibration(float(rtol), "rtol")
    floor = DEFAULT_RTOL[problem.dtype]
    own = problem.precision
    lower = own is not None and RESOLUTION.get(own.dtype, 0) > RESOLUTION[problem.dtype]
    if problem.dtype == "float64" and not lower:
        return Calibration(floor, "table", floor=floor)  # nothing to run the model for
    cases = _calibration_cases(problem, seed)
    try:
        low = evaluate_batch(problem, cases, batch=True)
    except ModelError:
        if problem.dtype != "float64":
            raise  # the model cannot run at all: the check's own error, as before
        return Calibration(floor, "table", floor=floor)  # the measurement will say why
    found = [Calibration(floor, "table", floor=floor)]
    note = None
    if problem.dtype != "float64" and problem.reference is not None:
        try:
            found.append(_twin_level(problem, cases, low, floor))
        except ModelError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            note = (f"the float64 twin could not run ({type(cause).__name__}: "
                    f"{_short(cause)}), so ρ is not measured")
    if own is not None and lower:
        found.append(_parameter_level(problem, own, cases, seed, floor))
    raised = at_outputs(problem, found[-1])
    if raised is not None:
        found.append(raised)
    best = found[0]
    for level in found[1:]:  # the largest tolerance; on a tie, the measured one says more
        if level.tolerance >= best.tolerance:
            best = level
    return best if note is None else replace(best, note=note)


def at_outputs(problem: Problem, calibration: Calibration) -> Calibration | None:
    """The calibration raised to the floor of the outputs' dtype, where the model returned
    a lower precision than the check's (seen in :attr:`Problem.observed`) and that floor is
    above ``calibration``'s tolerance; else None. A tolerance the caller set is kept."""
    outputs = _lowest(problem.observed.output_dtypes)
    if calibration.source == "rtol" or outputs is None or \
            not RESOLUTION[outputs] > RESOLUTION[problem.dtype]:
        return None
    floor = DEFAULT_RTOL[problem.dtype]
    tolerance = max(floor, DEFAULT_RTOL[outputs])
    if tolerance <= calibration.tolerance:
        return None
    return Calibration(tolerance, "table", floor=floor, judged_at=outputs,
                       cause=f"its outputs are {outputs}", note=calibration.note)


def _calibration_cases(problem: Problem, seed: int) -> CaseBatch:
    rng = case_rng(seed, "calibration", "calibrate", 0)
    x = draw_inputs_many(problem, rng, CALIBRATION_DRAWS)
    group_set = GroupSet.of(problem.groups)
    return CaseBatch([CaseId(group_set, "calibrate", t) for t in range(CALIBRATION_DRAWS)], x,
                     [(g, g.identity(CALIBRATION_DRAWS)) for g in problem.groups])


def _twin_level(problem: Problem, cases: CaseBatch, low: Any, floor: float) -> Calibration:
    """ρ of the model at the check's dtype against its float64 twin."""
    assert problem.reference is not None
    # its own record of output dtypes: the float64 twin must not look like a silent upcast
    high = evaluate_batch(replace(problem, fn=problem.reference, observed=Observed()), cases,
                          batch=True)
    levels, own = _levels(low.fx, high.fx, problem.dtype, input_norms(cases.x))
    if not levels:
        return Calibration(floor, "table", floor=floor)
    rho = float(np.median(levels))
    rhos = tuple(float(r) for r in np.median(own, axis=0)) if len(low.fx) > 1 else ()
    tolerance = max([MULTIPLE * r for r in (rhos or (rho,))] + [floor])
    return Calibration(tolerance, "calibrated", rho, MULTIPLE, floor, len(levels), rhos=rhos)


def _levels(low: Sequence[Array], high: Sequence[Array], dtype: str, inputs: Array
            ) -> tuple[list[float], Array]:
    """Per finite draw: the pooled rounding level ``‖f_dtype − f_64‖ / ‖f_64‖``, and each
    output's on the scale it is judged on (:func:`output_scales`, with the draw's input norm
    ``inputs[t]`` as the comparison does)."""
    pooled: list[float] = []
    own: list[Array] = []
    for t in range(CALIBRATION_DRAWS):
        a = [np.asarray(o[t], dtype=np.float64).ravel() for o in low]
        b = [np.asarray(o[t], dtype=np.float64).ravel() for o in high]
        whole = np.concatenate(b)
        if not (all(np.all(np.isfinite(x)) for x in a + b) and np.any(whole)):
            continue
        num = np.array([np.linalg.norm(x - y) for x, y in zip(a, b, strict=True)])
        norms = np.array([np.linalg.norm(y) for y in b])
        pooled.append(float(np.linalg.norm(num) / np.linalg.norm(whole)))
        scale = output_scales(norms[None], norms[None], dtype, inputs[t:t + 1])[0]
        own.append(np.where(scale > 0, num / np.where(scale > 0, scale, 1.0), num))
    return pooled, np.array(own)


def _parameter_level(problem: Problem, own: OwnPrecision, cases: CaseBatch,
                     seed: int, floor: float) -> Calibration:
    """ρ of a model whose parameters are in a lower precision than the check: how far the
    equivariance residual ``f(g·x) − g·f(x)`` moves (relative to ``‖f(x)‖``) when each of
    those parameters is moved at random within its resolution (a re-rounding), one perturbed
    copy per draw, on the calibration inputs with a group element each. What the rounding of
    the parameters can explain is the part of the residual that moves with them: a constant
    rounded to float32 that the symmetry does not depend on (a temperature) explains nothing,
    rounded coupling constants (e3nn built in float32) explain their own residual. Without a
    way to perturb them, the floor of their dtype."""
    table = Calibration(max(floor, DEFAULT_RTOL[own.dtype]), "table", floor=floor,
                        judged_at=own.dtype, cause=own.cause)
    if own.perturbed is None:
        return table
    rng = case_rng(seed, "calibration", "calibrate", 1)  # the draws use index 0
    turned = CaseBatch(cases.labels, cases.x,
                       [(g, g.sample(rng, len(cases.labels))) for g in problem.groups])
    before = evaluate_batch(problem, turned, batch=True)
    levels = []
    for t in range(len(cases.labels)):
        moved = replace(problem, fn=own.perturbed(rng), observed=Observed())
        after = evaluate_batch(moved, turned.take([t]), batch=True)
        level = _residual_move(before, t, after)
        if level is not None:
            levels.append(level)
    if not levels:
        return table
    rho = float(np.median(levels))
    if MULTIPLE * rho <= floor:  # the rounding explains nothing the floor does not
        return Calibration(floor, "table", floor=floor, note=(
            f"{own.cause}, but re-rounding them at their resolution moves the equivariance "
            f"residual by ρ = {rho:.1e} only (median of {len(levels)} draws): judged at the "
            f"{problem.dtype} floor"))
    return replace(table, tolerance=max(MULTIPLE * rho, floor), source="calibrated", rho=rho,
                   draws=len(levels), measured="parameters")


def _residual_move(before: Any, t: int, after: Any) -> float | None:
    """``‖r_after − r_before‖ / ‖f(x)‖`` of case ``t`` (``after`` holds that case alone), with
    ``r = f(g·x) − g·f(x)`` over all outputs; None where anything is not finite."""
    def residual(ev: Any, i: int) -> Array:
        return np.concatenate([np.ravel(np.asarray(a[i], dtype=np.float64) -
                                        np.asarray(b[i], dtype=np.float64))
                               for a, b in zip(ev.fgx, ev.gfx, strict=True)])

    r0, r1 = residual(before, t), residual(after, 0)
    fx = np.concatenate([np.ravel(np.asarray(o[t], dtype=np.float64)) for o in before.fx])
    scale = float(np.linalg.norm(fx))
    if not (np.all(np.isfinite(r0)) and np.all(np.isfinite(r1)) and scale > 0):
        return None
    return float(np.linalg.norm(r1 - r0) / scale)


def _lowest(dtypes: set[str]) -> str | None:
    """The float dtype of least precision among ``dtypes`` (numpy names), if any."""
    known = [d for d in dtypes if d in RESOLUTION]
    return max(known, key=lambda d: RESOLUTION[d]) if known else None


def _short(exc: BaseException, most: int = 120) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= most else text[:most - 3] + "..."


def stability(r0: Array, moved: Sequence[Array]) -> float:
    """The share of perturbed residuals within half of the unperturbed one."""
    norm = float(np.linalg.norm(r0))
    if not moved or norm == 0:
        return float("nan")
    return float(np.mean([float(np.linalg.norm(r - r0)) <= 0.5 * norm for r in moved]))


@dataclass(frozen=True)
class RoundoffTest(Serialised):
    """The structure test of the cases above the tolerance of one group set."""

    tested: tuple[CaseId, ...]
    stabilities: tuple[float, ...]
    perturbation: float
    bound: float  # the largest error round-off can explain
    structured: CaseId | None  # the first tested case whose residual kept its structure
    cause: str  # what the round-off comes from, for the report

    json_order = ("tested", "stabilities", "perturbation", "bound", "structured",
                  Computed("roundoff"), "cause", Computed("stable_above", lambda _: STABLE_ABOVE),
                  Computed("repeats", lambda _: REPEATS))

    @property
    def roundoff(self) -> bool:
        return self.structured is None and bool(self.tested)


def perturbation_for(dtype: str) -> float:
    """Relative input perturbation: above the resolution of whatever could be rounding (float32
    inside a float64 check; the check's own dtype below it), small enough to keep a smooth
    residual the same."""
    return max(1e-5, 4 * RESOLUTION.get(dtype, RESOLUTION["float32"]))


def roundoff_bound(calibration: Calibration, dtype: str) -> float:
    if dtype == "float64":
        return FLOAT32_INTERNALS
    level = calibration.level
    rho = level if level is not None else RESOLUTION[dtype]
    return max(ROUNDOFF_ORDERS * rho, 16 * RESOLUTION[dtype])


def residual_of(ev: Evaluation, scales: Sequence[float] | None = None) -> Array:
    """The residual ``f(g·x) − g·f(x)``, each output divided by its scale (``scales``: as
    judged, so a small output's residual weighs as much as a large one's)."""
    scales = scales if scales is not None else _scales(ev)
    return np.concatenate([((a - b) / (s if s > 0 else 1.0)).ravel()
                           for a, b, s in zip(ev.fgx, ev.gfx, scales, strict=True)])


def _scales(ev: Evaluation) -> list[float]:
    """The scale each output of ``ev`` is judged on (:func:`output_scales`)."""
    norms = np.array([[np.linalg.norm(np.asarray(a, dtype=np.float64)) for a in ev.fx]])
    norms_g = np.array([[np.linalg.norm(np.asarray(a, dtype=np.float64)) for a in ev.fgx]])
    inputs = input_norms([np.asarray(a)[None] for a in ev.x])
    return [float(s) for s in output_scales(norms, norms_g, ev.dtype, inputs)[0]]


def test_roundoff(cases: Sequence[tuple[CaseId, Problem, Evaluation]], seed: int,
                  group_set: GroupSet, bound: float, dtype: str,
                  probed: Sequence[bool] | None = None) -> RoundoffTest:
    """Perturb each case's inputs (keeping probed structure) and measure the stability of its
    residual; stop at the first structured one. ``probed`` (per case, default all): whether
    the inputs are what the input probe of its case made; where not (a function measured
    on another's cases), the probe is not re-applied to the perturbed inputs."""
    eps = perturbation_for(dtype)
    tested: list[CaseId] = []
    values: list[float] = []
    structured = None
    for k, (case, problem, ev) in enumerate(cases[:MAX_TESTED]):
        value = residual_stability(case, problem, ev, eps, case_rng(seed, group_set,
                                                                    "roundoff", k),
                                   probed is None or probed[k])
        if value is None:
            continue
        tested.append(case)
        values.append(value)
        if not value < STABLE_ABOVE:  # NaN counts as structured: nothing to explain it
            structured = case
            break
    return RoundoffTest(tuple(tested), tuple(values), eps, bound, structured,
                        f"round-off at {dtype}")


def residual_stability(case: CaseId, problem: Problem, ev: Evaluation, eps: float,
                       rng: np.random.Generator, probed: bool = True) -> float | None:
    """The :func:`stability` of the case's residual under :data:`REPEATS` relative input
    perturbations of size ``eps`` (None: no finite, non-zero residual to test)."""
    scales = _scales(ev)
    r0 = residual_of(ev, scales)
    if not np.all(np.isfinite(r0)) or not np.any(r0):
        return None
    probe = (INPUT_PROBES.get(case.probe) if case.kind == "input" and case.probe and probed
             else None)
    fixed = problem.data or (None,) * len(problem.inputs)
    xs = []
    for _ in range(REPEATS):
        moved = []
        for spec, a, given in zip(problem.inputs, ev.x, fixed, strict=True):
            a = np.asarray(a)
            if a.dtype.kind != "f":  # token ids, masks: kept as they are
                moved.append(a)
                continue
            scale = float(np.sqrt(np.mean(a**2))) if a.size else 0.0
            b = a + eps * scale * rng.standard_normal(a.shape)
            if spec.rank and (given is None or problem.probe_data):
                if probe is not None:
                    b = probe.keep(a[None], b[None])[0]
                b = keep_close_pairs(a, b, CLOSE_PAIRS * eps)
            moved.append(b)
        xs.append(moved)
    batch = CaseBatch(
        [case] * REPEATS, [np.stack(parts) for parts in zip(*xs, strict=True)],
        [(g, e.repeat(REPEATS)) for g, e in ev.elements],
    )
    moved_ev = evaluate_batch(problem, batch, batch=True)
    return stability(r0, [residual_of(moved_ev.case(t), scales) for t in range(REPEATS)])


#: a relative input perturbation far above float64's resolution and far below float32's: it
#: re-draws float64 round-off, and leaves round-off made on a float32 grid in place
BELOW_FLOAT32 = 1e-10


def float32_grain(case: CaseId, problem: Problem, ev: Evaluation, seed: int,
                  group_set: GroupSet) -> float | None:
    """Whether a round-off residual is made on float32's grid, measured: its stability under
    a :data:`BELOW_FLOAT32` perturbation (high: the rounding does not see changes float64
    would, so it happens in float32; low: float64's own round-off)."""
    rng = case_rng(seed, group_set, "roundoff", MAX_TESTED)  # past the tested cases' draws
    return residual_stability(case, problem, ev, BELOW_FLOAT32, rng)


def narrower_outputs(problem: Problem) -> str | None:
    """The narrowest float dtype the model's outputs arrived in, if narrower than the
    check's (a float32 model in a float64 check), else None."""
    width = np.dtype(problem.dtype).itemsize if problem.dtype in ("float64", "float32") else 0
    narrow = sorted((d for d in problem.observed.output_dtypes
                     if np.dtype(d).kind == "f" and np.dtype(d).itemsize < width),
                    key=lambda d: np.dtype(d).itemsize)
    return narrow[0] if narrow else None


def roundoff_cause(dtype: str, tested: Sequence[tuple[CaseId, float]], elsewhere: float,
                   lower: str | None = None, grain: float | None = None) -> str:
    """What the round-off of the tested cases (each with its error) comes from, as measured:
    outputs in a narrower dtype (``lower``); a residual that a perturbation below float32's
    resolution leaves in place (``grain``, see :func:`float32_grain`: float32 computation);
    round-off only on a scale probe, where the other cases stay at ``elsewhere``; else the
    check's dtype. Float32 is named only where measured.

    >>> from symcheck.core.caseid import CaseId, GroupSet
    >>> tiny = CaseId(GroupSet(("S(n)",)), "input", 0, probe="tiny")
    >>> roundoff_cause("float64", [(tiny, 2e-6)], 3e-16)[:58]
    'float64 round-off amplified by cancellation on the ×1e-06 '
    """
    if lower is not None:
        return f"its outputs are {lower}: round-off at {lower}"
    if grain is not None and not grain < STABLE_ABOVE:
        return (f"it computes in float32 internally: its residual stays put under a "
                f"{BELOW_FLOAT32:.0e} relative input perturbation, below float32's resolution "
                "and far above float64's")
    scaled = [(c, e) for c, e in tested if c.kind == "input" and c.probe in INPUT_PROBES
              and not INPUT_PROBES[c.probe].structural]
    if tested and len(scaled) == len(tested):
        names = " and ".join(dict.fromkeys(f"×{INPUT_PROBES[c.probe or ''].scale:.0e}"
                                           for c, _ in scaled))
        return (f"{dtype} round-off amplified by cancellation on the {names} scale probe: "
                f"error {max(e for _, e in scaled):.1e} there, at most {elsewhere:.1e} on "
                "every other case")
    return f"round-off at {dtype}"
