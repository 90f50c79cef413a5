"""Run small dense kernels with one BLAS thread.

The fit multiplies many small blocks (``block × L × d``); with a multi-threaded OpenBLAS on a
busy machine, its worker threads spin waiting for cores and each call gets an order of
magnitude slower. Limiting OpenBLAS to one thread for the duration of a fit avoids that. The
library is found among the already loaded shared objects; when it cannot be found (another
BLAS, another platform) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("", "64_", "_64")


def _loaded_paths() -> tuple[str, ...]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            paths = {line.split()[-1] for line in handle if "openblas" in line.lower()}
    except OSError:
        return ()
    return tuple(sorted(p for p in paths if p.startswith("/")))


@cache
def _controls(paths: tuple[str, ...]) -> list[tuple[Any, Any]]:
    """``(set_num_threads, get_num_threads)`` of every loaded OpenBLAS (numpy's and scipy's)."""
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    getter.restype = ctypes.c_int
                    found.append((setter, getter))
                    break
            else:
                continue
            break
    return found


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, every loaded OpenBLAS uses a single thread."""
    controls = _controls(_loaded_paths())
    before = [int(getter()) for _setter, getter in controls]
    for setter, _getter in controls:
        setter(1)
    try:
        yield
    finally:
        for (setter, _getter), count in zip(controls, before, strict=True):
            setter(count)
