"""``symcheck sparse-approx MATRIX``: the smallest attention hidden size reproducing a matrix."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from symcheck.cli.common import DEBUG_HELP, EXIT_OK, JSON_HELP, run

HELP = (
    "Find how small the hidden size d of softmax(X W_Q W_Kᵀ Xᵀ) can be and still reproduce "
    "the sparse matrix MATRIX (.npy, scipy-sparse .npz or .mtx) to the precision.\n\n"
    "d is the column count of W_Q (rank of W_Q W_Kᵀ); X has width 2d. Every reported number "
    "is measured on softmax recomputed from the returned X, W_Q, W_K.\n\n"
    "Exit 0: some d ≤ --max-d meets the precision (with --verify: the saved claim holds); "
    "1: none does; 2: bad input."
)


def register(app: typer.Typer) -> None:
    app.command("sparse-approx", help=HELP)(sparse_approx)


def _positive(name: str, value: float | None, upper: float | None = None) -> None:
    from symcheck.errors import SymcheckError

    if value is None:
        return
    if not math.isfinite(value) or value <= 0 or (upper is not None and value >= upper):
        bound = f"in (0, {upper:g})" if upper is not None else "a finite number > 0"
        raise SymcheckError(f"{name}: {value!r} must be {bound}")


def sparse_approx(
    matrix: Annotated[str, typer.Argument(metavar="MATRIX", help="Target matrix A (L × L).")],
    precision: Annotated[
        float, typer.Option(help="Sets both ε₁ (ratio error) and ε₂ (leakage).")
    ] = 0.1,
    ratio_precision: Annotated[
        float | None, typer.Option(help="ε₁: max |log(M_ij/M_ij') − log(A_ij/A_ij')|.")
    ] = None,
    leak_precision: Annotated[
        float | None, typer.Option(help="ε₂: max M_ik / M_ij for A_ik = 0 < A_ij; in (0, 1).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="auto (exact constructions, then opt), opt, or jl (the paper's).")
    ] = "auto",
    max_d: Annotated[
        int | None, typer.Option(help="Largest d to try (default: L; 2^20 for jl).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Base seed; seeds SEED, SEED+1, … are used per d.")] = 0,
    seeds: Annotated[int, typer.Option(help="Seeds (restarts) tried per d.")] = 3,
    time_limit: Annotated[
        float, typer.Option(help="Stop the search after this many seconds (best so far kept).")
    ] = 120.0,
    save: Annotated[
        str | None, typer.Option(metavar="OUT.npz", help="Save X, W_Q, W_K and metadata.")
    ] = None,
    verify: Annotated[
        str | None,
        typer.Option(metavar="PARAMS.npz", help="Recompute and check a saved claim instead."),
    ] = None,
    json_path: Annotated[str | None, typer.Option("--json", metavar="PATH", help=JSON_HELP)] = None,
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
) -> None:
    def body() -> int:
        from symcheck.errors import SymcheckError

        _positive("--precision", precision, 1.0)
        _positive("--ratio-precision", ratio_precision)
        _positive("--leak-precision", leak_precision, 1.0)
        _positive("--time-limit", time_limit)
        if method not in ("auto", "opt", "jl"):
            raise SymcheckError(f"--method: {method!r} is not one of auto, opt, jl")
        if max_d is not None and max_d < 1:
            raise SymcheckError(f"--max-d: {max_d} must be at least 1")
        if seeds < 1:
            raise SymcheckError(f"--seeds: {seeds} must be at least 1")
        if verify is not None and save is not None:
            raise SymcheckError("--save: cannot be combined with --verify (nothing is computed)")
        if save is not None and not save.endswith(".npz"):
            raise SymcheckError(f"--save: {save!r} must end in .npz")
        if verify is not None:
            return _verify(matrix, verify, precision, ratio_precision, leak_precision, json_path)
        return _approx(
            matrix, precision, ratio_precision, leak_precision, method, max_d, seed, seeds,
            time_limit, save, json_path,
        )

    run(body, debug)


def _verify(
    matrix: str,
    params: str,
    precision: float,
    ratio_precision: float | None,
    leak_precision: float | None,
    json_path: str | None,
) -> int:
    from symcheck.io import write_json
    from symcheck.report.sparse import render_verify
    from symcheck.sparse import verify

    result = verify(
        matrix,
        params,
        precision=precision,
        ratio_precision=ratio_precision,
        leak_precision=leak_precision,
    )
    if json_path is not None:
        write_json(json_path, result.as_dict())
    render_verify(result, to_stderr=json_path == "-")
    return result.exit_code


def _approx(
    matrix: str,
    precision: float,
    ratio_precision: float | None,
    leak_precision: float | None,
    method: str,
    max_d: int | None,
    seed: int,
    seeds: int,
    time_limit: float,
    save: str | None,
    json_path: str | None,
) -> int:
    from pathlib import Path

    from symcheck.errors import SymcheckError
    from symcheck.io import write_json
    from symcheck.report.sparse import render_approx, search_progress
    from symcheck.sparse import approximate, save_params

    if save is not None and not Path(save).resolve().parent.is_dir():
        raise SymcheckError(f"--save: directory of {save!r} does not exist")
    with search_progress() as progress:
        result = approximate(
            matrix,
            precision=precision,
            ratio_precision=ratio_precision,
            leak_precision=leak_precision,
            method=method,
            max_d=max_d,
            seed=seed,
            seeds_per_d=seeds,
            time_limit=time_limit,
            progress=progress,
        )
    best = result.best
    if save is not None and best is not None:
        if best.params is None:
            raise SymcheckError(
                f"--save: the {best.method} solution at d={best.d} is too large to store as "
                "arrays; use --method opt or auto"
            )
        assert best.precision is not None  # params were measured when they were made
        meta = {
            "matrix": result.source,
            "L": result.size,
            "d": best.d,
            "method": best.method,
            "seed": result.seed,
            "eps1": best.precision.eps1,
            "eps2": best.precision.eps2,
            "target_eps1": result.targets.eps1,
            "target_eps2": result.targets.eps2,
            "layout": "logits = (X @ W_Q) @ (X @ W_K).T; d = W_Q.shape[1]",
        }
        save_params(save, best.params, meta)
    if json_path is not None:
        write_json(json_path, result.as_dict())
    render_approx(result, to_stderr=json_path == "-")
    if save is not None and best is None:
        from symcheck.report import make_console

        make_console(stderr=True).print(f"--save: nothing written to {save} (precision not met)")
    return EXIT_OK if result.met else result.exit_code
