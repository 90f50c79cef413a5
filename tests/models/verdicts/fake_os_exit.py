"""Models that end the process with ``os._exit(0)``, at import or when called.

``os._exit`` skips every ``except`` and ``finally``: unchecked, the process would end with the
model's code 0 before any comparison, and a CI gate would read it as "equivariant". While
model code runs symcheck makes it raise instead. Expected: the check's error, exit 2.
"""

import os

import numpy as np

import symcheck

if os.environ.get("SYMCHECK_TEST_EXIT_AT_IMPORT"):
    os._exit(0)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 8})
def exits(x: np.ndarray) -> np.ndarray:
    os._exit(0)
