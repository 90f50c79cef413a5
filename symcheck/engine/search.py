"""The worst-case local search over the group, from the worst cases found so far.

>>> import numpy as np
>>> from symcheck.core.signature import Signature
>>> from symcheck.engine.cases import case_batches
>>> from symcheck.engine.evaluate import evaluate_batch
>>> from symcheck.engine.problem import resolve
>>> p = resolve(np.tanh, Signature(("n d",), ("n d",), ("S(n)",), {"n": 4, "d": 2}))
>>> start = evaluate_batch(p, case_batches(p, p.groups, 0, 1)).case(0)
>>> found, _ = search_worst(p, start, np.random.default_rng(0), 5, 1e-9)
>>> found.error < 1e-15
True
"""

from __future__ import annotations

import numpy as np

from symcheck.engine.cases import CaseBatch
from symcheck.engine.evaluate import CaseResult, Evaluation, compare, compare_batch, evaluate_batch
from symcheck.engine.problem import Problem


def search_worst(
    problem: Problem, start: Evaluation, rng: np.random.Generator, steps: int, tolerance: float
) -> tuple[CaseResult, Evaluation]:
    """Local search over the group for a larger error, from the worst case found so far.

Array = np.ndarray

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
        cases = CaseBatch(["search"], x, moved)
        ev = evaluate_batch(problem, cases, batch=False, fx=fx)
        (candidate,) = compare_batch(ev, tolerance)
        if not candidate.finite or candidate.error > best.error:
            best, best_ev = candidate, ev.case(0)
            scale = min(scale * 1.5, np.pi)
        else:
            scale = max(scale * 0.85, 1e-3)
    return best, best_ev

