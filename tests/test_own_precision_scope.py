"""The model's own precision counts only what its rounding can explain: a float32-rounded
constant that the symmetry does not depend on (a temperature) does not loosen the tolerance of
an otherwise float64 model, while float32-rounded coupling constants (e3nn) do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

MODEL = '''
import torch
import symcheck

class Mix(torch.nn.Module):
    def __init__(self, scalar_from_float32, plant):
        super().__init__()
        torch.manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(4, 4, dtype=torch.float64))
        s = torch.tensor([0.1]) if scalar_from_float32 else torch.tensor([0.1], dtype=torch.float64)
        self.s = torch.nn.Parameter(s.double())
        self.plant = plant

    def forward(self, x):
        h = torch.softmax(self.s * (x @ self.w) @ x.T, dim=-1) @ x
        return h + self.plant * torch.arange(h.shape[0], dtype=h.dtype)[:, None] * h.abs().mean()

_spec = dict(inputs=["n d"], output="n d", groups=["S(n)"], sizes={"n": 6, "d": 4})
with_scalar = symcheck.equivariant(**_spec)(Mix(True, 5e-8))
without_scalar = symcheck.equivariant(**_spec)(Mix(False, 5e-8))
clean = symcheck.equivariant(**_spec)(Mix(True, 0.0))
'''


def test_a_float32_temperature_does_not_loosen_the_tolerance(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(MODEL)
    for name in ("with_scalar", "without_scalar"):
        r = cli("equivariance", f"{tmp_path / 'm.py'}:{name}")
        assert r.exit_code == 1, (name, r.output)
    r = cli("equivariance", f"{tmp_path / 'm.py'}:with_scalar")
    assert "judged at the float64 floor" in " ".join(r.output.split())
    assert cli("equivariance", f"{tmp_path / 'm.py'}:clean").exit_code == 0
