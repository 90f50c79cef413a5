"""A model that raises ``KeyboardInterrupt``, as a real Ctrl-C during its call would.

An interrupt is the user's, not the model's: it stops the run with exit 130 (not a verdict, and
not the exit 2 of a model error). Expected: exit 130.
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def interrupted(x: np.ndarray) -> np.ndarray:
    raise KeyboardInterrupt
