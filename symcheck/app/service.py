"""The one service every door calls: a typed request in, one outcome out.

The CLI, ``symcheck check``, the Python API and the pytest plugin build a request
(:mod:`symcheck.app.requests`) and call :func:`run`; the pipeline — load the target, merge its
declaration with the request, pick the backend, resolve, measure and judge, build the
reproduction recipe — is assembled here once, so every door reports the same numbers, the same
verdict and the same recipe for the same request.

>>> import numpy as np
>>> from symcheck.app.requests import Declared, ModelRequest
>>> out = run(ModelRequest(obj=np.tanh, declared=Declared(("n d",), ("n d",), ("S(n)",),
...                                                       {"n": 4, "d": 2})))
>>> out.verdict.value, out.reproduction.case is None
('pass', True)
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from symcheck.app import reproduction as recipe
from symcheck.app.outcomes import Evidence, Outcome
from symcheck.app.requests import (
    FormRequest,
    MatrixRequest,
    Measure,
    ModelRequest,
    ReplayRequest,
    Request,
    WeightsRequest,
)
from symcheck.core.errors import Interrupted, ModelError, ReplayError, SpecError, SymcheckError
from symcheck.core.signature import DEFAULT_TRIALS, WEIGHT_MODES, Signature, signature_of
from symcheck.core.tolerances import check_rtol, tolerance_for
from symcheck.core.verdicts import Verdict
from symcheck.engine.equivariance import (
    EquivarianceResult,
    MeasureOptions,
    check_counts,
    check_problem,
)
from symcheck.engine.evaluate import CaseResult
from symcheck.engine.form_judge import (
    FormResult,
    array_defaults,
    check_form_problem,
    embedding_label,
    hold_weights_fixed,
)
from symcheck.engine.problem import Problem, resolve
from symcheck.sources.python import LoadedModel, line_of, load_python, split_target

Array = np.ndarray


#: the longest --timeout (a week): the interval timer cannot hold 1e300 s
MAX_TIMEOUT = 7 * 24 * 3600


def run(request: Request) -> Outcome:
    """Run any request; input errors propagate as :class:`SymcheckError` (the door words them).
    A request with a ``timeout`` stops a model that hangs (at import or in a call)."""
    for kind, runner in RUNNERS:
        if isinstance(request, kind):
            measure = getattr(request, "measure", None)
            seconds = getattr(measure if measure is not None else request, "timeout", None)
            with time_limit(seconds):
                return runner(request)
    raise SymcheckError(f"no service for {type(request).__name__}")


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Interrupted` into whatever runs after ``seconds`` (SIGALRM: the main
    thread of a POSIX process), and report it as a model error."""
    if seconds is None:
        yield
        return
    import math
    import signal
    import threading

    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise SpecError(f"{seconds!r} must be a finite number of seconds greater than 0",
                        argument="timeout", value=seconds)
    if seconds > MAX_TIMEOUT:
        raise SpecError(f"{seconds!r} is more than {MAX_TIMEOUT:,} s (a week); leave the "
                        "option out for no limit", argument="timeout", value=seconds)
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        raise SpecError("a time limit needs the main thread of a POSIX process",
                        argument="timeout", value=seconds)

    def expire(signum: int, frame: Any) -> None:
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    finished = threading.Event()
    threading.Thread(target=_watchdog, args=(finished, float(seconds)), daemon=True,
                     name="symcheck-timeout").start()
    try:
        yield
    except Interrupted:
        raise ModelError(f"the check did not finish within {seconds:g} s (a model that hangs, "
                         "at import or in a call?); it was stopped", argument="timeout",
                         value=seconds) from None
    finally:
        finished.set()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: how long after --timeout the watchdog ends the process when the alarm did not stop the model
WATCHDOG_GRACE = 5.0
#: os._exit as it is before any model code runs (model code may not call it, see
#: :func:`~symcheck.core.files.model_stdout_to_stderr`)
_REAL_EXIT = os._exit


def _watchdog(finished: Any, seconds: float) -> None:
    """The last resort of ``--timeout``: a model that replaced symcheck's alarm handler, or
    holds the process otherwise, ends it here, with exit 2 and one line."""
    if finished.wait(seconds + WATCHDOG_GRACE):
        return
    with contextlib.suppress(Exception):
        sys.stderr.write(f"symcheck: error: --timeout: the check did not stop within {seconds:g} "
                         f"s and did not answer the alarm for {WATCHDOG_GRACE:g} s more (model "
                         "code that replaced or blocks it?); the process was ended\n")
        sys.stderr.flush()
    _REAL_EXIT(2)


