"""``symcheck sparse-approx MATRIX``: the smallest attention hidden size reproducing a matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from symcheck.cli import common as opt
from symcheck.cli.common import (
    EXIT_OK,
    exit_code,
    run,
)

if TYPE_CHECKING:
    from symcheck.sparse import SparseApproxResult

HELP = (
    "Find how small the hidden size d of softmax(X W_Q W_Kᵀ Xᵀ) can be and still reproduce "
    "the sparse matrix MATRIX (.npy, scipy-sparse .npz or .mtx) to the precision.\n\n"
    "d is the column count of W_Q (rank of W_Q W_Kᵀ); X has width 2d. Every reported ε₁, ε₂ "
    "is measured on softmax recomputed from the returned X, W_Q, W_K, with one exception: "
    "--method jl when X, W_Q, W_K would take more than 512 MiB. Then ε is measured on the same "
    "product B·GᵀG/d regenerated from the seed in chunks, no arrays are returned, and --save "
    "refuses (exit 2).\n\n"
    "Exit 0: some d ≤ --max-d meets the precision (with --verify: the saved claim holds); "
    "1: none does, or the time limit came before any d was verified (inconclusive); "
    "2: bad input."
)




def register(app: typer.Typer) -> None:
    app.command("sparse-approx", help=HELP)(sparse_approx)
    app.command("sparse-sweep", help=SWEEP_HELP)(sparse_sweep)


def _check_outputs(save: str | None, json_path: str | None, plot: str | None = None,
                   inputs: tuple[object, ...] = ()) -> None:
    """Refuse an unwritable output before any work (a search can take minutes): as every
    command does (:func:`check_outputs`: its folder exists, no two outputs share a path, none
    is one of the ``inputs``, each writable)."""
    from symcheck.cli.common import check_outputs
    from symcheck.core.errors import SymcheckError

    if save is not None and not save.endswith(".npz"):
        raise SymcheckError(f"--save: {save!r} must end in .npz")
    check_outputs(inputs=inputs, save=save, json=json_path, plot=plot)


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
        str,
        typer.Option(
            help="auto (exact constructions: circle, then poly; then opt below them), opt, "
            "poly (the d = 2k trigonometric construction) or jl (the paper's)."
        ),
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
    json_path: opt.Json = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.core.errors import SymcheckError

        # Options of the computation (precision, method, seeds, max d, time limit) are checked
        # by the API, before the matrix is read; here only what the CLI alone owns: its files.
        if verify is not None and save is not None:
            raise SymcheckError("--save: cannot be combined with --verify (nothing is computed)")
        _check_outputs(save, json_path, inputs=(matrix, verify))
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
    from symcheck.app.requests import MatrixRequest
    from symcheck.app.service import run as serve
    from symcheck.report.json import write_json
    from symcheck.report.sparse import render_verify

    result = serve(MatrixRequest(matrix, precision=precision, ratio_precision=ratio_precision,
                                 leak_precision=leak_precision, verify=params)).result
    if json_path is not None:
        write_json(json_path, result.to_dict())
    render_verify(result, to_stderr=json_path == "-")
    return exit_code(result.verdict)


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

    from symcheck.app.requests import MatrixRequest
    from symcheck.app.service import run as serve
    from symcheck.core.errors import SymcheckError
    from symcheck.report.json import write_json
    from symcheck.report.sparse import render_approx, render_written, search_progress
    from symcheck.sparse.api import JL_MATERIALISE_BYTES

    with search_progress() as progress:
        result: SparseApproxResult = serve(MatrixRequest(
            matrix, precision=precision, ratio_precision=ratio_precision,
            leak_precision=leak_precision, method=method, max_d=max_d, seed=seed,
            seeds_per_d=seeds, time_limit=time_limit, progress=progress,
        )).result
    best = result.best
    # Everything that can still fail with exit 2 is decided before the first file is written.
    if save is not None and best is not None and best.params is None:
        raise SymcheckError(
            f"--save: the {best.method} solution at d={best.d} is too large to store as "
            f"arrays (over {JL_MATERIALISE_BYTES >> 20} MiB); use --method opt or auto"
        )
    written: list[str] = []
    try:
        if save is not None and best is not None:
            _save(save, result)
            written.append(save)
        if json_path is not None:
            write_json(json_path, result.to_dict())
    except BaseException:
        for path in written:  # never leave one output behind when the run fails
            Path(path).unlink(missing_ok=True)
        raise
    render_approx(result, to_stderr=json_path == "-")
    if save is not None and best is not None:
        render_written("parameters", save, f"X, W_Q, W_K at d = {best.d}",
                       to_stderr=json_path == "-")
    if save is not None and best is None:
        from symcheck.report import make_console

        why = "no d verified before the time limit" if result.timed_out else "precision not met"
        make_console(stderr=True).print(f"--save: nothing written to {save} ({why})")
    return exit_code(result.verdict)


def _save(save: str, result: SparseApproxResult) -> None:
    from symcheck.sparse import save_params

    best = result.best
    assert best is not None and best.params is not None and best.precision is not None
    meta = {
        "matrix": result.source,
        "L": result.size,
        "d": best.d,
        "method": best.method,
        # The seed that produced these arrays (None: a deterministic construction), not the
        # base seed of the search.
        "seed": best.seed,
        "base_seed": result.seed,
        "eps1": best.precision.eps1,
        "eps2": best.precision.eps2,
        "target_eps1": result.targets.eps1,
        "target_eps2": result.targets.eps2,
        "layout": "logits = (X @ W_Q) @ (X @ W_K).T; d = W_Q.shape[1]",
    }
    save_params(save, best.params, meta)


SWEEP_HELP = (
    "The paper's experiment: for each length L draw a target of FAMILY (random, band, block, "
    "permutation) from numpy default_rng([SEED, L]), find the smallest verified d of jl (the "
    "paper's random projection, from its exact law), opt (the fit) and poly (the exact 2k "
    "construction), and print d against log₂ L with each method's fitted slope.\n\n"
    "--plot writes the picture (needs matplotlib: pip install 'symcheck[plot]'). "
    "Exit 0 when the sweep ran; 2: bad input."
)


def sparse_sweep(
    family: Annotated[
        str, typer.Argument(metavar="FAMILY", help="random, band, block or permutation.")
    ],
    k: Annotated[int, typer.Option(help="Nonzeros per row (random, band); block size (block).")]
    = 4,
    lengths: Annotated[
        str, typer.Option(help="A..B (powers of two from A to B) or a comma-separated list.")
    ] = "64..4096",
    methods: Annotated[str, typer.Option(help="Comma-separated subset of jl,opt,poly.")] = (
        "jl,opt,poly"
    ),
    precision: Annotated[float, typer.Option(help="ε₁ = ε₂ for every target.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the targets and of every method.")] = 0,
    seeds: Annotated[int, typer.Option(help="Seeds (restarts) per d for opt and jl.")] = 3,
    time_limit: Annotated[float, typer.Option(help="Seconds per opt search.")] = 60.0,
    jl_max_length: Annotated[
        int, typer.Option("--jl-max-L", help="Longest L for jl (its trials cost L³).")
    ] = 1024,
    opt_max_length: Annotated[
        int, typer.Option("--opt-max-L", help="Longest L for opt (its fits cost L² per step).")
    ] = 4096,
    plot: Annotated[
        str | None, typer.Option(metavar="PNG", help="Write d against log₂ L as a picture.")
    ] = None,
    json_path: opt.Json = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.app.requests import SweepRequest
        from symcheck.app.service import run as serve
        from symcheck.core.errors import SymcheckError
        from symcheck.report.json import write_json
        from symcheck.report.sparse import (
            plot_sweep,
            plot_unavailable,
            render_sweep,
            render_written,
        )
        from symcheck.sparse.sweep import parse_lengths

        if plot is not None and not plot.lower().endswith(".png"):
            raise SymcheckError(f"--plot: {plot!r} must end in .png")
        _check_outputs(None, json_path, plot)
        if time_limit <= 0 or time_limit != time_limit:
            raise SymcheckError(f"--time-limit: {time_limit!r} must be a finite number > 0")
        chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
        result = serve(SweepRequest(
            family, k, tuple(parse_lengths(lengths)), methods=chosen, precision=precision,
            seed=seed, seeds_per_d=seeds, time_limit=time_limit, jl_max_length=jl_max_length,
            opt_max_length=opt_max_length,
        )).result
        if json_path is not None:
            write_json(json_path, result.to_dict())
        render_sweep(result, to_stderr=json_path == "-")
        if plot is not None:
            missing = plot_unavailable()
            if missing is None:
                plot_sweep(result, plot)
                render_written("plot", plot, to_stderr=json_path == "-")
            else:
                from symcheck.report import make_console

                make_console(stderr=True).print(
                    f"--plot: nothing written to {plot}; {missing}", markup=False
                )
        return EXIT_OK

    run(body, debug)
