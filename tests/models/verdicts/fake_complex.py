"""Models with complex outputs whose real part is equivariant and whose imaginary part is not.

``attention(x) + 1j · c`` with a fixed, position- and direction-dependent ``c``. Cast to real,
the output is plain attention and would PASS; compared as complex numbers, the imaginary part
breaks S(n) and O(d) (relative error of order 1) and must FAIL; refused, it is exit 2. Only a
pass is wrong. Expected: exit 1 or 2, never 0.
"""

import numpy as np

import symcheck

from _zoo import rms, self_attention

C = np.random.default_rng(5).standard_normal((64, 8))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def complex_attention(x: np.ndarray) -> np.ndarray:
    return self_attention(x) + 1j * C[: len(x)] * rms(x)
