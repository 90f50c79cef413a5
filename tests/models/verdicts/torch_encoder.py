"""A transformer encoder layer (d = 256, n = 64), with and without an absolute position embedding.

``EncoderLayer`` is ``nn.TransformerEncoderLayer`` (4 heads, feed-forward 512, post-LayerNorm,
dropout 0, seeded weights) on one unbatched sequence. Without positions, self-attention, the
token-wise feed-forward and the token-wise LayerNorm are all permutation-equivariant: S(n) holds
exactly, and at ``--dtype float32`` the measured error is float32 round-off (about 1e-7).
Expected at float32: PASS, exit 0. (O(d) is not claimed: the learned weights and LayerNorm's
mean-centring and gain are fixed directions of the embedding.)

``PositionEncoderLayer`` adds a fixed absolute position embedding ``P[:n]`` to the input first,
scaled so that the S(n) error is about 4.3e-5 relative: below the old fixed float32 tolerance of
1e-4, but hundreds of times the layer's float32 round-off, and a smooth (structured) residual.
The embedding is scaled by the input's RMS, so the violation is 4.3e-5 at every input scale:
a tiny-scale probe does not magnify it, and only the tolerance (calibrated to the model's
round-off) or the residual's structure can catch it. Expected at float32: FAIL, exit 1. It
accepts n ≤ 64 (the table's length) and raises beyond.
"""

from __future__ import annotations

import torch
from torch import nn

import symcheck

D, N, HEADS, FF, MAX_POSITIONS = 256, 64, 4, 512, 64
POSITION_SCALE = 3.0e-5  # ‖P[:n]‖ / ‖x‖; sets the S(n) error ≈ 4.3e-5


def _layer() -> nn.TransformerEncoderLayer:
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's torch RNG untouched
        torch.manual_seed(0)
        return nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=FF, dropout=0.0)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class EncoderLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = _layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class PositionEncoderLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = _layer()
        generator = torch.Generator().manual_seed(1)
        table = torch.randn(MAX_POSITIONS, D, generator=generator, dtype=torch.float64)
        self.position = nn.Parameter(POSITION_SCALE * table, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-2]
        if n > MAX_POSITIONS:
            raise ValueError(f"at most {MAX_POSITIONS} positions, got n = {n}")
        return self.layer(x + x.pow(2).mean().sqrt() * self.position[:n].to(x.dtype))
