"""The worst-case search over inputs and group elements together.

A (1+1) evolution strategy on the relative error: each step moves either one factor of the
group element (a Lie-algebra step for O/SO, a transposition for S, a ±1 shift for C, through
each group's :meth:`~symcheck.core.groups.Group.neighbour`) or the inputs (a Gaussian step of
relative size σ, or a structured move: an input probe such as a one-hot or a repeated token),
and keeps the move when the error grows; σ grows after a success and shrinks after a failure.
On a plateau — no gain for a while, e.g. an exactly-zero error that a random walk cannot climb —
it widens: fresh inputs at a random scale, a fresh element, larger steps. Fixed weights are
never moved; user data is.

>>> import numpy as np
>>> from symcheck.core.signature import Signature
>>> from symcheck.engine.cases import case_batches
>>> from symcheck.engine.evaluate import evaluate_batch
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature.parse(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> start = evaluate_batch(p, case_batches(p, p.groups, 0, 1)).case(0)
>>> found, _ = search_worst(p, start, np.random.default_rng(0), 20, 1e-9)
>>> found.error < 1e-15
True
"""

from __future__ import annotations

import numpy as np

from symcheck.core.errors import ModelError
from symcheck.engine.cases import (
    INPUT_PROBES,
    CaseBatch,
    has_close_pair,
    near_floor,
    probe_input,
    search_case,
    tokens,
    varied_inputs,
)
from symcheck.engine.evaluate import (
    SENSITIVITY_MULTIPLE,
    CaseResult,
    Evaluation,
    Tolerance,
    compare,
    compare_batch,
    evaluate_batch,
    rounding_responses,
)
from symcheck.engine.problem import Problem

Array = np.ndarray

#: steps without a gain after which the search widens
PLATEAU = 12
#: two tokens closer than this (relative) are near-equal: a gain there is checked against the
#: input's own round-off
CLOSE = 1e-3
#: the probes the search applies as moves (near-duplicates have their own move, a pull)
_STRUCTURAL = [p for p in INPUT_PROBES.values() if p.structural and p.distance is None]


def pull_together(a: Array, rng: np.random.Generator, dtype: str) -> Array:
    """Two tokens of the input ``a`` (one case) moved toward their midpoint: a geometric step
    that multiplies their distance by ``10^-u``, ``u`` uniform over the decades down to the
    dtype's closest near-duplicate (so one step can cross any merge threshold, and accepted
    steps close a pair further). Half the time the closest pair, else a random one.

    >>> a = np.random.default_rng(0).standard_normal((5, 3))
    >>> b = pull_together(a, np.random.default_rng(1), "float64")
    >>> d = np.linalg.norm(b[:, None] - b[None], axis=-1) + np.eye(5)
    >>> bool(d.min() < np.linalg.norm(a[:, None] - a[None], axis=-1).max())
    True
    """
    out = np.array(a, dtype=np.float64)
    t = tokens(out[None])[0]
    n = t.shape[0]
    if rng.random() < 0.5:
        gaps = np.linalg.norm(t[:, None] - t[None], axis=-1) + np.diag(np.full(n, np.inf))
        i, j = (int(v) for v in np.unravel_index(np.argmin(gaps), gaps.shape))
    else:
        i, j = (int(v) for v in rng.choice(n, 2, replace=False))
    floor = near_floor(dtype)
    mid, half = (t[i] + t[j]) / 2, (t[j] - t[i]) / 2
    gap = 2 * float(np.linalg.norm(half))
    norm = max(float(np.linalg.norm(t[i])), float(np.linalg.norm(t[j])), 1e-300)
    # never closer than the dtype's closest near-duplicate: below it the pair rounds to a copy
    factor = max(10.0 ** -rng.uniform(0.5, floor), 10.0 ** -floor * norm / max(gap, 1e-300))
    t[i], t[j] = mid - factor * half, mid + factor * half
    return out


