"""Models whose float64 twin cannot run, checked at ``--dtype float32``: calibration is a note.

A check below float64 measures the model's rounding level ρ against the same model cast to
float64. These modules create float32 tensors inside ``forward`` (as x-transformers'
``dynamic_pos_bias`` does: ``torch.arange(n).float()`` fed to a small MLP), so the float64 twin
raises ("mat1 and mat2 must have the same dtype"). That must not end the check: the report
notes why ρ is not measured and the tolerance is float32's floor (1e-6).

- ``LearnedTemperature``: attention whose temperature an MLP computes from a float32 constant
  made in ``forward``; S(n)-equivariant. At ``--dtype float32``: PASS, exit 0 (with the note).
  (It exited 2 before.)
- ``DynamicPositionBias``: attention with a bias over relative positions ``i − j`` computed by
  an MLP from a float32 ``arange`` made in ``forward``: not S(n)-equivariant (error ≈ 1e-1).
  At ``--dtype float32``: FAIL, exit 1 (with the note).
"""

from __future__ import annotations

import torch
from torch import nn

import symcheck

D, N = 16, 8


def _mlp() -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):  # seeded, the caller's torch RNG untouched
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(1, 8), nn.SiLU(), nn.Linear(8, 1))


def _attend(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | float = 0.0
            ) -> torch.Tensor:
    scores = x @ x.transpose(-1, -2) * scale + bias
    return torch.softmax(scores, dim=-1) @ x


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class LearnedTemperature(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mlp = _mlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        one = torch.ones(1, 1)  # float32 whatever the module was cast to
        scale = torch.sigmoid(self.mlp(one)).to(x.dtype) / D**0.5
        return _attend(x, scale)


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": N, "d": D})
class DynamicPositionBias(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mlp = _mlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-2]
        offsets = torch.arange(n).float()  # float32 whatever the module was cast to
        relative = (offsets[:, None] - offsets[None, :]).reshape(-1, 1)
        bias = self.mlp(relative).reshape(n, n).to(x.dtype)
        return _attend(x, torch.tensor(D**-0.5, dtype=x.dtype), bias)
