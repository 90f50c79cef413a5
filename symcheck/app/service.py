"""The one service every door calls: a typed request in, one outcome out.

The CLI, ``symcheck check``, the Python API and the pytest plugin build a request
(:mod:`symcheck.app.requests`) and call :func:`run`; the pipeline — load the target, merge its
declaration with the request, pick the backend, resolve, measure and judge, build the
reproduction recipe — is assembled here once, so every door reports the same numbers, the same
verdict and the same recipe for the same request.

>>> import numpy as np
>>> from symcheck.app.requests import Declared, ModelRequest
>>> out = run(ModelRequest(obj=np.tanh, declared=Declared.parse(("n d",), ("n d",), ("S(n)",),
...                                                             {"n": 4, "d": 2})))
>>> out.verdict.value, out.reproduction.case is None
('pass', True)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from symcheck.app.outcomes import Outcome
from symcheck.app.requests import (
    CallableRequest,
    FormRequest,
    MatrixRequest,
    ModelRequest,
    ReplayRequest,
    Request,
    SweepRequest,
    WeightsRequest,
)
from symcheck.core.errors import SpecError, SymcheckError
from symcheck.core.signature import Signature, signature_of
from symcheck.core.specs import AxisSpec
from symcheck.engine.problem import OwnPrecision
from symcheck.sources.python import LoadedModel, load_python

Array = np.ndarray

#: which runner answers each request: a module and a function, imported when that request
#: comes (a run imports its own runner only)
RUNNERS: dict[type, tuple[str, str]] = {
    ModelRequest: ("symcheck.app.model_runner", "run_model"),
    FormRequest: ("symcheck.app.form_runner", "run_form"),
    WeightsRequest: ("symcheck.app.weights_runner", "run_weights"),
    ReplayRequest: ("symcheck.app.replay_runner", "run_replay"),
    MatrixRequest: ("symcheck.app.matrix_runner", "run_matrix"),
    SweepRequest: ("symcheck.app.matrix_runner", "run_sweep"),
}



def run(request: Request) -> Outcome:
    """Run any request; input errors propagate as :class:`SymcheckError` (the door words them).
    A request with a ``timeout`` stops a model that hangs (at import or in a call)."""
    import importlib

    for kind, (module, name) in RUNNERS.items():
        if isinstance(request, kind):
            runner: Callable[[Any], Outcome] = getattr(importlib.import_module(module), name)
            request.validated()
            measure = getattr(request, "measure", None)
            seconds = None if measure is None else measure.timeout
            if seconds is None:
                return runner(request)
            from symcheck.app.time_limit import time_limit

            with time_limit(seconds):
                return runner(request)
    raise SymcheckError(f"no service for {type(request).__name__}")


def wrap_model(obj: Any, dtype: str, backend: str | None = None) -> Callable[..., Any]:
    """The one backend choice of every door: ``backend`` if named, else the framework the
    callable's own module imports (so a callable object from a file that imports torch gets
    tensors whether the CLI, a config check or the Python API runs it)."""
    from symcheck.backends import BACKENDS, adapt

    if backend is not None and backend not in BACKENDS:
        raise SpecError(f"{backend!r} is not one of {', '.join(BACKENDS)}", argument="backend",
                        value=backend)
    _, fn = adapt(obj, dtype, namespace_of(obj), backend)
    return fn


def own_precision(obj: Any, dtype: str, backend: str | None = None) -> OwnPrecision | None:
    """What the framework of ``obj`` (the backend :func:`wrap_model` picks) sees of its own
    precision below ``dtype``, before any cast."""
    from symcheck.backends import choose

    return choose(obj, namespace_of(obj), backend).own_precision(obj, dtype)


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


def _same_input_count(loaded: _Target, given: tuple[AxisSpec, ...] | None) -> None:
    """Overriding the declared inputs with a different number of them is a mistake, said as
    such (it would otherwise surface as a declared size that no spec carries)."""
    declared = loaded.signature.inputs if loaded.signature is not None else ()
    if given is None or not declared or len(given) == len(declared):
        return
    raise SpecError(
        f"{len(given)} input spec(s) given ({', '.join(repr(str(g)) for g in given)}) but "
        f"{loaded.name!r} declares {len(declared)} "
        f"({', '.join(repr(str(d)) for d in declared)}): "
        "the input count changed; give one spec per input", argument="inputs",
        value=[str(g) for g in given],
    )


def _inputs(request: CallableRequest, obj: Any,
            specs: Sequence[AxisSpec]) -> tuple[Sequence[Array | None] | None, str]:
    if request.arrays is not None:
        return request.arrays, "given"
    if request.data is not None:
        from symcheck.sources.inputs import load_inputs

        return load_inputs(request.data, obj, specs), str(request.data)
    return None, "random"
