"""Cost of trustworthy verdicts, and whether verdicts flip with the seed.

(a) **Probes and calibration.** The default check of each README sample (Haar draws, input and
    size probes, calibrated tolerance) against the same check without them (``--no-probes``,
    when the CLI has it) and, with ``--baseline PATH``, against the check of another source tree
    (e.g. a worktree of main before the probes) timed in the same run. Target: ≤ 1.5×. The
    configurations are interleaved repeat by repeat, so a noisy machine slows them alike; the
    table shows medians and same-run ratios.
(b) **Seed flips.** Models whose error sits far from the tolerance (float32 ones, the
    near-duplicate merge and its ill-conditioned control, a force field whose small output is
    judged on its own scale, the zoo's declaration models: positions as values, R(n),
    reverse-complement, D(n), ``*args``, and the models judged at their own precision), each
    checked on ``--seeds`` seeds (default 200) with default options; the table counts exit
    codes and flips (seeds whose exit code differs from the majority's). Expected: no flips.

Everything but the baseline tree runs in this process through the CLI's entry point (no
interpreter start-up in the timings); the baseline runs in a worker subprocess that imports
symcheck from PATH and times the same calls. Torch runs with ``--threads`` threads (default 1:
on a busy two-core machine torch's spinning thread pool makes a d = 256 layer call 50× slower).

    python benchmarks/bench_verdicts.py                         # (a) and (b), a few minutes
    python benchmarks/bench_verdicts.py --part cost --repeats 9
    python benchmarks/bench_verdicts.py --part flips --seeds 50
    python benchmarks/bench_verdicts.py --baseline ../main-before-probes
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ["attention.py", "learned_attention.py", "positional.py", "pooling.py", "chiral.py"]
ZOO = ROOT / "tests" / "models" / "verdicts"

#: (label, target, options, expected exit code) of the seed-flip models
FLIP_MODELS: list[tuple[str, str, list[str], int]] = [
    ("softmax attention, float32", str(ZOO / "control_attention.py"),
     ["--dtype", "float32"], 0),
    ("float32-internal softmax, float64 check", str(ZOO / "precision_softmax32.py"), [], 0),
    ("encoder layer d=256 n=64, float32", f"{ZOO / 'torch_encoder.py'}:EncoderLayer",
     ["--dtype", "float32"], 0),
    ("encoder + 4.3e-5 position, float32", f"{ZOO / 'torch_encoder.py'}:PositionEncoderLayer",
     ["--dtype", "float32"], 1),
    # declarations: positions as values, reversals, reverse-complement, dihedral, *args
    ("kNN positions, n k:index(n)", f"{ZOO / 'declare_knn.py'}:knn", [], 0),
    ("kNN positions as plain values", f"{ZOO / 'declare_knn.py'}:knn_plain", [], 1),
    ("reverse-complement conv, R(n)", f"{ZOO / 'declare_reverse_complement.py'}:rc_conv", [], 0),
    ("plain conv, R(n) with complement",
     f"{ZOO / 'declare_reverse_complement.py'}:plain_conv", [], 1),
    ("two-sided mix, R(n)", f"{ZOO / 'declare_reversal.py'}:two_sided", [], 0),
    ("causal running mean, R(n)", f"{ZOO / 'declare_reversal.py'}:causal", [], 1),
    ("circular conv symmetric, D(n)", f"{ZOO / 'declare_reversal.py'}:circular_symmetric", [], 0),
    ("circular conv asymmetric, D(n)", f"{ZOO / 'declare_reversal.py'}:circular_asymmetric",
     [], 1),
    ("(*args, **kwargs) wrapper, --inputs", f"{ZOO / 'declare_args.py'}:wrapped",
     ["--inputs", str(ZOO / "declare_args_inputs.npz")], 0),
    # judged at the model's own precision (float32 weights, outputs, e3nn constants)
    ("float32 weights, float64 check", f"{ZOO / 'precision_float32_module.py'}:Float32Attention",
     [], 0),
    ("float32 weights + position ~100 rho, float64",
     f"{ZOO / 'precision_float32_module.py'}:PlantedFloat32Attention", [], 1),
    ("float32 token-id encoder (module)", f"{ZOO / 'precision_token_ids.py'}:TokenEncoder",
     ["--inputs", str(ZOO / "token_ids.npz")], 0),
    ("float32 token-id encoder (function)", f"{ZOO / 'precision_token_ids.py'}:encode",
     ["--inputs", str(ZOO / "token_ids.npz")], 0),
    ("token-id encoder + position ~100 rho",
     f"{ZOO / 'precision_token_ids.py'}:PlantedTokenEncoder",
     ["--inputs", str(ZOO / "token_ids.npz")], 1),
    ("DistilBERT (float32) fed token ids", f"{ZOO / 'precision_distilbert.py'}:model",
     ["--inputs", str(ZOO / "token_ids.npz")], 0),
    ("DistilBERT + position ~100 rho", f"{ZOO / 'precision_distilbert.py'}:planted",
     ["--inputs", str(ZOO / "token_ids.npz")], 1),
    ("e3nn built in float32, float64 check", f"{ZOO / 'precision_e3nn.py'}:tensor_product",
     [], 0),
    ("e3nn built in float32 + 3e-6 shift", f"{ZOO / 'precision_e3nn.py'}:planted", [], 1),
    ("float64 twin cannot run, float32", f"{ZOO / 'precision_twin.py'}:LearnedTemperature",
     ["--dtype", "float32"], 0),
    ("near-duplicate merge at 1e-3, float64", f"{ZOO / 'planted_near_dedup.py'}:near_dedup_1e3",
     [], 1),
    ("near-duplicate merge at 1e-6, float64", f"{ZOO / 'planted_near_dedup.py'}:near_dedup_1e6",
     [], 1),
    ("near-duplicate merge at 1e-3, float32", f"{ZOO / 'planted_near_dedup.py'}:near_dedup_1e3",
     ["--dtype", "float32"], 1),
    ("directions (cancels at near-equal tokens)", str(ZOO / "control_directions.py"), [], 0),
    ("force field, energy 1e4 + forces 1", f"{ZOO / 'planted_force_field.py'}:force_field",
     [], 0),
    ("force field + 1e-6 field on the forces",
     f"{ZOO / 'planted_force_field.py'}:planted_force_field", [], 1),
]


def set_threads(threads: int) -> None:
    """Torch's thread count, when torch is installed (imported here in every process alike)."""
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)


