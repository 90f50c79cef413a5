"""A float32 torch module in the default float64 check: judged at its own precision.

``Float32Attention`` is single-head self-attention with learned query, key and value
projections (``nn.Linear``), built without casting: its weights are float32, as a model
trained and saved in float32 is. Without positions it is S(n)-equivariant. symcheck casts a
copy to float64, so the arithmetic is exact to 1e-16, but the weights are only defined to
float32: the report says "its parameters are float32: judged at float32, ρ = …", ρ being how far
the outputs move when the weights are re-rounded at their own resolution (≈ 2e-8 here), and the
tolerance is 3 ρ. Expected: PASS, exit 0, with the precision named.

``PlantedFloat32Attention`` adds a fixed position embedding, scaled by the input's RMS so
that the median S(n) error is ≈ 4e-6 relative at every input scale: about 100 times the
weights' precision ρ, below float32's old fixed 1e-4, and a smooth (structured) residual.
Expected: FAIL, exit 1. (It accepts n ≤ 32, the table's length, and raises beyond: a size
probe notes it.)
"""

from __future__ import annotations

import torch
from torch import nn

import symcheck

D, N, MAX_POSITIONS = 16, 8, 32
POSITION_SCALE = 6.0e-6  # ‖P[:n]‖ / ‖x‖; sets the median S(n) error ≈ 4e-6 ≈ 100 ρ


def _projections() -> nn.ModuleList:
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's torch RNG untouched
        torch.manual_seed(0)
        return nn.ModuleList(nn.Linear(D, D) for _ in range(3))  # float32: torch's default


def _attend(projections: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    q, k, v = (p(x) for p in projections)
    weights = torch.softmax(q @ k.transpose(-1, -2) / D**0.5, dim=-1)
    return weights @ v


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class Float32Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.projections = _projections()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _attend(self.projections, x)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class PlantedFloat32Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.projections = _projections()
        generator = torch.Generator().manual_seed(1)
        table = torch.randn(MAX_POSITIONS, D, generator=generator)
        self.position = nn.Parameter(POSITION_SCALE * table, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-2]
        if n > MAX_POSITIONS:
            raise ValueError(f"at most {MAX_POSITIONS} positions, got n = {n}")
        return _attend(self.projections, x + x.pow(2).mean().sqrt() * self.position[:n])
