"""Speed-up of running all cases through the model in one call (a declared batch axis 'b').

A small attention model with specs "b n d" is checked for O(d) × S(n) with 64 Haar trials,
once with every case stacked along b (two model calls per group set) and once with two model
calls per case (``batch=False``), in the same run. Target: ≥ 5× faster batched.

    python benchmarks/bench_batch.py [--trials 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from symcheck.api import check_equivariance


def attention(x: np.ndarray) -> np.ndarray:
    s = np.einsum("bid,bjd->bij", x, x) / np.sqrt(x.shape[-1])
    w = np.exp(s - s.max(-1, keepdims=True))
    return np.einsum("bij,bjd->bid", w / w.sum(-1, keepdims=True), x)


def torch_attention() -> object | None:
    """The same attention as a torch module (per-call framework overhead, as in practice)."""
    try:
        import torch
    except ImportError:
        return None

    class Attention(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = x @ x.transpose(-1, -2) / x.shape[-1] ** 0.5
            return torch.softmax(s, dim=-1) @ x

    return Attention()


def torch_mha() -> object | None:
    """``nn.MultiheadAttention`` (2 heads, batch-first) as self-attention: the stock layer."""
    try:
        import torch
    except ImportError:
        return None

    class SelfAttention(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.mha = torch.nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mha(x, x, x, need_weights=False)[0]

    return SelfAttention()


def timed(model: object, batch: bool, trials: int, repeats: int) -> float:
    # learned projections are not O(d)-equivariant: the stock layer is checked for S(n) only
    groups = ["S(n)"] if "MultiheadAttention" in repr(model) else ["O(d)", "S(n)"]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        check_equivariance(model, "b n d", "b n d", groups,  # type: ignore[arg-type]
                           {"b": 1, "n": 8, "d": 16}, trials=trials, seed=0, batch=batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.trials} trials, O(d) × S(n) (3 group sets), n=8, d=16, median of "
          f"{args.repeats}")
    models = [
        ("numpy function", attention),
        ("torch nn.Module (softmax(x xᵀ) x)", torch_attention()),
        ("torch nn.MultiheadAttention (S(n) only)", torch_mha()),
    ]
    for label, model in models:
        if model is None:
            print(f"{label}: skipped (torch is not installed)")
            continue
        timed(model, True, 4, 1)  # warm-up: imports, BLAS threads
        single = timed(model, False, args.trials, args.repeats)
        batched = timed(model, True, args.trials, args.repeats)
        ratio = single / batched
        print(f"{label}:")
        print(f"  one call per case (baseline)  {single * 1e3:8.1f} ms")
        print(f"  all cases in one call         {batched * 1e3:8.1f} ms")
        print(f"  speed-up                      {ratio:8.1f}x  (target >= 5x: "
              f"{'met' if ratio >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