def search_worst(
    problem: Problem, start: Evaluation, rng: np.random.Generator, steps: int,
    tolerance: Tolerance,
) -> tuple[CaseResult, Evaluation]:
    """Search inputs and elements for a larger error, from ``start``; the worst case found."""
    best_ev = start
    case = search_case(start.elements)
    best = compare(case, start, tolerance)
    movable = varied_inputs(problem)
    scale_g, scale_x, stale = 0.3, 0.05, 0
    for _ in range(steps):
        if not best.finite:
            break
        x = [np.asarray(a) for a in best_ev.x]
        elements = list(best_ev.elements)
        if stale >= PLATEAU:
            # widen: new inputs at a random scale, a new element, larger steps
            scale = 10.0 ** rng.uniform(-1.5, 1.5)
            x = [scale * rng.standard_normal(a.shape) if m else a
                 for a, m in zip(x, movable, strict=True)]
            elements = [(g, g.sample_one(rng).scaled(scale)) for g, _ in elements]
            scale_g, scale_x, stale = np.pi / 2, 0.5, 0
        elif any(movable) and rng.random() < 0.5:
            x = _move_inputs(problem, x, movable, rng, scale_x)
        else:
            i = int(rng.integers(len(elements)))
            group, element = elements[i]
            elements[i] = (group, group.neighbour(element, rng, scale_g))
        cases = CaseBatch([case], [a[None] for a in x], elements)
        try:
            ev = evaluate_batch(problem, cases, batch=False)
        except ModelError:
            stale += 1  # outside the model's domain: not a counterexample, look elsewhere
            continue
        (candidate,) = compare_batch(ev, tolerance)
        if (not candidate.finite and not any(candidate.sides)) or _cancels(
                problem, ev.case(0), candidate, best, tolerance, rng):
            stale += 1  # outside the domain, or the input's own round-off: not a violation
            continue
        if not candidate.finite or candidate.error > best.error:
            best, best_ev = candidate, ev.case(0)
            scale_g, scale_x, stale = min(scale_g * 1.5, np.pi), min(scale_x * 1.5, 1.0), 0
        else:
            scale_g, scale_x = max(scale_g * 0.85, 1e-3), max(scale_x * 0.85, 1e-4)
            stale += 1
    return best, best_ev


def _cancels(problem: Problem, ev: Evaluation, candidate: CaseResult, best: CaseResult,
             tolerance: Tolerance, rng: np.random.Generator) -> bool:
    """Whether a gain above the tolerance at an input with two near-equal tokens is the
    rounding of that input (the output moves as much when the input moves by its own
    round-off): a pull that made a model using the tokens' difference ill-conditioned."""
    tols = ([float(tolerance)] * max(len(candidate.outputs), 1)
            if isinstance(tolerance, int | float) else list(tolerance))
    over = any(candidate.output_error(k) > t for k, t in enumerate(tols))
    if not (candidate.finite and candidate.error > best.error and over):
        return False
    movable = varied_inputs(problem)
    if not any(m and spec.rank and has_close_pair(a, CLOSE)
               for spec, a, m in zip(problem.inputs, ev.x, movable, strict=True)):
        return False
    (size,), _ = rounding_responses(problem, [ev], rng)
    return bool(np.isfinite(size) and SENSITIVITY_MULTIPLE * size >= candidate.error)


def _move_inputs(problem: Problem, x: list[Array], movable: list[bool],
                 rng: np.random.Generator, scale: float) -> list[Array]:
    """A Gaussian step of relative size ``scale`` on the movable inputs, or a structured move:
    (one time in four) a random input probe applied to one of them, or (about one time in
    seven) two of its tokens pulled together."""
    move = rng.random()
    if move < 0.25:
        probe = _STRUCTURAL[int(rng.integers(len(_STRUCTURAL)))]
        k = int(rng.choice([i for i, m in enumerate(movable) if m]))
        out = list(x)
        out[k] = probe_input(problem.inputs[k], x[k][None], probe)[0]
        return out
    pairs = [i for i, (a, m) in enumerate(zip(x, movable, strict=True))
             if m and problem.inputs[i].rank and tokens(a[None]).shape[1] >= 2]
    if move < 0.4 and pairs:
        k = int(rng.choice(pairs))
        out = list(x)
        out[k] = pull_together(x[k], rng, problem.dtype)
        return out
    moved = []
    for a, m in zip(x, movable, strict=True):
        if m and a.size:
            rms = float(np.sqrt(np.mean(a**2))) or 1.0
            a = a + scale * rms * rng.standard_normal(a.shape)
        moved.append(a)
    return moved
