"""Framework backends: turn a user's callable into one that takes and returns numpy arrays.

A registry, einops-style: each backend is a small class in its own module, imported only when
the user's object could belong to its framework (its module is already in ``sys.modules``),
so the core never imports torch or jax. The numpy backend, the fallback, lives here.
"""

from __future__ import annotations

import importlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from symcheck.core.errors import MissingExtraError, SpecError
from symcheck.engine.problem import OwnPrecision

Array = np.ndarray
NumpyFn = Callable[..., Any]

#: backend name -> (module path, the framework module whose presence makes it a candidate)
BACKENDS: dict[str, tuple[str, str]] = {
    "numpy": ("symcheck.backends", "numpy"),  # NumpyBackend, below
    "torch": ("symcheck.backends.torch_backend", "torch"),
    "jax": ("symcheck.backends.jax_backend", "jax"),
}


class Backend(ABC):
    """Adapts callables of one framework to numpy in, numpy out."""

    name: ClassVar[str]

    @abstractmethod
    def claims(self, obj: object, namespace: dict[str, Any] | None) -> bool:
        """Whether ``obj`` (defined in a module with globals ``namespace``) is ours."""

    @abstractmethod
    def wrap(self, obj: Any, dtype: str) -> NumpyFn:
        """A function of float64 numpy arrays that runs ``obj`` in ``dtype`` and returns numpy."""

    def own_precision(self, obj: Any, dtype: str) -> OwnPrecision | None:
        """The precision ``obj`` carries below ``dtype`` before any cast (float32 parameters
        of a module checked in float64), or None: nothing this backend can see."""
        return None


def import_framework(name: str, what: str) -> ModuleType:
    """The framework ``name`` imported, or the one-line error naming the extra that installs
    it (``what`` says what needed it)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise MissingExtraError(name, name, what) from None


def imports_framework(obj: object, namespace: dict[str, Any] | None, top: str) -> bool:
    """Whether the globals ``obj`` was defined with hold the module ``top`` or a submodule."""
    import inspect
    from types import ModuleType

    if namespace is None:
        namespace = getattr(inspect.unwrap(obj), "__globals__", None)  # type: ignore[arg-type]
    return any(
        isinstance(v, ModuleType) and v.__name__.split(".")[0] == top
        for v in (namespace or {}).values()
    )


def get_backend(name: str) -> Backend:
    """Instantiate the backend registered as ``name`` (its module is imported now)."""
    module_path, _ = BACKENDS[name]
    module = importlib.import_module(module_path)
    backend: Backend = module.BACKEND
    return backend


def adapt(obj: Any, dtype: str = "float64", namespace: dict[str, Any] | None = None,
          backend: str | None = None) -> tuple[str, NumpyFn]:
    """Pick the backend for ``obj`` (or use ``backend``) and return ``(name, wrapped)``."""
    chosen = choose(obj, namespace, backend)
    return chosen.name, chosen.wrap(obj, dtype)


def choose(obj: Any, namespace: dict[str, Any] | None = None,
           backend: str | None = None) -> Backend:
    """The backend named ``backend``, else the first whose framework is imported and which
    claims ``obj``, else numpy's."""
    if backend is not None:
        return get_backend(backend)
    for name, (_, framework) in BACKENDS.items():
        if name == "numpy" or framework not in sys.modules:
            continue
        candidate = get_backend(name)
        if candidate.claims(obj, namespace):
            return candidate
    return get_backend("numpy")


class NumpyBackend(Backend):
    """The core backend: the callable already speaks numpy."""

    name = "numpy"

    def claims(self, obj: object, namespace: dict[str, Any] | None) -> bool:
        return callable(obj)

    def wrap(self, obj: Any, dtype: str) -> NumpyFn:
        try:
            np_dtype = np.dtype(dtype)
        except TypeError:
            raise SpecError(f"{dtype!r} has no numpy type; models in torch or jax support it",
                            argument="dtype", value=dtype) from None

        def cast(a: np.ndarray) -> np.ndarray:
            return a.astype(np_dtype, copy=False) if a.dtype.kind == "f" else a  # ids, masks

        def run(*arrays: np.ndarray, **named: np.ndarray) -> Any:
            return obj(*(cast(a) for a in arrays), **{k: cast(a) for k, a in named.items()})

        run.__name__ = getattr(obj, "__name__", type(obj).__name__)
        return run


BACKEND = NumpyBackend()