def cli(args: Sequence[str]) -> int:
    """``symcheck ARGS`` in this process, output discarded; the exit code."""
    from symcheck.cli import main

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            main(list(args))
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return 0


def has_option(option: str) -> bool:
    from symcheck.cli import main

    sink = io.StringIO()
    with (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink),
          contextlib.suppress(SystemExit)):
        main(["equivariance", "--help"])
    return option in sink.getvalue()


def time_samples(samples_dir: Path, options: Sequence[str]) -> dict[str, tuple[float, int]]:
    """Seconds and exit code of one default check of each sample (symcheck as imported)."""
    out = {}
    for name in SAMPLES:
        start = time.perf_counter()
        code = cli(["equivariance", str(samples_dir / name), "--seed", "0", *options])
        out[name] = (time.perf_counter() - start, code)
    return out


def worker(src: str, samples_dir: str, options: list[str], threads: int) -> None:
    """Subprocess body: import symcheck from ``src``, time the samples (after one untimed
    pass), print JSON."""
    sys.path.insert(0, src)
    set_threads(threads)  # the same process set-up as the parent's
    import symcheck

    where = Path(symcheck.__file__).resolve()
    if not where.is_relative_to(Path(src).resolve()):
        raise SystemExit(f"symcheck was imported from {where}, not from {src}")
    time_samples(Path(samples_dir), options)
    print(json.dumps(time_samples(Path(samples_dir), options)))


