"""Minimal-``d`` search: exponential bracketing, then bisection, several seeds per ``d``.

The search only needs a *trial*: a function ``try_seed(d, seed) -> SeedOutcome``. It is used
for the optimisation method and for the paper's random projection alike.

Deciding the true minimum is NP-hard and success at ``d`` does not imply success at ``d + 1``,
so what the search returns is the smallest ``d`` at which it *verified* success, with every
``d`` it tried and the success rate there — an upper bound, not a claimed optimum.

>>> outcome = lambda d, seed: SeedOutcome(d, seed, passed=d >= 5, eps1=0.0, log_eps2=-1.0,
...                                       seconds=0.0)
>>> minimal_d(outcome, start=1, max_d=64, seeds=[0, 1]).best_d
5
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from symcheck.core.verdicts import Computed, Serialised, key
from symcheck.sparse.precision import leak_from_log


@dataclass(frozen=True)
class SeedOutcome:
    """One attempt at hidden size ``d`` with one seed."""

    d: int
    seed: int
    passed: bool
    eps1: float
    log_eps2: float
    seconds: float
    payload: Any = field(default=None, compare=False, repr=False)


@dataclass
class DTrial(Serialised):
    """All seeds tried at one ``d``."""

    d: int
    outcomes: list[SeedOutcome] = field(default_factory=list, metadata=key(
        "seeds", convert=lambda outcomes: [o.seed for o in outcomes]))

    json_order = ("d", "outcomes", Computed("successes"), Computed("tried"),
                  Computed("success_rate"), Computed("best_eps1", "best.eps1"),
                  Computed("best_eps2", lambda t: leak_from_log(t.best.log_eps2)),
                  Computed("seconds"))

    @property
    def successes(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def tried(self) -> int:
        return len(self.outcomes)

    @property
    def success_rate(self) -> float:
        return self.successes / self.tried if self.tried else 0.0

    @property
    def ranked(self) -> list[SeedOutcome]:
        """Met outcomes first, then by ratio error plus log-leakage (the closest miss first)."""
        return sorted(self.outcomes, key=lambda o: (not o.passed, o.eps1 + max(o.log_eps2, -50.0)))

    @property
    def best(self) -> SeedOutcome:
        """The met outcome with the smallest ratio error, else the closest miss."""
        return self.ranked[0]

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.outcomes)


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
                yield from (o for o in trial.ranked if o.passed)

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
    search = _Search(try_seed, seeds, min_successes, time_limit, progress)
    floor = max(1, lower if lower is not None else start)
    lo = floor - 1  # largest d known to fail (nothing below the proven floor is tried)
    d = min(max(floor, start), max_d)
    lo, hi, d = search.bracket_up(lo, d, max_d)
    if hi is not None:
        lo, hi = search.bracket_down(lo, hi, d, floor)
        lo, hi = search.bisect(lo, hi, rel_tol)
        if not search.out_of_time():
            search.run(hi, all_seeds=True)
    elif search.stopped == "done":
        search.stopped = "max-d"
    return search.result()


class _Search:
    """The state of one :func:`minimal_d`: the trials so far, the clock and why it stopped."""

    def __init__(
        self,
        try_seed: Callable[[int, int], SeedOutcome],
        seeds: Sequence[int],
        min_successes: int,
        time_limit: float | None,
        progress: Progress | None,
    ) -> None:
        self.t0 = time.perf_counter()
        self.try_seed = try_seed
        self.trials: dict[int, DTrial] = {}
        self.seeds = list(seeds)
        self.need = max(1, min(min_successes, len(self.seeds)))
        self.time_limit = time_limit
        self.progress = progress
        self.stopped = "done"

    def out_of_time(self) -> bool:
        return self.time_limit is not None and time.perf_counter() - self.t0 > self.time_limit

    def stop_for_time(self) -> bool:
        """Whether the time is up (then recorded as the reason the search stopped)."""
        if self.out_of_time():
            self.stopped = "time-limit"
            return True
        return False

    def run(self, d: int, all_seeds: bool = False) -> bool:
        """Try the seeds at ``d`` until its verdict is decided (all of them with ``all_seeds``)."""
        seeds, need = self.seeds, self.need
        trial = self.trials.setdefault(d, DTrial(d))
        done = {o.seed for o in trial.outcomes}
        for seed in seeds:
            if seed in done:
                continue
            decided = trial.successes >= need or trial.tried - trial.successes > len(seeds) - need
            if decided and not all_seeds:
                break
            if trial.outcomes and self.out_of_time():
                break
            if self.progress is not None:
                self.progress(f"d={d} seed={seed}")
            trial.outcomes.append(self.try_seed(d, seed))
        return trial.successes >= need

    def bracket_up(self, lo: int, d: int, max_d: int) -> tuple[int, int | None, int]:
        """Double ``d`` until one succeeds: the last failure, the success (None) and last ``d``."""
        hi: int | None = None
        while d <= max_d:
            if self.stop_for_time():
                break
            if self.run(d):
                hi = d
                break
            lo = d
            if d == max_d:
                self.stopped = "max-d"
                break
            d = min(2 * d, max_d)
        return lo, hi, d

    def bracket_down(self, lo: int, hi: int, d: int, floor: int) -> tuple[int, int]:
        """The first ``d`` succeeded: halve towards the floor until a failure."""
        while lo < hi - 1 and hi == d and lo == floor - 1 and hi > floor:
            if self.stop_for_time():
                break
            d = max(floor, hi // 2)
            if self.run(d):
                hi = d
            else:
                lo = d
        return lo, hi

    def bisect(self, lo: int, hi: int, rel_tol: float) -> tuple[int, int]:
        """Narrow ``(lo, hi]`` to a gap of 1 or, with ``rel_tol > 0``, ``rel_tol`` of ``hi``."""
        while hi - lo > 1 and (rel_tol <= 0 or (hi - lo) > rel_tol * hi):
            if self.stop_for_time():
                break
            mid = (lo + hi) // 2
            if self.run(mid):
                hi = mid
            else:
                lo = mid
        return lo, hi

    def result(self) -> SearchResult:
        ordered = sorted(self.trials.values(), key=lambda t: t.d)
        verified = [t.d for t in ordered if t.successes >= self.need]
        best = min(verified) if verified else None
        return SearchResult(ordered, best, self.stopped, time.perf_counter() - self.t0, verified)
