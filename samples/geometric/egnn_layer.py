"""An EGNN layer (egnn-pytorch): invariant node features and point coordinates under E(3) × S(n).

``EGNN.forward(feats, coors)`` takes features ``(b, n, f)`` and coordinates ``(b, n, 3)`` and
returns both updated: the features are invariant (no ``c`` axis), the coordinates are points.
The weights are drawn from numpy with a fixed seed at a scale where the coordinate update is of
order one (egnn-pytorch's own initialisation, std 1e-3, makes it ~1e-6), so the check tests a
layer that really moves the points. Needs ``pip install egnn-pytorch`` (with torch==2.13.0).

    symcheck equivariance samples/geometric/egnn_layer.py                          # exit 0
"""

import numpy as np
import torch
from egnn_pytorch import EGNN
from torch import nn

import symcheck

FEATURES = 8


@symcheck.equivariant(inputs=["b n f", "b n c:point"], output=["b n f", "b n c:point"],
                      groups=["E(c)", "S(n)"], sizes={"b": 2, "n": 6, "f": FEATURES, "c": 3})
class Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.egnn = EGNN(dim=FEATURES, m_dim=16)
        rng = np.random.default_rng(0)
        with torch.no_grad():
            for p in self.egnn.parameters():
                fan_in = p.shape[-1] if p.ndim > 1 else 1
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) / np.sqrt(fan_in)))

    def forward(self, feats: torch.Tensor, coors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.egnn(feats, coors)
