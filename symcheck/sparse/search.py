"""Minimal-``d`` search: exponential bracketing, then bisection, several seeds per ``d``.

The search only needs a *trial*: a function ``try_seed(d, seed) -> SeedOutcome``. It is used
for the optimisation method and for the paper's random projection alike.

Deciding the true minimum is NP-hard and success at ``d`` does not imply success at ``d + 1``,
so what the search returns is the smallest ``d`` at which it *verified* success, with every
``d`` it tried and the success rate there — an upper bound, not a claimed optimum.

>>> outcome = lambda d, seed: SeedOutcome(d, seed, met=d >= 5, eps1=0.0, log_eps2=-1.0,
...                                       seconds=0.0)
>>> minimal_d(outcome, start=1, max_d=64, seeds=[0, 1]).best_d
5
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from symcheck.sparse.precision import leak_from_log


@dataclass(frozen=True)
class SeedOutcome:
    """One attempt at hidden size ``d`` with one seed."""

    d: int
    seed: int
    met: bool
    eps1: float
    log_eps2: float
    seconds: float
    payload: Any = field(default=None, compare=False, repr=False)


@dataclass
class DTrial:
    """All seeds tried at one ``d``."""

    d: int
    outcomes: list[SeedOutcome] = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(o.met for o in self.outcomes)

    @property
    def tried(self) -> int:
        return len(self.outcomes)

    @property
    def success_rate(self) -> float:
        return self.successes / self.tried if self.tried else 0.0

    @property
    def ranked(self) -> list[SeedOutcome]:
        """Met outcomes first, then by ratio error plus log-leakage (the closest miss first)."""
        return sorted(self.outcomes, key=lambda o: (not o.met, o.eps1 + max(o.log_eps2, -50.0)))

    @property
    def best(self) -> SeedOutcome:
        """The met outcome with the smallest ratio error, else the closest miss."""
        return self.ranked[0]

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "d": self.d,
            "seeds": [o.seed for o in self.outcomes],
            "successes": self.successes,
            "tried": self.tried,
            "success_rate": self.success_rate,
            "best_eps1": best.eps1,
            "best_eps2": leak_from_log(best.log_eps2),
            "seconds": self.seconds,
        }


@dataclass
class SearchResult:
    """Every trial of a search; ``best_d`` is the smallest verified ``d`` (None if none)."""

    trials: list[DTrial]
    best_d: int | None
    stopped: str  # "done", "max-d" or "time-limit"
    seconds: float
    verified: list[int] = field(default_factory=list)  # every verified d, increasing

    def verified_outcomes(self) -> Iterator[SeedOutcome]:
        """The met outcomes at verified ``d``: smallest ``d`` first, best seed first."""
        for d in self.verified:
            trial = self.trial(d)
            if trial is not None:
                yield from (o for o in trial.ranked if o.met)

    def trial(self, d: int) -> DTrial | None:
        return next((t for t in self.trials if t.d == d), None)

    @property
    def best(self) -> SeedOutcome | None:
        if self.best_d is None:
            return None
        t = self.trial(self.best_d)
        return t.best if t is not None else None


Progress = Callable[[str], None]


def minimal_d(
    try_seed: Callable[[int, int], SeedOutcome],
    *,
    start: int,
    max_d: int,
    lower: int | None = None,
    seeds: Sequence[int],
    min_successes: int = 1,
    rel_tol: float = 0.0,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> SearchResult:
    """Smallest ``d`` in ``[lower, max_d]`` with at least ``min_successes`` seeds meeting it.

    Bracketing starts at the guess ``start`` (``lower`` defaults to it): on failure it tries
    ``2·start, 4·start, …`` (capped at ``max_d``) until one succeeds; on success it halves
    towards ``lower`` until one fails. Bisection then
    narrows ``(last failure, first success]`` until the gap is 1 or, with ``rel_tol > 0``, at
    most ``rel_tol`` of the upper end. Seeds at one ``d`` are tried in order and stop as soon as
    the verdict is decided; the final ``d`` is topped up with every seed so its success rate is
    over all of them.
    """
    t0 = time.perf_counter()
    trials: dict[int, DTrial] = {}
    seeds = list(seeds)
    need = max(1, min(min_successes, len(seeds)))
    stopped = "done"

    def out_of_time() -> bool:
        return time_limit is not None and time.perf_counter() - t0 > time_limit

    def run(d: int, all_seeds: bool = False) -> bool:
        trial = trials.setdefault(d, DTrial(d))
        done = {o.seed for o in trial.outcomes}
        for seed in seeds:
            if seed in done:
                continue
            decided = trial.successes >= need or trial.tried - trial.successes > len(seeds) - need
            if decided and not all_seeds:
                break
            if trial.outcomes and out_of_time():
                break
            if progress is not None:
                progress(f"d={d} seed={seed}")
            trial.outcomes.append(try_seed(d, seed))
        return trial.successes >= need

    floor = max(1, lower if lower is not None else start)
    lo = floor - 1  # largest d known to fail (nothing below the proven floor is tried)
    hi: int | None = None
    d = min(max(floor, start), max_d)
    while d <= max_d:
        if out_of_time():
            stopped = "time-limit"
            break
        if run(d):
            hi = d
            break
        lo = d
        if d == max_d:
            stopped = "max-d"
            break
        d = min(2 * d, max_d)
    # The first d succeeded: bracket downwards by halving until a failure or the floor.
    while hi is not None and lo < hi - 1 and hi == d and lo == floor - 1 and hi > floor:
        if out_of_time():
            stopped = "time-limit"
            break
        d = max(floor, hi // 2)
        if run(d):
            hi = d
        else:
            lo = d
    if hi is not None:
        while hi - lo > 1 and (rel_tol <= 0 or (hi - lo) > rel_tol * hi):
            if out_of_time():
                stopped = "time-limit"
                break
            mid = (lo + hi) // 2
            if run(mid):
                hi = mid
            else:
                lo = mid
        if not out_of_time():
            run(hi, all_seeds=True)
    elif stopped == "done":
        stopped = "max-d"
    ordered = sorted(trials.values(), key=lambda t: t.d)
    verified = [t.d for t in ordered if t.successes >= need]
    best = min(verified) if verified else None
    return SearchResult(ordered, best, stopped, time.perf_counter() - t0, verified)