# --------------------------------------------------------------------------- shared steps


def wrap_model(obj: Any, dtype: str, backend: str | None = None) -> Callable[..., Any]:
    """The one backend choice of every door: ``backend`` if named, else the framework the
    callable's own module imports (so a callable object from a file that imports torch gets
    tensors whether the CLI, a config check or the Python API runs it)."""
    from symcheck.backends import BACKENDS, adapt

    tolerance_for(dtype)  # validates the dtype name before any framework sees it
    if backend is not None and backend not in BACKENDS:
        raise SpecError(f"{backend!r} is not one of {', '.join(BACKENDS)}", argument="backend",
                        value=backend)
    _, fn = adapt(obj, dtype, namespace_of(obj), backend)
    return fn


def namespace_of(obj: Any) -> dict[str, Any] | None:
    """The globals of the module that defines ``obj`` (a function's, or its class's)."""
    import inspect

    try:
        target = inspect.unwrap(obj)
    except ValueError:
        target = obj
    globals_ = getattr(target, "__globals__", None)
    if isinstance(globals_, dict):
        return globals_
    module = sys.modules.get(getattr(type(obj), "__module__", "") or "")
    return vars(module) if module is not None else None


def _validate_measure(m: Measure) -> None:
    check_counts(m.trials, m.seed, m.search)
    if m.rtol is not None:
        check_rtol(m.rtol)
    tolerance_for(m.dtype)


@dataclass
class _Target:
    """A loaded callable and what it declares, from a file or from memory."""

    obj: Any
    name: str
    file: str | None
    signature: Signature | None


def _load(target: str | None, obj: Any, name: str | None) -> _Target:
    if obj is not None:
        return _Target(obj, str(name or getattr(obj, "__name__", type(obj).__name__)), None,
                       signature_of(obj))
    if target is None:
        raise SpecError("nothing to check: give a model file or a callable", argument="target")
    loaded: LoadedModel = load_python(target)
    return _Target(loaded.obj, loaded.name, str(loaded.path), loaded.signature)


def _same_input_count(loaded: _Target, given: tuple[str, ...] | None) -> None:
    """Overriding the declared inputs with a different number of them is a mistake, said as
    such (it would otherwise surface as a declared size that no spec carries)."""
    declared = loaded.signature.inputs if loaded.signature is not None else ()
    if given is None or not declared or len(given) == len(declared):
        return
    raise SpecError(
        f"{len(given)} input spec(s) given ({', '.join(repr(g) for g in given)}) but "
        f"{loaded.name!r} declares {len(declared)} ({', '.join(repr(d) for d in declared)}): "
        "the input count changed; give one spec per input", argument="inputs",
        value=list(given),
    )


def _inputs(request: ModelRequest | FormRequest, obj: Any,
            specs: Sequence[str]) -> tuple[Sequence[Array | None] | None, str]:
    if request.arrays is not None:
        return request.arrays, "given"
    if request.data is not None:
        from symcheck.sources.inputs import load_inputs

        return load_inputs(request.data, obj, specs), str(request.data)
    return None, "random"


# --------------------------------------------------------------------------- equivariance


def run_model(request: ModelRequest) -> Outcome:
    """``symcheck equivariance model.py``, a ``model`` check, ``check_equivariance``."""
    _validate_measure(request.measure)
    loaded = _load(request.target, request.obj, request.name)
    m = request.measure
    _same_input_count(loaded, request.declared.inputs)
    signature = request.declared.merge(loaded.signature, m)
    arrays, source = _inputs(request, loaded.obj, signature.inputs)
    if arrays is None:
        signature = config_sizes(loaded.obj, signature)
    fn = wrap_model(loaded.obj, m.dtype, request.backend)
    problem = resolve(fn, signature, m.dtype, arrays, loaded.name)
    problem.probe_data = arrays is not None  # the user's data is probed; weights never are
    if m.dtype != "float64":  # the same model in float64, to measure its rounding level
        problem.reference = wrap_model(loaded.obj, "float64", request.backend)
    trials = signature.trials if signature.trials is not None else DEFAULT_TRIALS
    options = MeasureOptions(m.seed, trials, 0.0, m.case, m.search, m.batch, m.probes)
    result = check_problem(problem, options, signature.rtol, source)
    repro = recipe.of_model(request.target, signature, result,
                            data=None if request.data is None else str(request.data),
                            backend=request.backend, search=m.search)
    return Outcome("model", result.verdict, result, repro, _evidence(problem, result),
                   file=loaded.file, line=line_of(loaded.obj))


