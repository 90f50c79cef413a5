"""The cross product of two sets of 3-D vectors: an axial vector (a pseudovector).

``(Qa) × (Qb) = det(Q) · Q(a × b)``: rotations turn the output like a vector, reflections
turn it and flip its sign. Declared ``n c:axial`` it passes O(3); declared as a plain vector
(``n c``) it fails O(3) (error 2, the reflections) and passes SO(3).

    symcheck equivariance samples/geometric/cross.py                               # exit 0
    symcheck equivariance samples/geometric/cross.py --out 'n c'                   # exit 1
    symcheck equivariance samples/geometric/cross.py --out 'n c' --group 'SO(c)'   # exit 0
"""

import numpy as np

import symcheck


@symcheck.equivariant(inputs=["n c", "n c"], output="n c:axial", groups=["O(c)"],
                      sizes={"n": 5, "c": 3})
def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.cross(a, b)
