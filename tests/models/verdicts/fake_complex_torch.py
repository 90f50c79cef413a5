"""A torch module with a complex output: equivariant real part, non-equivariant imaginary part.

As ``fake_complex.py``, through the torch backend: ``attention(x) + 1j · c`` with a fixed
``c``. Cast to real it would pass; compared as complex it fails; refused it is exit 2.
Expected: exit 1 or 2, never 0.
"""

from __future__ import annotations

import torch
from torch import nn

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
class ComplexAttention(nn.Module):
    c: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        table = torch.randn(64, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
        self.register_buffer("c", table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(x @ x.T / x.shape[-1] ** 0.5, dim=-1)
        scale = x.pow(2).mean().sqrt()
        return torch.complex(weights @ x, self.c[: x.shape[0]].to(x.dtype) * scale)
