"""A model that ends the process with ``sys.exit(0)`` when called: no verdict may come of it.

Exit 0 would read as "equivariant" to a CI gate that never ran a comparison. Expected: the
check's error, exit 2 with one line.
"""

import sys

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def exits(x: np.ndarray) -> np.ndarray:
    sys.exit(0)