#: a model's configuration attributes that give its embedding width (HuggingFace names)
HIDDEN_ATTRIBUTES = ("hidden_size", "d_model", "n_embd")
#: sizes a model with a configuration gets for labels no option sized: a batch of 2, 8 tokens
CONFIG_BATCH, CONFIG_TOKENS = 2, 8


def config_sizes(obj: Any, signature: Signature) -> Signature:
    """Sizes for the labels nothing sized, from the configuration a model carries (a
    ``transformers`` model's ``config``): the last axis of each output is the embedding
    (``hidden_size``), a leading ``b`` is a batch of 2, any other label 8 tokens (at most
    ``max_position_embeddings``). Without such a configuration the signature is unchanged
    and a missing size stays the error that names it.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(config=SimpleNamespace(hidden_size=24))
    >>> config_sizes(model, Signature(("inputs_embeds=b n d",), ("b n d",))).sizes
    {'d': 24, 'b': 2, 'n': 8}
    >>> config_sizes(model, Signature(("b n d",), ("b n d",), sizes={"n": 5})).sizes
    {'n': 5, 'd': 24, 'b': 2}
    >>> config_sizes(model, Signature(("input_ids=b n",), ("b n d",))).sizes
    {'d': 24, 'b': 2, 'n': 8}
    """
    from symcheck.core.specs import AxisSpec

    config = getattr(obj, "config", None)
    width = next((getattr(config, a) for a in HIDDEN_ATTRIBUTES
                  if isinstance(getattr(config, a, None), int)), None)
    if config is None or not isinstance(width, int) or width <= 0:
        return signature
    longest = getattr(config, "max_position_embeddings", None)
    tokens = min(CONFIG_TOKENS, longest) if isinstance(longest, int) and longest > 0 \
        else CONFIG_TOKENS
    sizes = dict(signature.sizes)
    specs = [AxisSpec.parse(s, "inputs") for s in signature.inputs]
    outputs = [AxisSpec.parse(s, "outputs") for s in signature.outputs]
    for spec in outputs:  # what the model returns ends with the embedding (not the n of
        if spec.labels and spec.labels[-1] not in sizes:  # token ids "b n" given as input)
            sizes[spec.labels[-1]] = width
    for spec in [*specs, *outputs]:
        for k, label in enumerate(spec.labels):
            if label not in sizes:
                sizes[label] = CONFIG_BATCH if (k == 0 and label == "b") else tokens
    return replace(signature, sizes=sizes)


def _evidence(problem: Problem, result: EquivarianceResult) -> Evidence | None:
    failing = result.worst_failure()
    if failing is None:
        return None
    m = failing.measurement
    if m.worst_evaluation is None:
        return None
    return Evidence(problem, m.worst_evaluation, m.name, m.worst.case, m.worst.error,
                    failing.tolerance)


# --------------------------------------------------------------------------- form


def run_form(request: FormRequest) -> Outcome:
    """``symcheck form model.py`` and ``check_form``."""
    _validate_measure(request.measure)
    loaded = _load(request.target, request.obj, request.name)
    m = request.measure
    signature = request.declared.merge(loaded.signature, m)
    arrays, _ = _inputs(request, loaded.obj, signature.inputs)
    if request.span_rtol is not None:
        check_rtol(request.span_rtol, "span_rtol")
    problem, weight_inputs, checked = prepare_form(
        loaded.obj, signature, dtype=m.dtype, data=arrays, weights=request.weights,
        name=loaded.name, backend=request.backend,
    )
    result: FormResult = check_form_problem(problem, checked, m.seed, weights=request.weights,
                                            weight_inputs=weight_inputs,
                                            span_rtol=request.span_rtol, fit=request.fit)
    verdict = (Verdict.NON_FINITE if not result.finite else
               Verdict.PASS if result.holds else Verdict.FAIL)
    repro = recipe.Reproduction(
        kind="form", target=request.target, name=loaded.name, inputs=checked.inputs,
        outputs=checked.outputs, groups=checked.groups, sizes=dict(result.sizes), seed=m.seed,
        trials=result.trials, dtype=m.dtype, rtol=signature.rtol, backend=request.backend,
        data=None if request.data is None else str(request.data),
    )
    return Outcome("form", verdict, result, repro, file=loaded.file, line=line_of(loaded.obj))


# --------------------------------------------------------------------------- weights


#: the dtypes the numpy reference of saved weights computes in
WEIGHT_DTYPES = ("float64", "float32", "float16")


