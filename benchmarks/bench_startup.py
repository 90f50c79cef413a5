"""How fast does ``symcheck --help`` answer? Target: under 0.5 s wall.

Prints the median wall time of ``symcheck --help`` over several runs, against the baseline
``python -c pass`` (interpreter start-up) measured in the same run, and which heavy modules the
CLI imported for ``--help`` (numpy, scipy, rich's tables and torch must not be among them).

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "scipy", "torch", "jax", "rich.table", "symcheck.engine")


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
