"""Self-attention whose softmax runs in float32 whatever the input dtype (as some libraries do).

The scores are cast to float32, the softmax is taken in float32 and the weights are cast back.
In exact arithmetic this is plain softmax attention, O(d)- and S(n)-equivariant. In a float64
check its S(n) error is float32 round-off, about 1e-7: a permutation reorders the float32 sum
of each softmax row. (O(d) stays near 1e-16: a rotation changes the float64 scores by ~1e-16
relative, which almost never moves one across a float32 rounding boundary.) That is the model's
own precision, not a broken symmetry: perturbing x by 1e-5 relative, the S(n) residual
decorrelates from the unperturbed one (median correlation ≈ 0.01 here). Expected in the default
float64 check: PASS (exit 0) with a note that the model computes in float32 internally; at
``--dtype float32`` it is an ordinary float32 model and passes too.
"""

import numpy as np

import symcheck


def softmax32(s: np.ndarray) -> np.ndarray:
    s = s.astype(np.float32)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 8, "d": 16})
def softmax32_attention(x: np.ndarray) -> np.ndarray:
    weights = softmax32(x @ x.T / np.sqrt(x.shape[-1])).astype(x.dtype)
    return weights @ x