def run_weights(request: WeightsRequest) -> Outcome:
    """Saved weights: the requested check with its co-transform breakdown; ``layer="all"``
    checks the whole stack as one function."""
    from symcheck.sources.weights.check import DEFAULT_N, Settings, check_weights

    m = request.measure
    _validate_measure(m)
    if request.mode not in WEIGHT_MODES:
        raise SpecError(f"{request.mode!r} is not one of {', '.join(WEIGHT_MODES)}",
                        argument="weights", value=request.mode)
    if m.dtype not in WEIGHT_DTYPES:
        raise SpecError(f"{m.dtype}: saved weights are checked through symcheck's numpy "
                        f"reference, which has no {m.dtype}; use one of "
                        f"{', '.join(WEIGHT_DTYPES)} (or check the framework's module)",
                        argument="dtype", value=m.dtype)
    settings = Settings(n=request.n or DEFAULT_N, dtype=m.dtype, seed=m.seed, trials=m.trials,
                        rtol=m.rtol)
    if request.layer == "all":
        if request.component not in (None, "block"):
            raise SpecError(f"{request.component}: --layer all checks the whole "
                            "stack of blocks, one after the other; check one component with "
                            "--layer NAME", argument="component", value=request.component)
        return _run_stack(request, settings)
    result = check_weights(request.path, layer=request.layer, heads=request.heads,
                           groups=request.groups, mode=request.mode,
                           component=request.component, settings=settings, case=m.case,
                           breakdown="full" if request.breakdown else "needed",
                           fold=request.fold)
    requested = result.requested
    repro = recipe.of_weights(
        str(request.path), requested, tuple(result.groups),
        layer=result.layer.prefix.rstrip("."), heads=request.heads, mode=result.mode,
        component=result.component, rtol=m.rtol, fold=request.fold,
    )
    return Outcome("weights", requested.verdict, result, repro, file=str(request.path))


@dataclass
class StackResult:
    """The whole stack of a checkpoint checked as one function of the tokens."""

    path: str
    layers: list[str]
    folded: list[str]
    not_folded: list[str]
    result: EquivarianceResult

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layers": self.layers, "folded": self.folded,
                "not_folded": self.not_folded, **self.result.to_dict()}


def _run_stack(request: WeightsRequest, settings: Any) -> Outcome:
    from symcheck.sources.weights.stack import check_stack, load_stack

    stack = load_stack(request.path, heads=request.heads, fold=request.fold)
    groups = tuple(request.groups or ("S(n)", "O(d)"))
    result = check_stack(stack.layers, groups, mode=request.mode, settings=settings,
                         case=request.measure.case)
    folded = [f"{name}: {f.describe()}" for name, fold in zip(stack.names, stack.folds,
                                                              strict=False)
              for f in fold.folded]
    not_folded = [f"{name}: {n.norm}: {n.what} ({n.why})"
                  for name, fold in zip(stack.names, stack.folds, strict=False)
                  for n in fold.not_folded]
    repro = recipe.of_weights(str(request.path), result, groups, layer="all",
                              heads=request.heads, mode=request.mode, component="block",
                              rtol=request.measure.rtol, fold=request.fold)
    return Outcome("stack", result.verdict,
                   StackResult(str(request.path), list(stack.names), folded, not_folded,
                               result), repro, file=str(request.path))


# --------------------------------------------------------------------------- replay


