"""How fast does ``symcheck --help`` answer? Target: under 0.5 s wall.

Prints the median wall time of ``symcheck --help`` over several runs, against the baseline
``python -c pass`` (interpreter start-up) measured in the same run, and which heavy modules the
CLI imported for ``--help`` (numpy, scipy, rich's tables and torch must not be among them).
Also the refusal of ``tiny_huge.npz`` (a 3-entry COO ``.npz`` declaring 10⁸ × 10⁸): exit 2,
median wall and the largest peak RSS of the child (target: under 1 s and 200 MB).

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "torch", "jax", "rich.table", "symcheck.engine")


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def refusal(runs: int) -> tuple[float, float, int]:
    """Median wall (s), largest peak RSS (MiB) and the exit code of the tiny_huge refusal."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny_huge.npz"
        np.savez(path, format=np.array("coo"), shape=np.array([10**8, 10**8]),
                 row=np.arange(3), col=np.arange(3), data=np.ones(3))
        times, peaks, codes = [], [], set()
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "symcheck", "sparse-approx", str(path),
                                     "--precision", "0.1"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            times.append(time.perf_counter() - start)
            peaks.append(usage.ru_maxrss / 1024)
            codes.add(os.waitstatus_to_exitcode(status))
    return statistics.median(times), max(peaks), codes.pop() if len(codes) == 1 else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = wall([sys.executable, "-c", "pass"], args.runs)
    cli = wall([sys.executable, "-m", "symcheck", "--help"], args.runs)
    sub = wall([sys.executable, "-m", "symcheck", "equivariance", "--help"], args.runs)
    probe = (
        "import sys; from symcheck.cli import app, main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip().splitlines()[-1].removeprefix("HEAVY:")
    print(f"python -c pass (baseline)      {base * 1e3:7.1f} ms")
    print(f"symcheck --help                {cli * 1e3:7.1f} ms  ({cli / base:.1f}x baseline)")
    print(f"symcheck equivariance --help   {sub * 1e3:7.1f} ms  ({sub / base:.1f}x baseline)")
    print(f"heavy modules imported by --help: {loaded or 'none'}")
    ok = max(cli, sub) < 0.5 and not loaded
    print(f"target < 500 ms and no heavy import: {'met' if ok else 'NOT met'}")
    secs, peak, code = refusal(args.runs)
    refused = code == 2 and secs < 1.0 and peak < 200
    print(f"sparse-approx tiny_huge.npz    {secs * 1e3:7.1f} ms  ({secs / base:.1f}x baseline), "
          f"peak {peak:.0f} MiB, exit {code}: target exit 2, < 1 s, < 200 MB "
          f"{'met' if refused else 'NOT met'}")
    sys.exit(0 if ok and refused else 1)


if __name__ == "__main__":
    main()
