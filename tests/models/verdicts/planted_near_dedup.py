"""Self-attention behind a near-duplicate merge that keeps the first token: a planted violation.

A de-duplication common before attention (a cache computes equal tokens once): a token closer
than ``threshold · ‖x‖`` to an earlier kept token takes that token's value. Which of two
near-equal tokens survives depends on their order, so a permutation that swaps them changes the
output by about their distance: S(n) breaks on every input with such a pair, by an amount that
shrinks with the threshold (O(d) alone is kept: distances and norms do not turn). Exact copies
(the repeated-token probe) merge to the same value either way, and Gaussian draws are never
that close, so only a near-duplicate probe within a few decades below the threshold (or a
search that pulls two tokens together) can see it. Two variants: ``near_dedup_1e3`` and
``near_dedup_1e6`` (thresholds 1e-3 and 1e-6 relative). Expected: exit 1.
"""

import numpy as np

import symcheck

from _zoo import self_attention

D = 8


def merge_near(x: np.ndarray, threshold: float) -> np.ndarray:
    """Each token within ``threshold · ‖x‖`` of an earlier kept token replaced by it."""
    kept = np.array(x)
    radius = threshold * np.linalg.norm(x)
    for j in range(1, len(x)):
        gaps = np.linalg.norm(kept[:j] - x[j], axis=-1)
        i = int(np.argmin(gaps))
        if gaps[i] < radius:
            kept[j] = kept[i]
    return kept


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def near_dedup_1e3(x: np.ndarray) -> np.ndarray:
    return self_attention(merge_near(x, 1e-3))


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": D})
def near_dedup_1e6(x: np.ndarray) -> np.ndarray:
    return self_attention(merge_near(x, 1e-6))
