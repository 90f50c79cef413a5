"""``symcheck equivariance TARGET``: check a model file's symmetries."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from symcheck.cli import options as opt
from symcheck.cli.common import EXIT_FAIL, EXIT_OK, run

if TYPE_CHECKING:
    from symcheck.engine import EquivarianceResult
    from symcheck.signature import Signature

HELP = (
    "Check that f(g·x) = g·f(x) for the groups acting on a model's axes.\n\n"
    "TARGET is model.py, model.py:NAME, or saved weights. Specs and groups come from the "
    "file's @symcheck.equivariant(...) declaration or from --in/--out/--group/--size.\n\n"
    "Exit 0: every group (and their product) is within tolerance; 1: a symmetry is broken or "
    "the model returned NaN/Inf; 2: bad input."
)


def register(app: typer.Typer) -> None:
    app.command("equivariance", help=HELP)(equivariance)


def equivariance(
    target: opt.Target,
    inputs: opt.Inputs = None,
    outputs: opt.Outputs = None,
    groups: opt.Groups = None,
    size: opt.Sizes = None,
    trials: opt.Trials = None,
    seed: opt.Seed = 0,
    rtol: opt.Rtol = None,
    dtype: opt.Dtype = "float64",
    json_path: opt.Json = None,
    data: opt.Data = None,
    case: opt.Case = None,
    debug: opt.Debug = False,
) -> None:
    def body() -> int:
        from symcheck.backends import adapt
        from symcheck.engine import resolve, run_problem
        from symcheck.io import write_json
        from symcheck.models import load_python
        from symcheck.report.equivariance import render
        from symcheck.signature import Signature
        from symcheck.specs import parse_sizes

        loaded = load_python(target)
        signature = (loaded.signature or Signature()).merged(
            inputs=inputs, outputs=outputs, groups=groups, sizes=parse_sizes(size),
            trials=trials, rtol=rtol,
        )
        arrays = load_inputs(data, loaded.obj, len(signature.inputs)) if data else None
        _, fn = adapt(loaded.obj, dtype, loaded.namespace)
        problem = resolve(fn, signature, dtype, arrays, loaded.name)
        result = run_problem(problem, signature, seed, case,
                             data_source=str(data) if data else "random")
        replay = replay_command(target, signature, result, data)
        if json_path is not None:
            payload = result.to_dict()
            payload["replay"] = replay
            write_json(json_path, payload)
        render(result, replay, to_stderr=json_path == "-")
        return EXIT_OK if result.passed else EXIT_FAIL

    run(body, debug)


def load_inputs(path: Path, obj: Any, count: int) -> list[Any]:
    """Arrays from an .npz: by the callable's parameter names if all are present, else in order."""
    import inspect

    import numpy as np

    from symcheck.errors import InputFileError

    if not path.is_file():
        raise InputFileError(f"--inputs: file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"--inputs: cannot read {str(path)!r} as .npz: {exc}") from None
    try:
        params = list(inspect.signature(obj).parameters)[:count]
    except (TypeError, ValueError):
        params = []
    keys = params if params and all(p in arrays for p in params) else list(arrays)
    if len(keys) < count:
        raise InputFileError(
            f"--inputs: {str(path)!r} holds {len(arrays)} arrays ({', '.join(arrays)}) but the "
            f"model takes {count} inputs"
        )
    for k in keys[:count]:
        if arrays[k].dtype.kind not in "fiu":
            raise InputFileError(f"--inputs: array {k!r} has dtype {arrays[k].dtype}, not numeric")
    return [arrays[k] for k in keys[:count]]


def replay_command(target: str, signature: Signature, result: EquivarianceResult,
                   data: Path | None) -> str | None:
    """The exact command that re-runs the worst failing case (None when everything passed)."""
    failing = result.worst_failure()
    if failing is None:
        return None
    args = ["symcheck", "equivariance", target]
    for spec in signature.inputs:
        args += ["--in", spec]
    for spec in signature.outputs:
        args += ["--out", spec]
    for group in signature.groups:
        args += ["--group", group]
    args += ["--size", ",".join(f"{k}={v}" for k, v in result.sizes.items())]
    args += ["--seed", str(result.seed), "--trials", str(result.trials)]
    if signature.rtol is not None:
        args += ["--rtol", repr(signature.rtol)]
    if result.dtype != "float64":
        args += ["--dtype", result.dtype]
    if data is not None:
        args += ["--inputs", str(data)]
    args += ["--case", f"{failing.measurement.name}/{failing.measurement.worst.case}"]
    return shlex.join(args)