def tree_run(src: Path, options: Sequence[str], threads: int) -> dict[str, tuple[float, int]]:
    """The samples timed by a worker subprocess running the symcheck of source tree ``src``."""
    cmd = [sys.executable, __file__, "--worker", str(src), "--worker-samples",
           str(ROOT / "samples"), "--worker-options", json.dumps(list(options)),
           "--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker for {src} failed:\n{done.stderr.strip()}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: (float(v[0]), int(v[1])) for k, v in raw.items()}


#: a configuration: the source tree (None: this process) and the options
Config = tuple[Path | None, list[str]]


def part_cost(repeats: int, baseline: Path | None, threads: int) -> None:
    configs: dict[str, Config] = {"default (probes, calibration)": (None, [])}
    comparisons: list[tuple[str, str]] = []
    if has_option("--no-probes"):
        configs["--no-probes"] = (None, ["--no-probes"])
        comparisons.append(("default (probes, calibration)", "--no-probes"))
    else:
        print("note: this CLI has no --no-probes option; only a --baseline tree can be compared")
    if baseline is not None:
        # both trees in worker subprocesses set up alike: like is compared with like
        configs["this tree, subprocess"] = (ROOT, [])
        configs["baseline tree, subprocess"] = (baseline.resolve(), [])
        comparisons.append(("this tree, subprocess", "baseline tree, subprocess"))
    if not comparisons:
        print("nothing to compare against: pass --baseline PATH (a tree without the probes)\n")
    samples = ROOT / "samples"
    times: dict[str, dict[str, list[float]]] = {c: {s: [] for s in SAMPLES} for c in configs}
    codes: dict[str, dict[str, int]] = {c: {} for c in configs}
    for r in range(repeats + 1):  # round 0 warms up (imports, BLAS, caches) and is dropped
        for label, (src, options) in configs.items():
            run = time_samples(samples, options) if src is None else tree_run(src, options,
                                                                              threads)
            for name, (seconds, code) in run.items():
                codes[label][name] = code
                if r:
                    times[label][name].append(seconds)
    print(f"(a) cost of a default check of each README sample: median of {repeats} runs, "
          "configurations interleaved; exit codes in brackets")
    print(f"{'sample':22}" + "".join(f"{label[:30]:>32}" for label in configs)
          + "".join(f"{'ratio ' + str(i + 1):>10}" for i in range(len(comparisons))))
    medians = {c: {s: statistics.median(v) for s, v in times[c].items()} for c in configs}
    for name in [*SAMPLES, "all five"]:
        if name == "all five":
            row = {c: sum(medians[c].values()) for c in configs}
            cells = [f"{row[c] * 1e3:9.1f} ms    " for c in configs]
        else:
            row = {c: medians[c][name] for c in configs}
            cells = [f"{row[c] * 1e3:9.1f} ms [{codes[c][name]}]" for c in configs]
        ratios = [f"{row[a] / row[b]:9.2f}x" for a, b in comparisons]
        print(f"{name:22}" + "".join(f"{c:>32}" for c in cells) + "".join(ratios))
    for i, (a, b) in enumerate(comparisons):
        total_a, total_b = sum(medians[a].values()), sum(medians[b].values())
        ratio = total_a / total_b
        print(f"ratio {i + 1}: {a} / {b} = {ratio:.2f}x over all five "
              f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    print()


def worst_ratio(report: dict[str, Any]) -> float | None:
    """The largest max-error / tolerance over the groups of a JSON report (None if absent)."""
    ratios = []
    for g in report.get("groups", []):
        error, tolerance = g.get("max"), g.get("tolerance") or report.get("tolerance")
        if isinstance(error, int | float) and isinstance(tolerance, int | float) and tolerance:
            ratios.append(float(error) / float(tolerance))
    return max(ratios) if ratios else None


def part_flips(seeds: int) -> None:
    import importlib.util

    print(f"(b) seed flips: each model checked on seeds 0..{seeds - 1} with default options")
    print(f"{'model':42} {'expect':>6} {'exit codes':>22} {'flips':>6} "
          f"{'max err / tol (min..median..max)':>34} {'s/check':>8}")
    has_torch = importlib.util.find_spec("torch") is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        for label, target, options, expect in FLIP_MODELS:
            if "torch" in target and not has_torch:
                print(f"{label:42} skipped (torch is not installed)")
                continue
            counts: Counter[int] = Counter()
            ratios = []
            start = time.perf_counter()
            for seed in range(seeds):
                code = cli(["equivariance", target, "--seed", str(seed), *options,
                            "--json", str(out)])
                counts[code] += 1
                if out.exists():
                    ratio = worst_ratio(json.loads(out.read_text()))
                    if ratio is not None:
                        ratios.append(ratio)
                    out.unlink()
            per_check = (time.perf_counter() - start) / seeds
            majority = counts.most_common(1)[0][0]
            flips = seeds - counts[majority]
            spread = (f"{min(ratios):.2g}..{statistics.median(ratios):.2g}..{max(ratios):.2g}"
                      if ratios else "n/a")
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            note = "" if majority == expect else f"  (majority exit {majority} != expected)"
            print(f"{label:42} {expect:>6} {shown:>22} {flips:>6} {spread:>34} "
                  f"{per_check:8.2f}{note}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["cost", "flips", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5, help="(a) timed runs per config")
    parser.add_argument("--seeds", type=int, default=200, help="(b) seeds per model")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="(a) another source tree to time in the same run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-samples", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-options", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.worker_samples, json.loads(args.worker_options), args.threads)
        return
    set_threads(args.threads)
    import numpy

    print(f"symcheck from {ROOT}; python {sys.version.split()[0]}, numpy {numpy.__version__}, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    if args.part in ("cost", "all"):
        part_cost(args.repeats, args.baseline, args.threads)
    if args.part in ("flips", "all"):
        part_flips(args.seeds)


if __name__ == "__main__":
    main()
