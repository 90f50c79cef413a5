"""Benchmarks of the d = 2k construction (``--method poly``, first in ``auto``); every ratio is
against a baseline measured in this run.

    python benchmarks/bench_poly.py d-table [--quick] [--ks 4,8] [--top-L N] [--jl-max-L N]
    python benchmarks/bench_poly.py auto-time --baseline-src DIR
    python benchmarks/bench_poly.py scale [--stretch]   # L = 65,536, k = 2 end to end
    python benchmarks/bench_poly.py throughput          # blocked metric vs square matmul
    python benchmarks/bench_poly.py warm-start          # fit below 2k: SVD vs 2k-solution start
    python benchmarks/bench_poly.py must-show [--seed N]  # fresh targets, CLI, re-verified

1. ``d-table``: random targets (k distinct columns per row, values in [0.5, 1.5], drawn from
   ``default_rng([k, L])``), ε = 0.1: d of ``auto``, of the fit alone (``--method opt``, today's
   ``auto`` for k ≥ 2) and of the paper's projection (``jl``: the d it needs, to 5 %, from the
   construction's exact law, one of 3 draws meeting the precision), for k = 1, 2, 3, 4, 8 and
   L = 64 … 65,536 where each runs in time (opt ≤ 2,048, jl ≤ 1,024; 60 s per search).
2. ``auto-time``: wall time of ``symcheck sparse-approx`` (default ``auto``) for k = 4, L = 1,024
   with this checkout against the same command run from ``--baseline-src`` (a copy of the code
   before the construction, e.g. ``git archive <main> | tar -x -C DIR``), 3 runs each
   alternating, medians and their ratio.
3. ``scale``: ``symcheck sparse-approx A.npz --precision 0.1 --save out.npz`` for L = 65,536,
   k = 2 (and k = 1) from a scipy-sparse ``.npz``, in a child process: wall time and peak RSS
   (the child's own ``wait4`` rusage), then the saved file re-verified with ``--verify``.
   ``--stretch`` adds L = 262,144.
4. ``throughput``: the blocked precision of the poly parameters at L = 16,384 (d = 4 and 8)
   with 1 and 2 threads against a compute-bound 2,048² float64 square matmul with 1 and 2 BLAS
   threads, in the same run; the metric is credited 2·L²·d FLOPs (the logits) and reported in
   logits per second as well (it is bound by memory traffic, not arithmetic).
5. ``warm-start``: one fit at d = 2k − 1 from the SVD of ``B`` against one from the 2k solution
   truncated to rank d (the SVD start), on the same targets.
6. ``must-show``: fresh random targets (k = 2 at L = 1,024; k = 4 at 256 and 1,024; k = 3 at
   2,048; k = 1 and 2 at 65,536) through the CLI with ``--save``, each saved file re-verified by
   an independent plain-numpy softmax (no symcheck code).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symcheck.sparse import Targets, approximate, target_from_array  # noqa: E402
from symcheck.sparse._blas import one_blas_thread  # noqa: E402
from symcheck.sparse.poly import construct  # noqa: E402
from symcheck.sparse.precision import measure_params  # noqa: E402
from symcheck.sparse.sweep import _jl_needed, _random_k  # noqa: E402

EPS = 0.1


def random_k(size: int, k: int) -> sp.csr_matrix:
    return _random_k(np.random.default_rng([k, size]), size, k)


def header() -> None:
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or ''} "
          f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"numpy {np.__version__}, python {platform.python_version()}")


def d_table(quick: bool, top_length: int, ks_text: str | None, jl_top: int) -> None:
    ks = tuple(int(k) for k in ks_text.split(",")) if ks_text else (
        (1, 2, 4) if quick else (1, 2, 3, 4, 8))
    top = 4096 if quick else top_length
    lengths = [64 * 2**i for i in range(20) if 64 * 2**i <= top]
    print("| k | L | auto d | auto s | opt d | opt s | jl d | 2k | auto ≤ 2k | auto < 2k |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in ks:
        for size in lengths:
            target = target_from_array(random_k(size, k))
            t0 = time.perf_counter()
            auto = approximate(target, precision=EPS, time_limit=60)
            t_auto = time.perf_counter() - t0
            d_auto = None if auto.best is None else auto.best.d
            d_opt: int | str | None = "-"
            t_opt = "-"
            if size <= 2048 and k > 1:  # k = 1: today's auto is the circle, no fit
                t0 = time.perf_counter()
                fit = approximate(target, precision=EPS, method="opt", time_limit=60)
                t_opt = f"{time.perf_counter() - t0:.1f}"
                d_opt = None if fit.best is None else fit.best.d
            d_jl: int | str | None = "-"
            if size <= jl_top:
                d_jl, _ = _jl_needed(target, Targets(EPS, EPS), 0, 3)
            ok = d_auto is not None and d_auto <= 2 * k
            below = d_auto is not None and d_auto < 2 * k
            print(f"| {k} | {size} | {d_auto} | {t_auto:.1f} | {d_opt} | {t_opt} | {d_jl} | "
                  f"{2 * k} | {'yes' if ok else 'NO'} | {'yes' if below else ''} |", flush=True)


def _cli(args: list[str], src: Path | None = None) -> tuple[float, int, str, float]:
    """Wall seconds, exit code, output and peak RSS (MiB) of ``python -m symcheck`` from
    ``src`` (or this checkout); the RSS is this child's own, from ``wait4``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src or ROOT)
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "symcheck", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=str(src or ROOT))
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        text = log.read()
    return secs, proc.returncode, text, usage.ru_maxrss / 1024


