"""Models that raise ``BaseException`` subclasses other than ``KeyboardInterrupt``.

``GeneratorExit`` and a custom ``BaseException`` subclass are not ``Exception``s, so a handler
for ``Exception`` lets them through; whatever they do, they are the check's error, never a
verdict. Expected: exit 2 for each.
"""

import numpy as np

import symcheck


class Abort(BaseException):
    """A framework's "stop everything" signal."""


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def generator_exit(x: np.ndarray) -> np.ndarray:
    raise GeneratorExit


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def custom_abort(x: np.ndarray) -> np.ndarray:
    raise Abort("stop")


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def exit_after_first_call(x: np.ndarray) -> np.ndarray:
    """Behaves on its first call, then raises ``SystemExit(0)``: the check has started."""
    if getattr(exit_after_first_call, "called", False):
        raise SystemExit(0)
    exit_after_first_call.called = True
    return x
