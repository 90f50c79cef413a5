"""Running declared checks: a registry of runners, one per kind, each returning a plain outcome.

A runner takes a :class:`~symcheck.app.config.CheckSpec` and returns a :class:`CheckOutcome` with
the verdict, the key numbers and a plain-text report; it computes through the same Python API
a user would call (``check_equivariance`` for models), so ``symcheck check`` and
``symcheck equivariance`` report the same numbers for the same seed. :func:`run_check` turns an
input error raised while one check runs (a model file that does not import, a model that
raises) into an ``error`` outcome, so the other checks still run.

Adding a kind is adding a runner::

    @register("model")
    def run_model(spec: CheckSpec) -> CheckOutcome: ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symcheck.core.errors import SymcheckError

if TYPE_CHECKING:
    from symcheck.app.config import CheckSpec

VERDICTS = ("pass", "fail", "error")


@dataclass
class CheckOutcome:
    """What one declared check found; :meth:`to_dict` is its entry in the JSON report."""

    name: str
    kind: str
    verdict: str  # "pass" | "fail" | "error"
    summary: str  # one line: what broke (or what holds)
    report: str = ""  # plain text: the failing cases and the replay command
    numbers: dict[str, Any] = field(default_factory=dict)  # e.g. max error per group
    seconds: float = 0.0
    file: str | None = None  # the file checked, relative to the current directory
    line: int | None = None  # where the checked callable is defined, when known
    replay: str | None = None  # the command that reproduces the worst failing case
    details: dict[str, Any] | None = None  # the engine's full result, as JSON

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "verdict": self.verdict,
            "summary": self.summary, "numbers": self.numbers, "seconds": self.seconds,
            "file": self.file, "line": self.line, "replay": self.replay, "report": self.report,
            "result": self.details,
        }


Runner = Callable[["CheckSpec"], CheckOutcome]

#: kind -> runner (the kind is the key that names what a check checks: model, weights, matrix)
RUNNERS: dict[str, Runner] = {}


def register(kind: str) -> Callable[[Runner], Runner]:
    """Decorator: make ``fn`` the runner of checks of ``kind``."""
    def add(fn: Runner) -> Runner:
        RUNNERS[kind] = fn
        return fn
    return add


def run_check(spec: CheckSpec, debug: bool = False) -> CheckOutcome:
    """Run one check; an input error inside it becomes an ``error`` outcome with its message
    (with ``debug``, its traceback is printed to stderr too)."""
    start = time.perf_counter()
    runner = RUNNERS.get(spec.kind)
    try:
        if runner is None:
            raise SymcheckError(f"no runner for checks of kind {spec.kind!r}")
        outcome = runner(spec)
    except SymcheckError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        from symcheck.app.config import CONFIG

        message = " ".join(exc.worded(CONFIG).split())
        outcome = CheckOutcome(
            spec.name, spec.kind, "error", message, report=message, file=spec.display_path,
        )
    return replace(outcome, seconds=time.perf_counter() - start)


def run_checks(specs: Sequence[CheckSpec],
               on_done: Callable[[CheckOutcome], None] | None = None,
               debug: bool = False) -> list[CheckOutcome]:
    """Run every check in order; ``on_done`` is called after each (e.g. to print progress)."""
    outcomes = []
    for spec in specs:
        outcome = run_check(spec, debug)
        if on_done is not None:
            on_done(outcome)
        outcomes.append(outcome)
    return outcomes


@register("model")
def run_model(spec: CheckSpec) -> CheckOutcome:
    """Check a Python callable with :func:`symcheck.check_equivariance`."""
    from symcheck.api import check_equivariance
    from symcheck.cli.equivariance import replay_command
    from symcheck.core.signature import Signature
    from symcheck.report.check import equivariance_report, equivariance_summary
    from symcheck.sources.python import load_python

    o = spec.options
    loaded = load_python(spec.display_target)
    result = check_equivariance(
        loaded.obj, o.get("inputs"), o.get("output"), o.get("groups"), o.get("sizes"),
        trials=o.get("trials"), seed=o.get("seed", 0), rtol=o.get("rtol"),
        dtype=o.get("dtype", "float64"), name=loaded.name,
    )
    # The same merge check_equivariance does, for the replay command's flags.
    signature = (loaded.signature or Signature()).merged(
        inputs=o.get("inputs"), outputs=o.get("output"), groups=o.get("groups"),
        sizes=o.get("sizes"), trials=o.get("trials"), rtol=o.get("rtol"),
    )
    replay = replay_command(spec.display_target, signature, result, None)
    return CheckOutcome(
        spec.name, "model", result.verdict, equivariance_summary(result),
        report=equivariance_report(result, replay),
        numbers={
            "max_error": {g.measurement.name: g.measurement.stat(100) for g in result.groups},
            "tolerance": result.tolerance,
        },
        file=spec.display_path, line=_line_of(loaded.obj), replay=replay,
        details=result.to_dict(),
    )


def _line_of(obj: Any) -> int | None:
    """The line where ``obj`` (or its class) is defined, for annotations; None if unknown."""
    import inspect

    for candidate in (obj, type(obj)):
        try:
            return inspect.getsourcelines(inspect.unwrap(candidate))[1]
        except (TypeError, OSError):
            continue
    return None


@register("weights")
def run_weights(spec: CheckSpec) -> CheckOutcome:
    """Saved attention weights with :func:`symcheck.sources.weights.check.check_weights`."""
    from symcheck.cli.equivariance import weights_replay_command
    from symcheck.report.check import equivariance_report, equivariance_summary
    from symcheck.report.weights import describe_cause
    from symcheck.sources.weights.check import DEFAULT_N, Settings, check_weights

    o = spec.options
    settings = Settings(n=o.get("sizes", {}).get("n", DEFAULT_N), dtype=o.get("dtype", "float64"),
                        seed=o.get("seed", 0), trials=o.get("trials"), rtol=o.get("rtol"))
    result = check_weights(
        Path(spec.display_path), layer=o.get("layer"), heads=o.get("heads"),
        groups=o.get("groups"), mode=o.get("mode", "cotransform"),
        component=o.get("component"), settings=settings,
    )
    replay = weights_replay_command(spec.display_path, result, o.get("heads"), o.get("rtol"))
    requested = result.requested
    report = equivariance_report(requested, None)
    lines = [report, *(f"✗ {describe_cause(c)}" for c in result.causes)]
    lines += [f"note: {n}" for n in result.notes]
    if replay:
        lines.append(f"replay the worst case: {replay}")
    summary = equivariance_summary(requested)
    return CheckOutcome(
        spec.name, "weights", requested.verdict,
        f"{summary}; weights {result.mode}, component {result.component}",
        report="\n".join(lines),
        numbers={
            "max_error": {g.measurement.name: g.measurement.stat(100) for g in requested.groups},
            "tolerance": requested.tolerance,
        },
        file=spec.display_path, replay=replay, details=result.to_dict(),
    )


@register("matrix")
def run_matrix(spec: CheckSpec) -> CheckOutcome:
    """Sparse approximation with :func:`symcheck.sparse.approximate`: pass when some hidden size
    ``d ≤ max_d`` is verified to reproduce the matrix to the precision."""
    from symcheck.report.check import matrix_report, matrix_summary
    from symcheck.sparse import approximate

    o = spec.options
    result = approximate(spec.display_path, precision=o.get("precision", 0.1),
                         max_d=o.get("max_d"), seed=o.get("seed", 0),
                         method=o.get("method", "auto"))
    best = result.best
    numbers: dict[str, Any] = {"d": None if best is None else best.d, "max_d": result.max_d,
                               "lower_bound": result.lower_bound, "L": result.size}
    if best is not None and best.precision is not None:
        numbers.update(eps1=best.precision.eps1, eps2=best.precision.eps2)
    replay = None if result.met else spec.rerun_command()
    return CheckOutcome(
        spec.name, "matrix", "pass" if result.met else "fail", matrix_summary(result),
        report=matrix_report(result, replay), numbers=numbers, file=spec.display_path,
        replay=replay, details=result.as_dict(),
    )
