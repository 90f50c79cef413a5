"""A violation found only by a one-hot probe, checked in float16 and bfloat16.

``f(x) = ‖x‖·x + ½·exp(60·(cos θ − 1))·‖x‖²·e₂`` per token, where θ is the angle between the
token and the first axis: a bump along e₂ that only a token within a few degrees of e₁ sees.
Away from e₁ it is O(d)-equivariant (‖x‖·x is); at a one-hot token e₁ the bump is ½‖x‖², and
after a rotation it is gone, so the one-hot probe shows a relative error of about 0.17 at every
precision. Gaussian tokens in d = 16 never come near e₁. A probe's output here is as large as a
typical one: in float16 and bfloat16 a thousand round-off units of the dtype exceed the typical
output, and a check that called such a probe "vanishing" dropped it and passed. Expected:
exit 1 at every dtype.
"""

import torch

import symcheck


@symcheck.equivariant(inputs=["n d"], output="n d", groups=["O(d)"], sizes={"n": 8, "d": 16})
def bump(x: torch.Tensor) -> torch.Tensor:
    norm = x.norm(dim=-1, keepdim=True)
    cos = x[..., :1] / norm.clamp_min(1e-30)
    e2 = torch.zeros(x.shape[-1], dtype=x.dtype)
    e2[1] = 1
    return x * norm + 0.5 * torch.exp(60 * (cos - 1)) * norm * norm * e2
