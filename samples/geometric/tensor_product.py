"""An e3nn tensor product on irreps ``1x0e+1x1o+1x2e``, checked in e3nn's own conventions.

Each axis ``c:irreps(…)`` holds 9 numbers in e3nn's basis; O(c) acts on it through e3nn's
``D_from_matrix`` (parity included), while the label ``c`` stays 3. The module is built with
torch's default dtype set to float64: e3nn computes its coupling coefficients in the default
dtype when it is built, and a float32 build carries ~1e-7 errors into a float64 check. Declaring
the output ``1x0e+1x1e+1x2e`` (the vector part even) fails: the reflections expose the parity.
Needs ``pip install 'symcheck[e3nn]'``.

    symcheck equivariance samples/geometric/tensor_product.py                      # exit 0
    symcheck equivariance samples/geometric/tensor_product.py \\
        --out 'b c:irreps(1x0e+1x1e+1x2e)'                                          # exit 1
"""

import torch
from e3nn import o3
from torch import nn

import symcheck

IRREPS = "1x0e+1x1o+1x2e"
SPEC = f"b c:irreps({IRREPS})"



@symcheck.equivariant(inputs=[SPEC, SPEC], output=SPEC, groups=["O(c)"], sizes={"b": 4, "c": 3})
class TensorProduct(nn.Module):
    """``o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS)``, built in float64."""

    def __init__(self) -> None:
        super().__init__()
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with torch.random.fork_rng():  # e3nn draws its weights from torch's generator
                torch.manual_seed(0)
                self.tp = o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS)
        finally:
            torch.set_default_dtype(previous)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.tp(x, y)
