"""A model file that raises a custom ``BaseException`` subclass at import. Expected: exit 2."""

import numpy as np

import symcheck


class Abort(BaseException):
    pass


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def identity(x: np.ndarray) -> np.ndarray:
    return x


raise Abort("stop at import")