def auto_time(baseline_src: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.npz"
        sp.save_npz(path, random_k(1024, 4), compressed=False)
        new, old = [], []
        d_new = d_old = None
        for _ in range(3):
            for src, times in ((None, new), (baseline_src, old)):
                out = Path(tmp) / "r.json"
                secs, code, _, _ = _cli(["sparse-approx", str(path), "--precision", "0.1",
                                         "--json", str(out)], src)
                best = json.loads(out.read_text())["best"]
                if src is None:
                    d_new = best["d"]
                else:
                    d_old = best["d"]
                times.append(secs)
                print(f"{'new' if src is None else 'old'}: {secs:.2f} s exit {code} d={best['d']}",
                      flush=True)
        m_new, m_old = statistics.median(new), statistics.median(old)
        print(f"auto, k = 4, L = 1024: this checkout d = {d_new}, median {m_new:.2f} s; "
              f"baseline d = {d_old}, median {m_old:.2f} s; speed-up {m_old / m_new:.1f}x")


def scale(stretch: bool) -> None:
    cases = [(65536, 2), (65536, 1)] + ([(262144, 2)] if stretch else [])
    with tempfile.TemporaryDirectory() as tmp:
        for size, k in cases:
            path = Path(tmp) / f"a{size}_{k}.npz"
            sp.save_npz(path, random_k(size, k), compressed=False)
            out = Path(tmp) / "out.npz"
            js = Path(tmp) / "r.json"
            secs, code, _, peak = _cli(["sparse-approx", str(path), "--precision", "0.1",
                                        "--save", str(out), "--json", str(js)])
            r = json.loads(js.read_text())
            best = r["best"]
            m = next(x for x in r["methods"] if x["method"] == best["method"])
            v_secs, v_code, _, v_peak = _cli(["sparse-approx", str(path), "--precision", "0.1",
                                              "--verify", str(out)])
            print(f"L = {size}, k = {k}: exit {code}, d = {best['d']} ({best['method']}), "
                  f"ε₁ = {m['precision']['eps1']:.3g}, ε₂ = {m['precision']['eps2']:.3g}, "
                  f"largest λ = {m['details'].get('max_lambda', '-')}, {secs:.1f} s end to end, "
                  f"peak RSS {peak:.0f} MiB; --verify exit {v_code} in {v_secs:.1f} s, "
                  f"peak RSS {v_peak:.0f} MiB", flush=True)


def _best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def throughput() -> None:
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n))
    b = np.random.default_rng(1).standard_normal((n, n))
    with one_blas_thread():
        mm1 = 2 * n**3 / _best(lambda: a @ b)
    mm2 = 2 * n**3 / _best(lambda: a @ b)
    print(f"square matmul {n}² float64: 1 thread {mm1 / 1e9:.1f} GFLOP/s, default threads "
          f"{mm2 / 1e9:.1f} GFLOP/s")
    size = 16384
    for k in (2, 4):
        target = target_from_array(random_k(size, k))
        params = construct(target, EPS).params()
        d = 2 * k
        flops = 2 * size**2 * d
        for workers, ref in ((1, mm1), (2, mm2)):
            secs = _best(lambda w=workers, t=target, p=params: measure_params(t, *p, workers=w))
            print(f"metric L = {size}, d = {d}, {workers} thread(s): {secs:.2f} s, "
                  f"{size**2 / secs / 1e9:.2f} G logits/s, {flops / secs / 1e9:.1f} GFLOP/s = "
                  f"{flops / secs / ref:.2f}x the square matmul at the same thread count",
                  flush=True)


