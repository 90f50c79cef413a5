"""symcheck against e3nn's own ``equivariance_error`` / ``assert_equivariant``, side by side.

The same two models, the same number of random group elements, in the same process:

- an e3nn ``FullyConnectedTensorProduct`` on ``1x0e+1x1o+1x2e`` (float64, a batch of 16),
  under O(3): symcheck ``--group 'O(c)'`` with irreps axes, e3nn with ``irreps_in/out``;
- an EGNN layer (egnn-pytorch, ``samples/geometric/egnn_layer.py``) on 2 clouds of 6 points
  with 8 invariant features, under E(3): symcheck ``--group 'E(c)'`` with point axes, e3nn with
  ``'cartesian_points'`` and ``8x0e``.

e3nn draws one element per trial and test: with parity, 2 per trial (rotation, rotation × −I),
with translations too, 4; ``ntrials`` is set so that e3nn draws the same number N of random
elements as symcheck's ``trials=N``. symcheck adds its structured probes (4 for O(3), 6 for
E(3)) and 3 identity cases on top, which are counted in its time. Each e3nn call runs under a
float64 default dtype: under a float32 default its D matrices are float32-accurate and the
tensor product "fails" at 1e-9 (3e-7, measured). Times are the median of ``--repeats`` runs
after a warm-up; imports are excluded.

    python benchmarks/bench_e3nn.py [--elements 20 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from e3nn import o3
from e3nn.util.test import equivariance_error

from symcheck.api import check_equivariance
from symcheck.core.irreps import _CACHE

IRREPS = "1x0e+1x1o+1x2e"
ROOT = Path(__file__).resolve().parent.parent


def float64(fn: Callable[[], Any]) -> Any:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return fn()
    finally:
        torch.set_default_dtype(previous)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    fn()  # warm-up (codegen, caches)
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def egnn_layer() -> Any:
    sys.path.insert(0, str(ROOT / "samples" / "geometric"))
    from egnn_layer import Layer

    return Layer().double().eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tp = float64(lambda: o3.FullyConnectedTensorProduct(IRREPS, IRREPS, IRREPS))
    x = float64(lambda: [o3.Irreps(IRREPS).randn(16, -1) for _ in range(2)])
    layer = egnn_layer()
    feats = torch.randn(2, 6, 8, dtype=torch.float64)
    coors = torch.randn(2, 6, 3, dtype=torch.float64)

    def e3nn_tp(n: int) -> Any:
        return float64(lambda: equivariance_error(
            tp, x, irreps_in=[IRREPS, IRREPS], irreps_out=[IRREPS], ntrials=n // 2))

    def e3nn_egnn(n: int) -> Any:
        with torch.no_grad():
            return float64(lambda: equivariance_error(
                layer, [feats, coors], irreps_in=["8x0e", "cartesian_points"],
                irreps_out=["8x0e", "cartesian_points"], ntrials=n // 4))

    spec = f"b c:irreps({IRREPS})"

    def ours_tp(n: int, batch: bool) -> Any:
        _CACHE.clear()  # D(Q) is memoised on Q: each repeat pays for its matrices
        return check_equivariance(tp, [spec, spec], spec, ["O(c)"], {"b": 16, "c": 3},
                                  trials=n, batch=batch)

    def ours_egnn(n: int, batch: bool) -> Any:
        return check_equivariance(layer, ["b n f", "b n c:point"], ["b n f", "b n c:point"],
                                  ["E(c)"], {"b": 2, "n": 6, "f": 8, "c": 3}, trials=n,
                                  batch=batch)

    print(f"torch {torch.__version__}, one thread; median of {args.repeats} runs")
    print(f"{'model':<22}{'N':>5}  {'e3nn':>9}  {'symcheck':>9}  {'(no batch)':>10}  "
          f"{'e3nn max abs err':>17}  {'symcheck max rel err':>21}")
    for name, theirs, ours in (("tensor product O(3)", e3nn_tp, ours_tp),
                               ("EGNN layer E(3)", e3nn_egnn, ours_egnn)):
        for n in args.elements:
            t_e3nn, errors = timed(lambda n=n, theirs=theirs: theirs(n), args.repeats)  # type: ignore[misc]
            t_ours, result = timed(lambda n=n, ours=ours: ours(n, True), args.repeats)  # type: ignore[misc]
            t_plain, _ = timed(lambda n=n, ours=ours: ours(n, False), args.repeats)  # type: ignore[misc]
            worst = max(float(v.max()) for v in errors.values())
            rel = max(g.measurement.stat(100) for g in result.groups)
            print(f"{name:<22}{n:>5}  {t_e3nn:>8.3f}s  {t_ours:>8.3f}s  {t_plain:>9.3f}s  "
                  f"{worst:>17.2e}  {rel:>21.2e}")


if __name__ == "__main__":
    main()
