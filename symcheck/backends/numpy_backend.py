"""The core backend: the callable already speaks numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from symcheck.backends import Backend, NumpyFn
from symcheck.core.errors import SpecError


class NumpyBackend(Backend):
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
