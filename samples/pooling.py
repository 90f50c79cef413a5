"""An invariant read-out: attention pooling of a sequence into inner-product features.

The output carries no acted-on label, so this is an invariance check: the features must not
change at all when the embedding rotates or the tokens are permuted. Expected: PASS, exit 0.

    symcheck equivariance samples/pooling.py
"""

import numpy as np

import symcheck


@symcheck.equivariant(
    inputs=["n d"],
    output="f",
    groups=["O(d)", "S(n)"],
    sizes={"n": 8, "d": 16},
)
def pooled_features(x: np.ndarray) -> np.ndarray:
    gram = x @ x.T
    weights = np.exp(gram.mean(axis=1) - gram.mean(axis=1).max())
    weights /= weights.sum()
    pooled = weights @ x  # an attention-weighted mean token
    norms = np.linalg.norm(x, axis=1)
    return np.array([pooled @ pooled, norms.max(), norms.mean(), np.log(np.exp(gram).sum())])