def warm_start() -> None:
    """One fit at d = 2k − 1 (300 steps, seed 0, no perturbation) from the SVD of B against
    one from the 2k solution truncated to rank d: met, evaluations, loss after 0/10/30/60/end."""
    from symcheck.sparse import opt
    from symcheck.sparse.api import _truncate

    targets = Targets(EPS, EPS)
    print("| k | L | d | start | met | evaluations | seconds | loss at 0 / 10 / 30 / 60 / end |")
    print("|---|---|---|---|---|---|---|---|")
    for k, size in ((2, 64), (3, 64), (4, 64), (8, 64), (4, 256), (8, 256), (4, 1024)):
        target = target_from_array(random_k(size, k))
        d = 2 * k - 1
        sol = construct(target, EPS)
        starts = (("SVD of B", opt.WarmStart(target, targets).factors(d)),
                  ("2k solution", _truncate(sol.queries, sol.keys, d)))
        for name, start in starts:
            t0 = time.perf_counter()
            res = opt.fit(target, targets, d, 0, perturb=0.0, start=start)
            h = res.history
            losses = " / ".join(f"{h[i]:.3g}" for i in (0, 10, 30, 60) if i < len(h))
            print(f"| {k} | {size} | {d} | {name} | {res.passed} | {res.evaluations} | "
                  f"{time.perf_counter() - t0:.1f} | {losses} / {h[-1]:.3g} |", flush=True)


def reverify(matrix: Path, params: Path) -> tuple[float, float, int]:
    """Independent plain-numpy check of a saved claim: ``M = softmax((X W_Q)(X W_K)ᵀ)`` in row
    blocks from the raw ``.npz`` arrays (no symcheck code), then ε₁ and ε₂ read off ``M``."""
    with np.load(matrix, allow_pickle=False) as f:
        size = int(f["shape"][0])
        indptr, indices, data = f["indptr"], f["indices"], f["data"]
    with np.load(params, allow_pickle=False) as p:
        q = p["X"] @ p["W_Q"]
        k = p["X"] @ p["W_K"]
        d = int(p["W_Q"].shape[1])
    eps1 = eps2 = 0.0
    step = 256
    for start in range(0, size, step):
        stop = min(size, start + step)
        z = q[start:stop] @ k.T
        z -= z.max(axis=1, keepdims=True)
        m = np.exp(z)
        m /= m.sum(axis=1, keepdims=True)
        lo, hi = indptr[start], indptr[stop]
        rows = np.repeat(np.arange(stop - start), np.diff(indptr[start : stop + 1]))
        cols = indices[lo:hi]
        on = m[rows, cols]
        dev = np.log(on) - np.log(data[lo:hi])
        seg = indptr[start:stop] - lo
        eps1 = max(eps1, float((np.maximum.reduceat(dev, seg)
                                - np.minimum.reduceat(dev, seg)).max()))
        smallest = np.minimum.reduceat(on, seg)
        m[rows, cols] = 0.0
        eps2 = max(eps2, float((m.max(axis=1) / smallest).max()))
    return eps1, eps2, d


def must_show(seed: int) -> None:
    """``symcheck sparse-approx A --precision 0.1 --save out.npz`` on fresh random targets
    (values in [0.5, 1.5], drawn from ``default_rng([seed, k, L])``), then :func:`reverify`."""
    cases = ((2, 1024), (4, 256), (4, 1024), (3, 2048), (1, 65536), (2, 65536))
    with tempfile.TemporaryDirectory() as tmp:
        for k, size in cases:
            path = Path(tmp) / "a.npz"
            matrix = _random_k(np.random.default_rng([seed, k, size]), size, k)
            sp.save_npz(path, matrix, compressed=False)
            out = Path(tmp) / "out.npz"
            out.unlink(missing_ok=True)
            secs, code, _, peak = _cli(["sparse-approx", str(path), "--precision", "0.1",
                                        "--save", str(out)])
            if code != 0:
                print(f"k = {k}, L = {size}: exit {code} in {secs:.1f} s", flush=True)
                continue
            eps1, eps2, d = reverify(path, out)
            ok = eps1 <= EPS and eps2 <= EPS and d <= 2 * k
            print(f"k = {k}, L = {size}: exit {code}, d = {d} (2k = {2 * k}), {secs:.1f} s, "
                  f"peak {peak:.0f} MiB; independent re-verification ε₁ = {eps1:.3g}, "
                  f"ε₂ = {eps2:.3g}: {'ok' if ok else 'FAILED'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("d-table", "auto-time", "scale", "throughput",
                                         "warm-start", "must-show"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stretch", action="store_true")
    parser.add_argument("--baseline-src", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--top-L", type=int, default=65536, help="d-table: longest L")
    parser.add_argument("--ks", help="d-table: comma-separated k (default 1,2,3,4,8)")
    parser.add_argument("--jl-max-L", type=int, default=1024, help="d-table: longest L for jl")
    args = parser.parse_args()
    header()
    if args.what == "d-table":
        d_table(args.quick, args.top_L, args.ks, args.jl_max_L)
    elif args.what == "auto-time":
        if args.baseline_src is None:
            parser.error("auto-time needs --baseline-src")
        auto_time(args.baseline_src)
    elif args.what == "scale":
        scale(args.stretch)
    elif args.what == "warm-start":
        warm_start()
    elif args.what == "must-show":
        must_show(args.seed)
    else:
        throughput()


if __name__ == "__main__":
    main()
