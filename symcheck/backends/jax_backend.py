"""The jax backend: run a plain or ``jax.jit``-compiled function on numpy inputs.

It claims a function (jitted or not) defined in a file whose globals import jax
(``import jax``, ``import jax.numpy as jnp``), and any object whose type comes from jax.
For a 64-bit check, 64-bit mode (``jax_enable_x64``) is on during each call symcheck makes and
only then: without it jax silently computes in float32 and a float64 check would measure
float32 round-off; left on, it would change the numerics of the user's other jax code (the
pytest fixture runs inside their test session). Other dtypes run in the user's own setting.

>>> import jax.numpy as jnp                          # doctest: +SKIP
>>> BACKEND.wrap(jnp.tanh, "float64")(np.zeros(3))    # doctest: +SKIP
array([0., 0., 0.])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import numpy as np

from symcheck.backends import Backend, NumpyFn, import_framework, imports_framework
from symcheck.core.errors import SpecError


def _jax(what: str) -> ModuleType:
    return import_framework("jax", what)


class JaxBackend(Backend):
    name = "jax"

    def claims(self, obj: object, namespace: dict[str, Any] | None) -> bool:
        if type(obj).__module__.split(".")[0] in ("jax", "jaxlib"):
            return True  # a jitted function (PjitFunction) or another jax transform
        return imports_framework(obj, namespace, "jax")

    def wrap(self, obj: Any, dtype: str) -> NumpyFn:
        jax = _jax("running a jax model")
        import jax.numpy as jnp

        try:
            jax_dtype = jnp.dtype(dtype)
        except TypeError:
            raise SpecError(f"{dtype!r} is not a jax dtype", argument="dtype",
                            value=dtype) from None
        scope = _x64_scope(jax) if jax_dtype.itemsize == 8 else contextlib.nullcontext

        def cast(a: np.ndarray) -> Any:
            return jnp.asarray(a, dtype=jax_dtype) if a.dtype.kind == "f" else jnp.asarray(a)

        def run(*arrays: np.ndarray, **named: np.ndarray) -> Any:
            with scope():  # the conversion back to numpy inside it: jax computes lazily
                return _to_numpy(obj(*(cast(a) for a in arrays),
                                     **{k: cast(a) for k, a in named.items()}))

        run.__name__ = getattr(obj, "__name__", type(obj).__name__)
        return run


def _x64_scope(jax: ModuleType) -> Callable[[], AbstractContextManager[Any]]:
    """A context with 64-bit mode on, restoring the caller's setting after."""
    scoped: Any = getattr(jax, "enable_x64", None)  # newer jax: a thread-local config state
    if scoped is not None:
        return lambda: scoped(True)

    @contextlib.contextmanager
    def saved() -> Iterator[None]:  # older jax: set and restore the global flag
        before = bool(jax.config.jax_enable_x64)
        jax.config.update("jax_enable_x64", True)
        try:
            yield
        finally:
            jax.config.update("jax_enable_x64", before)

    return saved


def _to_numpy(out: Any) -> Any:
    if isinstance(out, tuple | list):
        return tuple(_to_numpy(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_numpy(v) for k, v in out.items()}
    if hasattr(out, "__array__") and hasattr(out, "dtype"):
        a = np.asarray(out)
        # keep the precision the model computed in (the engine records it); numpy has no
        # bfloat16 of its own, and float32 holds every bfloat16 value exactly
        return a.astype(np.float32) if a.dtype.name == "bfloat16" else a
    return out


BACKEND = JaxBackend()
