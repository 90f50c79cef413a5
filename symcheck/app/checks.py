"""Running declared checks (``symcheck check``): each check becomes the same typed request any
other door builds, runs through :func:`symcheck.app.service.run`, and yields a :class:`CheckRun`.

A check whose input is wrong (a model file that does not import, a model that raises or calls
``sys.exit``, a size it lacks) is that check's error, worded for a configuration file
(``sizes = { d = 8 }``); the checks after it still run. How a declared check becomes a request
is a registry of one small function per kind::

    @register("model")
    def model_request(spec: CheckSpec) -> Request: ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from symcheck.app.outcomes import Outcome
from symcheck.app.requests import (
    Declared,
    MatrixRequest,
    Measure,
    ModelRequest,
    Request,
    WeightsRequest,
)
from symcheck.core.errors import SymcheckError, Wording
from symcheck.core.verdicts import Verdict

if TYPE_CHECKING:
    from symcheck.app.config import CheckSpec


@dataclass
class CheckRun:
    """One declared check, run: its outcome, or the error that stopped it."""

    name: str
    kind: str
    verdict: Verdict
    outcome: Outcome | None
    error: str | None  # the one-line message (config wording) when the check could not run
    seconds: float
    file: str | None
    line: int | None = None
    config: str | None = None  # the configuration file that declares it, as shown

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS


RequestBuilder = Callable[["CheckSpec"], Request]

#: kind -> how a declared check of that kind becomes a request
BUILDERS: dict[str, RequestBuilder] = {}


def register(kind: str) -> Callable[[RequestBuilder], RequestBuilder]:
    """Decorator: make ``fn`` the request builder of checks of ``kind``."""
    def add(fn: RequestBuilder) -> RequestBuilder:
        BUILDERS[kind] = fn
        return fn
    return add


def _measure(spec: CheckSpec) -> Measure:
    o = spec.options
    return Measure(seed=o.get("seed", 0), trials=o.get("trials"), rtol=o.get("rtol"),
                   dtype=o.get("dtype", "float64"), search=o.get("search", 0),
                   probes=o.get("probes", True), timeout=o.get("timeout"))


@register("model")
def model_request(spec: CheckSpec) -> Request:
    o = spec.options
    return ModelRequest(
        target=spec.display_target,
        declared=Declared(o.get("inputs"), o.get("output"), o.get("groups"), o.get("sizes"),
                          o.get("mask"), o.get("padding_mask")),
        measure=_measure(spec),
        data=None if o.get("data") is None else _beside_config(spec, o["data"]),
    )


def _beside_config(spec: CheckSpec, path: str) -> Path:
    """A path the configuration gives, relative to its own folder (as the model's is)."""
    from symcheck.app.config import shown_path

    folder = spec.config.parent if spec.config is not None else Path.cwd()
    return Path(shown_path(folder / path))


@register("weights")
def weights_request(spec: CheckSpec) -> Request:
    o = spec.options
    return WeightsRequest(
        path=Path(spec.display_path), layer=o.get("layer"), heads=o.get("heads"),
        groups=o.get("groups"), mode=o.get("mode", "cotransform"),
        component=o.get("component"), n=o.get("sizes", {}).get("n"), measure=_measure(spec),
        fold=o.get("fold_norms", False), breakdown=o.get("breakdown", False),
    )


@register("matrix")
def matrix_request(spec: CheckSpec) -> Request:
    o = spec.options
    return MatrixRequest(spec.display_path, precision=o.get("precision", 0.1),
                         max_d=o.get("max_d"), seed=o.get("seed", 0),
                         method=o.get("method", "auto"))


def run_check(spec: CheckSpec, debug: bool = False,
              wording: Wording | None = None) -> CheckRun:
    """Run one check; an input error inside it becomes that check's error, in ``wording``
    (default: the configuration file's keys; with ``debug``, its traceback is printed to
    stderr too)."""
    from symcheck.app.config import CONFIG
    from symcheck.app.service import run

    start = time.perf_counter()
    config = None if spec.config is None else _shown(spec.config)
    try:
        builder = BUILDERS.get(spec.kind)
        if builder is None:
            raise SymcheckError(f"no runner for checks of kind {spec.kind!r}")
        outcome = run(builder(spec))
    except Exception as exc:  # one check's error, never the end of the gate
        if debug:
            import traceback

            traceback.print_exc()
        text = (exc.worded(wording or CONFIG) if isinstance(exc, SymcheckError) else
                "the machine ran out of memory" if isinstance(exc, MemoryError) else
                f"internal error: {type(exc).__name__}: {exc}")
        return CheckRun(spec.name, spec.kind, Verdict.ERROR, None, " ".join(text.split()),
                        time.perf_counter() - start, spec.display_path, config=config)
    if outcome.reproduction is not None:
        outcome.reproduction = outcome.reproduction.in_check(spec.name, config)
    return CheckRun(spec.name, spec.kind, outcome.verdict, outcome, None,
                    time.perf_counter() - start, spec.display_path, outcome.line,
                    config=config)


def _shown(path: Path) -> str:
    from symcheck.app.config import shown_path

    return shown_path(path)


def run_checks(specs: Sequence[CheckSpec], on_done: Callable[[CheckRun], None] | None = None,
               debug: bool = False, wording: Wording | None = None) -> list[CheckRun]:
    """Run every check in order; ``on_done`` is called after each (e.g. to print progress)."""
    runs = []
    for spec in specs:
        result = run_check(spec, debug, wording)
        if on_done is not None:
            on_done(result)
        runs.append(result)
    return runs
