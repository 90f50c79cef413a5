"""A PyTorch self-attention module, checked as it is (no rewriting in numpy).

    symcheck equivariance samples/torch_model.py                    # S(n): exit 0
    symcheck equivariance samples/torch_model.py --group 'O(d)'     # exit 1
    symcheck equivariance samples/torch_model.py --dtype float32    # deployed precision

symcheck deep-copies the module, casts the copy to float64 (or ``--dtype``), puts it in eval
mode and calls it under ``torch.no_grad()``. Self-attention without positions is
permutation-equivariant, so S(n) holds. O(d) does not: the learned projections are fixed here,
and turning the tokens without turning the weights changes the scores. Saved weights of the
same layer pass O(d) once the weights turn with the embedding (``--weights cotransform``, see
samples/weights/).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import symcheck

D, HEADS = 16, 4


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 8, "d": D})
class SelfAttention(nn.Module):
    """``nn.MultiheadAttention`` on one unbatched sequence ``(n, d)``, query = key = value."""

    def __init__(self) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(D, HEADS)
        # Seeded weights from numpy (no global torch seed): the check is reproducible.
        rng = np.random.default_rng(0)
        with torch.no_grad():
            for p in self.attention.parameters():
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) / np.sqrt(D)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.attention(x, x, x, need_weights=False)
        return out
