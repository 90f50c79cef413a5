"""An e3nn tensor product built under torch's float32 default, checked in float64.

``o3.FullyConnectedTensorProduct`` of ``2x0e+2x1o+1x2e`` with itself, built as most code
builds it (torch's default dtype float32): its weights and its Wigner-3j coupling constants are
float32. Cast to float64 they are float64 tensors holding float32-accurate values, so the
float64 function is equivariant only to ≈ 5e-9 (built in float64 it is ≈ 5e-15): a structured
error that the input-perturbation test rightly calls structured. The check judges it at its
own precision: "its parameters are float32: judged at float32, ρ = …" (ρ ≈ 3e-8, the outputs'
change when those tensors are re-rounded), and it passes.

- ``tensor_product``: the module as built (float32 tensors). PASS, exit 0.
- ``cast_tensor_product``: the same after ``.double()`` by its author: float64 tensors whose
  values are all float32 values ("… hold float32-rounded values"). PASS, exit 0.
- ``planted``: the float32-built product plus a constant 3e-6 relative shift of every output
  component (not a rotation of anything): error ≈ 5e-6, about 140 ρ. FAIL, exit 1.

Run with ``--in`` twice and ``--out`` as declared (group O(c), c = 3, n = 5 points).
"""

from __future__ import annotations

import copy

import torch
from e3nn import o3

import symcheck

IRREPS = "2x0e+2x1o+1x2e"
SPEC = f"n c:irreps({IRREPS})"
DECLARE = symcheck.equivariant(inputs=[SPEC, SPEC], output=SPEC, groups=["O(c)"],
                               sizes={"n": 5, "c": 3})

with torch.random.fork_rng(devices=[]):  # seeded, the caller's torch RNG untouched
    torch.manual_seed(0)
    tensor_product = DECLARE(o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS))

cast_tensor_product = DECLARE(copy.deepcopy(tensor_product).double())


class Planted(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tp = copy.deepcopy(tensor_product)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.tp(x, y)
        return out + 3e-6 * out.norm() / out.numel() ** 0.5 * torch.ones_like(out)


planted = DECLARE(Planted())
