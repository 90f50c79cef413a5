"""A float32 "HuggingFace-like" encoder fed integer token ids, in the default float64 check.

An ``nn.Embedding`` and one self-attention layer without positions (learned projections,
float32 weights as built), S(n)-equivariant in exact arithmetic. It takes ``input_ids`` of shape
``(b, n)``, integers: run it with the token ids file beside it,
``--inputs tests/models/verdicts/token_ids.npz``. Round-off cannot be perturbed through integers,
so the input-perturbation test cannot tell its float32 round-off from a violation; the check
judges it at its own precision instead, and names the cause:

- ``TokenEncoder`` (the module): "its parameters are float32: judged at float32, ρ = …" (a
  float64 copy computes exactly; ρ ≈ 3e-8 from re-rounding the weights). PASS, exit 0.
- ``encode`` (a plain function closing over the float32 module, which symcheck cannot cast): it
  returns float32, error ≈ 6e-8 of float32 arithmetic, "its outputs are float32: judged at
  float32" with float32's floor 1e-6. PASS, exit 0 (it failed at 1e-9 before).
- ``PlantedTokenEncoder``: the same module with a position embedding at about 100 times ρ (S(n)
  error ≈ 4e-6). FAIL, exit 1; ``encode_planted``, it through a function: FAIL too (4e-6 is
  above the float32 floor, and its residual is structured).
"""

from __future__ import annotations

import torch
from torch import nn

import symcheck

VOCAB, D, MAX_POSITIONS = 50, 16, 32
POSITION_SCALE = 6.0e-6  # ‖P[:n]‖ / ‖x‖ of the embedded tokens; S(n) error ≈ 100 ρ
SIGNATURE = {"inputs": ["input_ids=b n"], "output": "b n d", "groups": ["S(n)"],
             "sizes": {"d": D}}


class TokenEncoder(nn.Module):
    def __init__(self, position_scale: float = 0.0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # seeded, the caller's torch RNG untouched
            torch.manual_seed(0)
            self.embed = nn.Embedding(VOCAB, D)
            self.projections = nn.ModuleList(nn.Linear(D, D) for _ in range(3))
            self.position = nn.Parameter(position_scale * torch.randn(MAX_POSITIONS, D),
                                         requires_grad=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        n = x.shape[-2]
        x = x + x.pow(2).mean().sqrt() * self.position[:n].to(x.dtype)
        q, k, v = (p(x) for p in self.projections)
        return torch.softmax(q @ k.transpose(-1, -2) / D**0.5, dim=-1) @ v


symcheck.equivariant(**SIGNATURE)(TokenEncoder)
MODEL = TokenEncoder().eval()


@symcheck.equivariant(**SIGNATURE)
class PlantedTokenEncoder(TokenEncoder):
    def __init__(self) -> None:
        super().__init__(POSITION_SCALE)


@symcheck.equivariant(**SIGNATURE)
def encode(input_ids: torch.Tensor) -> torch.Tensor:
    return MODEL(input_ids)


PLANTED = PlantedTokenEncoder().eval()


@symcheck.equivariant(**SIGNATURE)
def encode_planted(input_ids: torch.Tensor) -> torch.Tensor:
    return PLANTED(input_ids)
