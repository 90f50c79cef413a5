"""Softmax self-attention without weights, in torch, checked in float16 and bfloat16.

``softmax(x xᵀ / √d) x`` is O(d)- and S(n)-equivariant; its round-off at half precision is
large (bfloat16: 8 significant bits), and its probes' outputs are as large as typical ones, so
they are judged, not dropped as vanishing. Every probe must keep passing by the model's own
round-off. Expected: exit 0.
"""

import math

import torch

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)", "S(n)"],
                      sizes={"n": 6, "d": 8})
def attention(x: torch.Tensor) -> torch.Tensor:
    scores = x @ x.transpose(-1, -2) / math.sqrt(x.shape[-1])
    return torch.softmax(scores, dim=-1) @ x