@dataclass
class ReplayResult:
    """A stored case re-run: the stored error, the error now, and which model file ran."""

    meta: dict[str, Any]
    case: CaseResult
    tolerance: float
    model_file: str

    @property
    def still_broken(self) -> bool:
        return not self.case.finite or self.case.error > self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_file, "group": self.meta["group"], "case": self.meta["case"],
            "stored_error": self.meta["error"], "error": self.case.error,
            "tolerance": self.tolerance,
            "verdict": (Verdict.FAIL if self.still_broken else Verdict.PASS).value,
            "details": self.case.to_dict(),
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def run_replay(request: ReplayRequest) -> Outcome:
    """Re-run a counterexample: FAIL while it still fails, PASS once fixed; a file that cannot
    be replayed (a tampered element, another model's file) is a :class:`ReplayError`."""
    from symcheck.app.counterexample import load, model_file
    from symcheck.app.counterexample import replay as rerun

    ce = load(request.counterexample)
    meta = ce.meta
    target = request.target or model_file(request.counterexample, meta)
    loaded = load_python(target)
    if request.target is None and meta.get("name") not in (None, loaded.name):
        raise ReplayError(
            f"counterexample: {str(request.counterexample)!r} was saved for "
            f"{meta.get('name')!r}, but {target!r} holds {loaded.name!r}; name the model to "
            "replay it on: symcheck replay CASE.npz model.py:NAME"
        )
    dtype = str(meta.get("dtype", "float64"))
    rtol = request.rtol if request.rtol is not None else meta.get("tolerance")
    tolerance = tolerance_for(dtype, rtol)
    signature = Signature(inputs=tuple(meta["inputs"]), outputs=tuple(meta["outputs"]),
                          groups=tuple(dict.fromkeys(meta["groups"])), sizes=meta["sizes"],
                          mask=_text(meta.get("mask")),
                          padding_mask=_text(meta.get("padding_mask")))
    fn = wrap_model(loaded.obj, dtype, request.backend)
    try:
        problem = resolve(fn, signature, dtype, list(ce.inputs), loaded.name)
    except SpecError as exc:
        raise ReplayError(f"counterexample: cannot replay on {target!r}: the stored inputs do "
                          f"not fit ({exc.message})") from None
    try:
        case, _ = rerun(problem, ce)
    except ModelError as exc:
        if meta.get("name") in (None, loaded.name):
            raise
        cause = exc.message.removesuffix(" (--debug shows the traceback)")
        shown = shlex.quote(str(request.counterexample))
        raise ReplayError(
            f"counterexample: {str(request.counterexample)!r} was saved for "
            f"{meta.get('name')!r} (inputs {', '.join(map(repr, meta['inputs']))}), and "
            f"{loaded.name!r} cannot run on them ({cause}); replay it on the model it was saved "
            f"for: symcheck replay {shown} {shlex.quote(str(meta.get('model', 'model.py')))}"
        ) from None
    result = ReplayResult({**meta, "tolerance": tolerance}, case, tolerance, target)
    verdict = Verdict.FAIL if result.still_broken else Verdict.PASS
    return Outcome("replay", verdict, result, file=str(split_target(target)[0]))


# --------------------------------------------------------------------------- matrix


def run_matrix(request: MatrixRequest) -> Outcome:
    """Sparse approximation: PASS when some verified ``d ≤ max_d`` meets the precision."""
    from symcheck.sparse import approximate

    result = approximate(request.matrix, precision=request.precision, max_d=request.max_d,
                         seed=request.seed, method=request.method, **dict(request.options))
    verdict = (Verdict.PASS if result.met else
               Verdict.INCONCLUSIVE if result.timed_out else Verdict.FAIL)
    source = request.matrix if isinstance(request.matrix, str | Path) else None
    return Outcome("matrix", verdict, result, recipe.Reproduction(
        kind="matrix", target=None if source is None else str(source), name=str(source),
        seed=request.seed), file=None if source is None else str(source))


RUNNERS: list[tuple[type, Callable[[Any], Outcome]]] = [
    (ModelRequest, run_model), (FormRequest, run_form), (WeightsRequest, run_weights),
    (ReplayRequest, run_replay), (MatrixRequest, run_matrix),
]


# --------------------------------------------------------------------------- form problem


def prepare_form(
    fn: Callable[..., Any], signature: Signature, *, dtype: str = "float64",
    data: Sequence[Array | None] | None = None, weights: str = "cotransform",
    name: str | None = None,
    backend: str | None = None,
) -> tuple[Problem, tuple[int, ...], Signature]:
    """Resolve ``fn`` for a form check (shared by :func:`check_form` and the CLI).

    Inputs whose parameter has an array default are the model's **weights**: they are fixed
    to that default in every draw (unless ``data`` fixes them). With ``weights="cotransform"``
    their embedding axes turn with ``Q`` and their vectors join ``K``; with ``"fixed"`` they
    are held still and stay out of ``Z``. Returns the problem, the weight inputs, and the
    signature actually checked.
    """
    if weights not in WEIGHT_MODES:
        raise SpecError(f"{weights!r} is not one of {', '.join(WEIGHT_MODES)}",
                        argument="weights", value=weights)
    if not signature.groups:
        signature = replace(signature, groups=("O(d)",))
    count = len(signature.inputs)
    defaults = array_defaults(fn, count)
    weight_inputs = tuple(i for i, a in enumerate(defaults) if a is not None)
    if data is None:
        fixed: list[Array | None] | None = defaults if weight_inputs else None
    else:
        fixed = [given if given is not None else default
                 for given, default in zip(data, defaults, strict=False)]
    if weights == "fixed" and weight_inputs:
        signature = hold_weights_fixed(signature, weight_inputs, embedding_label(signature))
    wrapped = wrap_model(fn, dtype, backend)
    problem = resolve(wrapped, signature, dtype, fixed, name or getattr(fn, "__name__", None))
    return problem, weight_inputs, signature


